// ConfigMap, Secret, projected (service-account token, kube-root-ca.crt, namespace) and emptyDir volumes, written
// into a directory per volume; the pod's processes see them at their mountPath through bind mounts.

import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Kube, KubeObject } from './kube';

interface KeyToPath {
  key: string;
  path: string;
}
interface Source {
  configMap?: { name: string; items?: KeyToPath[]; optional?: boolean };
  secret?: { secretName?: string; name?: string; items?: KeyToPath[]; optional?: boolean };
  serviceAccountToken?: { path: string; audience?: string; expirationSeconds?: number };
  downwardAPI?: { items: { path: string; fieldRef?: { fieldPath: string } }[] };
}
export interface Volume extends Source {
  name: string;
  emptyDir?: object;
  projected?: { sources: Source[] };
}

export interface PodSpec {
  serviceAccountName?: string;
  volumes?: Volume[];
}

function writeKeys(dir: string, data: Record<string, Buffer>, items?: KeyToPath[]) {
  const pairs = items ? items.map((i) => [i.path, data[i.key]] as const) : Object.entries(data);
  for (const [p, value] of pairs) {
    if (value === undefined) continue;
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), value);
  }
}

async function getData(
  kube: Kube,
  ns: string,
  kind: 'configmaps' | 'secrets',
  name: string,
  optional?: boolean,
) {
  try {
    const obj = await kube.request<KubeObject & { data?: Record<string, string> }>(
      'GET',
      `/api/v1/namespaces/${ns}/${kind}/${name}`,
    );
    const decode = (v: string) => (kind === 'secrets' ? Buffer.from(v, 'base64') : Buffer.from(v));
    return Object.fromEntries(Object.entries(obj.data ?? {}).map(([k, v]) => [k, decode(v)]));
  } catch (err) {
    if (optional) return {};
    throw err;
  }
}

async function writeSource(kube: Kube, pod: KubeObject & { spec: PodSpec }, s: Source, dir: string) {
  const ns = pod.metadata.namespace ?? 'default';
  if (s.configMap)
    writeKeys(
      dir,
      await getData(kube, ns, 'configmaps', s.configMap.name, s.configMap.optional),
      s.configMap.items,
    );
  if (s.secret) {
    const name = s.secret.secretName ?? s.secret.name ?? '';
    writeKeys(dir, await getData(kube, ns, 'secrets', name, s.secret.optional), s.secret.items);
  }
  if (s.serviceAccountToken) {
    const sa = pod.spec.serviceAccountName ?? 'default';
    const tr = await kube.request<{ status: { token: string } }>(
      'POST',
      `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          audiences: s.serviceAccountToken.audience ? [s.serviceAccountToken.audience] : [],
          expirationSeconds: s.serviceAccountToken.expirationSeconds ?? 3607,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid },
        },
      },
    );
    writeKeys(dir, { [s.serviceAccountToken.path]: Buffer.from(tr.status.token) });
  }
  for (const item of s.downwardAPI?.items ?? []) {
    const field = item.fieldRef?.fieldPath;
    const value = field === 'metadata.namespace' ? ns : field === 'metadata.name' ? pod.metadata.name : '';
    writeKeys(dir, { [item.path]: Buffer.from(value) });
  }
}

/** Writes every volume of POD under ROOT/<volume name>; returns name -> directory. */
export async function materialize(kube: Kube, pod: KubeObject & { spec: PodSpec }, root: string) {
  const dirs = new Map<string, string>();
  for (const v of pod.spec.volumes ?? []) {
    const dir = path.join(root, v.name);
    fs.mkdirSync(dir, { recursive: true });
    for (const s of v.projected ? v.projected.sources : [v]) await writeSource(kube, pod, s, dir);
    dirs.set(v.name, dir);
  }
  return dirs;
}
