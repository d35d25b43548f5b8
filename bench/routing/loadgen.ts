// Open-loop load for one step: every request leaves at its Poisson time whether or not earlier ones have answered
// (no coordinated omission). The first `warmupMs` are not measured; requests sent in the measurement window are,
// and the step waits for them (up to the client timeout). Alongside: tokens delivered in the window, the machine's
// and each child's CPU, and the simulators' prefix-cache counters.

import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import { completionBody, sendCompletion, type RequestResult } from './client';
import { round, summarize, type LatencySummary } from './stats';
import type { BenchRequest } from './workload';

export interface StepOptions {
  url: string;
  model: string;
  requests: BenchRequest[];
  warmupMs: number;
  measureMs: number;
  timeoutMs: number;
  simUrls: string[];
  processes: Map<string, ChildProcess>;
}

export interface StepResult extends LatencySummary {
  /** Every measured request, for the raw dump. */
  raw: RequestResult[];
  achievedQps: number;
  outputTokensPerSec: number;
  /** Simulated prefix-cache hit ratio over the window (tokens hit / prompt tokens looked up), fleet-wide. */
  prefixHitRate: number;
  /** Machine CPU busy over the window, 0–1 of all cores; and cores used per process. */
  cpuBusy: number;
  cpuCores: Record<string, number>;
}

export async function runStep(o: StepOptions): Promise<StepResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const url = new URL('/v1/completions', o.url);
  const bodies = o.requests.map((r) => completionBody(o.model, r.prompt, r.maxTokens));
  const endMs = o.warmupMs + o.measureMs;
  let tokens = 0;
  const sink = {
    token: (t: number) => {
      if (t >= o.warmupMs && t < endMs) tokens++;
    },
  };
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const measured: Promise<RequestResult>[] = [];
  const all: Promise<RequestResult>[] = [];
  let before: Snapshot | undefined;
  let after: Snapshot | undefined;
  const windowStart = delay(o.warmupMs).then(async () => (before = await snapshot(o)));
  const windowEnd = delay(endMs).then(async () => (after = await snapshot(o)));

  for (let i = 0; i < o.requests.length; i++) {
    const r = o.requests[i];
    const wait = r.atMs - now();
    if (wait > 1) await delay(wait);
    const p = sendCompletion({ url, agent, body: bodies[i], timeoutMs: o.timeoutMs, now, sink }, r.atMs);
    all.push(p);
    if (r.atMs >= o.warmupMs) measured.push(p);
  }
  await Promise.all([windowStart, windowEnd]);
  const results = await Promise.all(measured);
  await Promise.all(all);
  agent.destroy();
  const summary = summarize(results, o.simUrls.length);
  const b = before!;
  const a = after!;
  const seconds = (a.at - b.at) / 1000;
  const cpuCores: Record<string, number> = {
    loadgen: round((a.self - b.self) / 1e6 / seconds, 2),
  };
  for (const [name, ticks] of Object.entries(a.children)) {
    const was = b.children[name];
    if (was !== undefined) cpuCores[name] = round((ticks - was) / CLOCK_TICKS / seconds, 2);
  }
  const queries = a.prefixQueries - b.prefixQueries;
  return {
    ...summary,
    raw: results,
    achievedQps: round(results.length / (o.measureMs / 1000), 2),
    outputTokensPerSec: round(tokens / (o.measureMs / 1000), 1),
    prefixHitRate: round(queries > 0 ? (a.prefixHits - b.prefixHits) / queries : NaN, 3),
    cpuBusy: round(1 - (a.idle - b.idle) / (a.total - b.total), 3),
    cpuCores,
  };
}

/** One short request per prompt, all at once, unmeasured: puts each shared prefix in some pod's cache first. */
export async function prime(
  url: string,
  model: string,
  prompts: string[],
  timeoutMs: number,
): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const sink = { token: () => undefined };
  const target = new URL('/v1/completions', url);
  const results = await Promise.all(
    prompts.map((p) =>
      sendCompletion({ url: target, agent, body: completionBody(model, p, 4), timeoutMs, now, sink }, 0),
    ),
  );
  agent.destroy();
  return results.filter((r) => r.ok).length;
}

interface Snapshot {
  at: number;
  idle: number;
  total: number;
  /** This process's CPU, µs. */
  self: number;
  /** Each child's CPU, clock ticks. */
  children: Record<string, number>;
  prefixQueries: number;
  prefixHits: number;
}

// USER_HZ is 100 on every mainstream Linux build.
const CLOCK_TICKS = 100;

async function snapshot(o: StepOptions): Promise<Snapshot> {
  const cpus = os.cpus();
  let idle = 0;
  let total = 0;
  for (const c of cpus) {
    idle += c.times.idle;
    total += c.times.idle + c.times.user + c.times.sys + c.times.nice + c.times.irq;
  }
  const usage = process.cpuUsage();
  const children: Record<string, number> = {};
  for (const [name, child] of o.processes) {
    const ticks = child.pid === undefined ? undefined : procTicks(child.pid);
    if (ticks !== undefined) children[name] = ticks;
  }
  const at = performance.now();
  const counters = await Promise.all(o.simUrls.map(scrapePrefixCounters));
  return {
    at,
    idle,
    total,
    self: usage.user + usage.system,
    children,
    prefixQueries: counters.reduce((s, c) => s + c.queries, 0),
    prefixHits: counters.reduce((s, c) => s + c.hits, 0),
  };
}

/** utime + stime of a process (and its reaped threads), from /proc; undefined off Linux. */
export function procTicks(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command: state is index 0, so utime (14th overall) is index 11 and stime index 12.
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

async function scrapePrefixCounters(simUrl: string): Promise<{ queries: number; hits: number }> {
  try {
    const res = await fetch(`${simUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
    const text = await res.text();
    const value = (name: string) => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text);
      return m ? Number(m[1]) : 0;
    };
    return { queries: value('vllm:prefix_cache_queries_total'), hits: value('vllm:prefix_cache_hits_total') };
  } catch {
    return { queries: 0, hits: 0 };
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(ms, 0)));
}
