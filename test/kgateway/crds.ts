// The CRDs kgateway v2.2.0 needs on the test cluster besides GIE's (`cluster up` installs those): the Gateway API
// experimental channel of the cluster's version over its standard one (TCPRoute/TLSRoute v1alpha2, …), XListenerSet
// from the Gateway API version kgateway's go.mod requires (v1.4.1; later versions dropped it), and kgateway's own
// from its module (install/helm/kgateway-crds/templates). Replacing the cluster's CRDs with v1.4.1's instead means
// deleting them first, and a CRD deleted seconds after creation can hang in "storage is (re)initializing".

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';

const ROOT = path.resolve(__dirname, '../..');

/** kube-apiserver 1.37 rejects these: "x-kubernetes-validations estimated rule cost exceeds budget". */
export const CEL_OVER_BUDGET = [
  'gateway.kgateway.dev_backendconfigpolicies.yaml',
  'gateway.kgateway.dev_gatewayextensions.yaml',
  'gateway.kgateway.dev_httplistenerpolicies.yaml',
  'gateway.kgateway.dev_listenerpolicies.yaml',
];

export interface KgatewayPaths {
  bin: string;
  src: string;
  /** The Gateway API module kgateway's go.mod requires. */
  gatewayApi: string;
  /** The test cluster's Gateway API module (its standard channel is what `cluster up` installed). */
  clusterGatewayApi: string;
}

/** Why the kgateway test cannot run (not built), or undefined. */
export function kgatewayMissing(): string | undefined {
  const r = spawnSync('bash', [path.join(ROOT, 'scripts/kgateway.sh'), '--check'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : (r.stdout + r.stderr).trim();
}

export function kgatewayPaths(): KgatewayPaths {
  const r = spawnSync('bash', [path.join(ROOT, 'scripts/kgateway.sh'), 'path'], { encoding: 'utf8' });
  const [bin, src, gatewayApi, clusterGatewayApi] = r.stdout.trim().split('\n');
  return { bin, src, gatewayApi, clusterGatewayApi };
}

function stripCel(node: unknown): void {
  if (Array.isArray(node)) node.forEach(stripCel);
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    delete o['x-kubernetes-validations'];
    Object.values(o).forEach(stripCel);
  }
}

/**
 * Writes the CRD files to apply into DIR and returns their paths. The four over-budget kgateway CRDs lose their CEL
 * rules (the API server's OpenAPI validation stays); every other file is copied as is.
 */
export function kgatewayCrdFiles(p: KgatewayPaths, dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const out: string[] = [];
  const experimental = path.join(p.clusterGatewayApi, 'config/crd/experimental');
  for (const f of fs.readdirSync(experimental).sort()) {
    // The safe-upgrades policy is what forbids experimental CRDs over standard ones: the test removes it.
    if (!f.endsWith('.yaml') || f === 'kustomization.yaml' || f.includes('vap_')) continue;
    out.push(copy(path.join(experimental, f), dir, `gwapi-experimental-${f}`));
  }
  const xls = path.join(
    p.gatewayApi,
    'config/crd/experimental/gateway.networking.x-k8s.io_xlistenersets.yaml',
  );
  out.push(copy(xls, dir, 'gwapi-kgateway-xlistenersets.yaml'));
  const own = path.join(p.src, 'install/helm/kgateway-crds/templates');
  for (const f of fs.readdirSync(own).sort()) {
    if (!f.endsWith('.yaml')) continue;
    const text = fs.readFileSync(path.join(own, f), 'utf8');
    if (text.includes('{{')) throw new Error(`${f} is a Helm template, not a plain CRD`);
    const target = path.join(dir, `kgateway-${f}`);
    if (CEL_OVER_BUDGET.includes(f)) {
      const docs = yaml.loadAll(text).filter(Boolean);
      docs.forEach(stripCel);
      fs.writeFileSync(target, docs.map((d) => yaml.dump(d, { noRefs: true, lineWidth: -1 })).join('---\n'));
    } else fs.copyFileSync(path.join(own, f), target);
    out.push(target);
  }
  return out;
}

function copy(from: string, dir: string, name: string): string {
  const to = path.join(dir, name);
  fs.copyFileSync(from, to);
  return to;
}
