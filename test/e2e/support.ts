// Shared helpers for the e2e suites: start the whole stack (src/cli/stack.ts) on a file's own ports, send real
// requests through Envoy, run bounded load, and read Envoy's and the EPP's counters.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { Stack, type StackOptions } from '../../src/cli/stack';
import { projectRoot } from '../../src/util/envoy';
import { sleep, waitFor as waitUntil } from '../../src/util/wait';
import { tmpDir } from '../support/tmp';

export const FIXTURES = path.join(__dirname, 'fixtures');
export const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

/** Fast simulators: a request of a few tokens is answered in a few milliseconds. */
export const FAST_SIM = ['--ttft-overhead-ms', '2', '--prefill-ms-per-token', '0', '--inter-token-ms', '1'];

/** Ports of one suite: every file has its own block so suites can run side by side. */
export interface SuitePorts {
  listener: number;
  xds: number;
  controlPlaneAdmin: number;
  envoyAdmin: number;
  eppMetrics: number;
}

export function suitePorts(base: number, listener: number): SuitePorts {
  return {
    listener,
    xds: base + 1,
    controlPlaneAdmin: base + 2,
    envoyAdmin: base + 3,
    eppMetrics: base + 50,
  };
}

/** The stack runs the compiled CLI (`bin/infergate.js` → dist/); `make e2e` builds it first. */
export function requireBuild(): void {
  const built = path.join(projectRoot(), 'dist', 'src', 'cli', 'main.js');
  if (!fs.existsSync(built)) throw new Error('dist/ is missing: run `make build` (or `make e2e`) first');
}

export async function startStack(
  paths: string[],
  ports: SuitePorts,
  extra: Partial<StackOptions> = {},
): Promise<Stack> {
  requireBuild();
  return Stack.start({
    paths,
    xdsPort: ports.xds,
    controlPlaneAdminPort: ports.controlPlaneAdmin,
    envoyAdminPort: ports.envoyAdmin,
    eppMetricsPort: ports.eppMetrics,
    logDir: tmpDir('e2e'),
    ...extra,
  });
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** `x-infergate-sim`: the simulator (ip:port) that answered, if any did. */
  servedBy?: string;
  /** Milliseconds from sending to the end of the body. */
  ms: number;
  /** Arrival times (ms since sending) of each body chunk. */
  chunkTimes: number[];
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One POST through Envoy. Network errors become status 0 (a failed request), never a throw. */
export function post(
  port: number,
  urlPath: string,
  body: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 30000,
): Promise<Reply> {
  const payload = Buffer.from(JSON.stringify(body));
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': payload.length, ...headers },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const chunkTimes: number[] = [];
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          chunkTimes.push(performance.now() - started);
        });
        res.on('end', () => {
          const served = res.headers['x-infergate-sim'];
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            servedBy: typeof served === 'string' ? served : undefined,
            ms: performance.now() - started,
            chunkTimes,
          });
        });
        res.on('error', () => failed());
      },
    );
    const failed = () =>
      resolve({ status: 0, headers: {}, body: '', ms: performance.now() - started, chunkTimes: [] });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', failed);
    req.end(payload);
  });
}

export const completion = (prompt: string, maxTokens = 2, model = MODEL) => ({
  model,
  prompt,
  max_tokens: maxTokens,
});

/**
 * `count` requests with at most `concurrency` in flight. Every request is sent: a slow machine takes longer, it does
 * not send fewer (each request ends within post()'s own timeout).
 */
export async function runLoad(
  count: number,
  concurrency: number,
  send: (i: number) => Promise<Reply>,
): Promise<Reply[]> {
  const out: Reply[] = new Array<Reply>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      out[i] = await send(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return out;
}

export interface Sent {
  /** Date.now() when the request was sent. */
  at: number;
  reply: Reply;
}

export interface SteadyLoad {
  /** Replies so far, in the order they arrived. */
  readonly replies: Sent[];
  /** Waits until `n` requests sent at or after `since` (Date.now()) have been answered. */
  answered(n: number, since?: number, timeoutMs?: number): Promise<void>;
  /** Waits until every request sent before `t` has been answered. */
  settled(t: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<Sent[]>;
}

/**
 * Steady traffic until stop(): at most `concurrency` in flight, every reply kept with its send time. Tests wait for
 * a number of answered requests (answered()), never for a length of time, so a slow machine only makes them longer.
 */
export function steadyLoad(concurrency: number, send: (i: number) => Promise<Reply>): SteadyLoad {
  const replies: Sent[] = [];
  const pending = new Map<number, number>(); // request index → send time, of the requests in flight
  let stopped = false;
  let next = 0;
  const worker = async () => {
    while (!stopped) {
      const [i, at] = [next++, Date.now()];
      pending.set(i, at);
      const reply = await send(i);
      pending.delete(i);
      replies.push({ at, reply });
    }
  };
  const running = Promise.all(Array.from({ length: concurrency }, worker));
  return {
    replies,
    answered: (n, since = 0, timeoutMs = 120000) =>
      waitFor(
        `${n} steady requests answered`,
        async () => (replies.filter((r) => r.at >= since).length >= n ? true : undefined),
        timeoutMs,
      ).then(() => undefined),
    settled: (t, timeoutMs = 60000) =>
      waitFor(
        'the requests in flight to be answered',
        async () => ([...pending.values()].every((at) => at >= t) ? true : undefined),
        timeoutMs,
      ).then(() => undefined),
    stop: async () => {
      stopped = true;
      await running;
      return replies;
    },
  };
}

export function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30000,
  everyMs = 50,
): Promise<T> {
  return waitUntil(what, probe, { timeoutMs, everyMs });
}

export { sleep };

export async function getText(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10000) });
  return res.text();
}

/** Sum of a Prometheus family's samples whose labels include every given label. */
export function promSum(text: string, family: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(family)) continue;
    const m = /^([^{\s]+)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== family) continue;
    const have = new Map<string, string>();
    for (const l of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have.set(l[1], l[2]);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[4]);
  }
  return sum;
}

/** Envoy admin `/clusters` counters of one host in one cluster (e.g. cx_connect_fail, rq_total). */
export async function envoyHostStat(
  adminPort: number,
  cluster: string,
  host: string,
  stat: string,
): Promise<number> {
  const text = await getText(`http://127.0.0.1:${adminPort}/clusters`);
  const prefix = `${cluster}::${host}::${stat}::`;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line ? Number(line.split('::').pop()) : 0;
}

export function countBy<T>(items: T[], key: (t: T) => string | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of items) {
    const k = key(t) ?? '<none>';
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

export function closeAgent(): void {
  agent.destroy();
}
