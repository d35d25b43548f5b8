// Shared by the Kubernetes suites: the quickstart Gateway, a pool whose pods live on 10.244.1.x, and helpers that
// poll something inside the cluster's namespace (every address there is reachable only through exec).

import type { ChildProcess } from 'node:child_process';
import { waitFor } from '../../src/util/wait';
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

/** The pid holding Lease NAMESPACE/NAME (infergate's identities are hostname_pid), or undefined. */
export async function leaseHolderPid(
  c: Cluster,
  namespace: string,
  name: string,
): Promise<number | undefined> {
  const r = await c.kubectl(['get', 'lease', name, '-n', namespace, '-o', 'json'], undefined, true);
  if (r.code !== 0) return undefined;
  const holder = (JSON.parse(r.stdout) as { spec: { holderIdentity?: string } }).spec.holderIdentity;
  const pid = Number(holder?.split('_').pop());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * POST BODY to URL with curl inside the namespace (the body on stdin: long prompts exceed no argv limit), with
 * optional extra HEADERS: the status code and the simulator that answered (its x-infergate-sim header).
 */
/**
 * One request through URL from inside the cluster (a POST of `body` as JSON, or a GET when body is undefined):
 * the status code and which simulator answered (its x-infergate-sim header).
 */
export async function requestThrough(
  c: Cluster,
  url: string,
  body: string | undefined,
  headers: Record<string, string> = {},
): Promise<{ code: string; servedBy: string }> {
  const extra = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const post = body === undefined ? [] : ['-H', 'content-type: application/json', '--data-binary', '@-'];
  const r = await c.exec(
    ['curl', '-s', '-o', '/dev/null', '-D', '-', '--max-time', '10', ...post, ...extra, url],
    body === undefined ? {} : { input: body },
  );
  const code = /^HTTP\/[\d.]+ (\d+)/m.exec(r.stdout)?.[1] ?? `curl exit ${r.code}`;
  const servedBy = /^x-infergate-sim: (.+?)\r?$/im.exec(r.stdout)?.[1] ?? '';
  return { code, servedBy };
}

/** A POST of `body` through URL: requestThrough with a body. */
export function postThrough(
  c: Cluster,
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ code: string; servedBy: string }> {
  return requestThrough(c, url, body, headers);
}

/** Waits for a 200 through URL and returns which of the pods labelled app=APP answered it (throws if none did). */
export async function servedByPool(
  c: Cluster,
  url: string,
  body: string,
  app: string,
  timeoutMs = 120_000,
): Promise<string> {
  const r = await until(
    `a 200 through ${url}`,
    async () => {
      const x = await postThrough(c, url, body);
      return x.code === '200' ? x : undefined;
    },
    timeoutMs,
  );
  const pods = (await c.getJson<{ items: { status: { podIP?: string } }[] }>(['pods', '-l', `app=${app}`]))
    .items;
  const ip = pods.map((p) => p.status.podIP).find((x) => x && r.servedBy.startsWith(`${x}:`));
  if (!ip)
    throw new Error(`the answer came from ${r.servedBy || '(no x-infergate-sim)'}, not a pod of app=${app}`);
  return ip;
}

export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  codes: Record<string, number>;
  failures: string[];
}

/** A steady load (tools/load.ts) inside the namespace; resolves once it is sending; stop() returns its counts. */
export async function steadyLoad(
  c: Cluster,
  url: string,
  body: string,
  concurrency = 4,
): Promise<{ stop(): Promise<LoadResult> }> {
  const load = c.spawn([
    'node',
    '-r',
    'ts-node/register/transpile-only',
    'test/kubernetes/tools/load.ts',
    url,
    String(concurrency),
    body,
  ]);
  let out = '';
  const exit = new Promise<void>((resolve) => load.on('exit', () => resolve()));
  load.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  load.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  await until('the load to start', async () => (out.includes('started') ? true : undefined), 60_000);
  return {
    stop: async () => {
      load.kill('SIGTERM');
      await exit;
      return JSON.parse(out.trim().split('\n').pop()!) as LoadResult;
    },
  };
}

/**
 * The node agent (test/support/node-agent) on node-a, pod CIDR 10.244.1.0/24, inside the cluster's namespace;
 * `extra` are more of its flags (e.g. `--images FILE`).
 */
export function startNodeAgent(c: Cluster, extra: string[] = []): { child: ChildProcess; log: () => string } {
  const child = c.spawn([
    'node',
    '-r',
    'ts-node/register/transpile-only',
    'test/support/node-agent/main.ts',
    '--node',
    'node-a',
    '--pod-cidr',
    '10.244.1.0/24',
    ...extra,
  ]);
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  return { child, log: () => log };
}

/**
 * Applies CRDs over the ones `scripts/cluster up` installed (another Gateway API version or channel): Gateway API's
 * safe-upgrades ValidatingAdmissionPolicy forbids that, so it goes first, and the apply is retried until the API
 * server's admission cache has seen it gone; then waits until every CRD is Established. `sources`: `-f` targets.
 */
export async function replaceCrds(c: Cluster, sources: string[]): Promise<void> {
  for (const kind of ['validatingadmissionpolicybinding', 'validatingadmissionpolicy'])
    await c.kubectl(['delete', kind, 'safe-upgrades.gateway.networking.k8s.io', '--ignore-not-found']);
  await waitFor(
    'the CRDs applied',
    async () => {
      const a = await c.kubectl(
        ['apply', '--server-side', '--force-conflicts', ...sources.flatMap((f) => ['-f', f])],
        undefined,
        true,
      );
      if (a.code !== 0) throw new Error(a.stderr.split('\n')[0]);
      return true;
    },
    { timeoutMs: 60_000, everyMs: 1000 },
  );
  await c.kubectl(['wait', '--for=condition=Established', '--timeout=120s', 'crd', '--all']);
}
