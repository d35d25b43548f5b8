// Shared by the Kubernetes suites: the quickstart Gateway, a pool whose pods live on 10.244.1.x, and helpers that
// poll something inside the cluster's namespace (every address there is reachable only through exec).

import type { Cluster } from '../cluster/cluster';

export const POOL = 'vllm-llama3-8b-instruct';

export const pool = {
  apiVersion: 'inference.networking.k8s.io/v1',
  kind: 'InferencePool',
  metadata: { name: POOL, namespace: 'default' },
  spec: {
    selector: { matchLabels: { app: POOL } },
    targetPorts: [{ number: 8000 }],
    endpointPickerRef: { name: `${POOL}-epp`, port: { number: 9002 }, failureMode: 'FailOpen' },
  },
};

export const eppService = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: `${POOL}-epp`, namespace: 'default' },
  spec: { ports: [{ name: 'grpc', port: 9002, appProtocol: 'kubernetes.io/h2c' }] },
};

export function pod(name: string, labels: Record<string, string> = { app: POOL }): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels },
    spec: { containers: [{ name: 'model', image: 'sim' }] },
  };
}

/** Patches a Pod's status as a kubelet would: Running on IP, Ready or not. */
export async function setPodStatus(c: Cluster, name: string, ip: string, ready: boolean): Promise<void> {
  const status = {
    phase: 'Running',
    podIP: ip,
    podIPs: [{ ip }],
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
  };
  await c.kubectl([
    'patch',
    'pod',
    name,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
}

/** curl inside the namespace; '' when it fails. */
export async function curl(c: Cluster, url: string): Promise<string> {
  const r = await c.exec(['curl', '-s', '--max-time', '5', url]);
  return r.code === 0 ? r.stdout : '';
}

/** Polls `probe` until it returns a value (not undefined), or throws with the last output after `ms`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
