// bench/routing/flow.ts: EPP flow control under overload, through a real Envoy in front of a pool of simulated
// model servers (4 × 8 seats). The pool's saturation is measured first (closed loop, every seat busy); then two
// workloads, each a few modes of open-loop Poisson load from two tenants, on two fleets (without / with flow
// control), each protected tenant's "alone" baseline measured on the fleet it is compared on:
//   fairness: a quiet tenant at a steady rate and a noisy one flooding at 3× the measured saturation, told apart by
//     x-gateway-inference-fairness-id: quiet alone; both. Goal: with flow control + round-robin fairness, quiet
//     TTFT p90 ≤ 1.5× alone (same fleet) and ≥ 99% quiet success.
//   priority: critical (InferenceObjective priority 10) at a steady rate vs sheddable (priority −1) flooding:
//     critical alone; both (without flow control: legacy shedding). Goal: critical TTFT p90 ≤ 1.5× alone with flow
//     control, and sheddable overflow answered 429 rather than timing out.
// Every mode records machine CPU busy, cores per process and the load average, so a reader can tell a CPU-starved
// run from a real result.
// Writes bench/results/flow.json and flow.html. Run: node dist/bench/routing/flow.js [--quick] (after make build).

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_FLOW_ID as DEFAULT_FLOW } from '../../src/epp/flowcontrol/controller';
import { parsePromText } from '../../src/epp/scrape/prom-text';
import { projectRoot } from '../../src/util/envoy';
import { completionBody, sendCompletion, type RequestResult } from './client';
import { MODEL, startFleet, tmpLogDir, type Fleet } from './fleet';
import { procTicks } from './loadgen';
import { esc } from './report';
import { envoyVersion, machineInfo } from './run';
import { round, summarize, type LatencySummary } from './stats';
import { poissonTimes, prng, seedOf, text } from './workload';

/** Seats per simulator. */
const SEATS = 8;
/** Mean prompt tokens; each request draws uniformly from ± PROMPT_SPREAD. */
const PROMPT_TOKENS = 200;
const PROMPT_SPREAD = 100;
/** Few output tokens (each is an SSE chunk through Envoy and the EPP) at a slow pace: long seats, little CPU. */
const OUTPUT_TOKENS = 8;
/**
 * Each request draws its output length uniformly from OUTPUT_TOKENS ± OUTPUT_SPREAD. Lengths must vary: with
 * identical requests every seat's service time is the same, so seats freed together are refilled together and
 * each server frees its 8 seats in one clump every ~0.5 s; a queued request then waits for the next clump (~130 ms
 * apart across 4 servers) instead of the next completion (~16 ms apart), a lock-step real traffic does not have.
 */
const OUTPUT_SPREAD = 4;
const TTFT_OVERHEAD_MS = 30;
const PREFILL_MS_PER_TOKEN = 0.6;
const INTER_TOKEN_MS = 40;
export const FLOW_SIM_ARGS = [
  '--max-num-seqs',
  String(SEATS),
  '--ttft-overhead-ms',
  String(TTFT_OVERHEAD_MS),
  '--prefill-ms-per-token',
  String(PREFILL_MS_PER_TOKEN),
  '--inter-token-ms',
  String(INTER_TOKEN_MS),
  '--itl-batch-slope',
  '0.02',
];
const SIM_ADDRESSES = ['127.0.3.1', '127.0.3.2', '127.0.3.3', '127.0.3.4'];

/** One request's prompt and output lengths (mean PROMPT_TOKENS and OUTPUT_TOKENS). */
export function requestShape(rand: () => number): { promptTokens: number; outputTokens: number } {
  const uniform = (mean: number, spread: number) => mean - spread + Math.floor(rand() * (2 * spread + 1));
  return {
    promptTokens: uniform(PROMPT_TOKENS, PROMPT_SPREAD),
    outputTokens: uniform(OUTPUT_TOKENS, OUTPUT_SPREAD),
  };
}

/** Requests/s the model says the pool serves at best: seats / (TTFT + decode), ignoring the batch slope. */
export const MODEL_SATURATION_QPS =
  (SIM_ADDRESSES.length * SEATS * 1000) /
  (TTFT_OVERHEAD_MS + PREFILL_MS_PER_TOKEN * PROMPT_TOKENS + INTER_TOKEN_MS * OUTPUT_TOKENS);

const HEAD = `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
`;
const SCORERS = `- type: queue-scorer
- type: kv-cache-utilization-scorer
`;
const SCORED = `  - {pluginRef: queue-scorer, weight: 2}
  - {pluginRef: kv-cache-utilization-scorer, weight: 2}
`;
/** Without flow control: the load-aware default profile; the legacy rule sheds priority < 0 while saturated. */
export const PLAIN_CONFIG = `${HEAD}plugins:
${SCORERS}schedulingProfiles:
- name: default
  plugins:
${SCORED}`;
/**
 * With flow control: the EPP keeps at most maxConcurrency (default SEATS) requests in flight per endpoint
 * (concurrency-detector), queues the rest, rotates between tenants, bounds the sheddable band to 10 queued and
 * every request's wait to 2 s. The detector is also the profile's filter: the pool-wide ceiling says *some*
 * endpoint has a free seat, the filter sends the request to one that has (the scraped queue metrics lag 50 ms,
 * so scorers alone put a dispatched request on a full server, where it waits for a whole request to finish).
 */
export const flowConfig = (maxConcurrency: number): string => `${HEAD}featureGates: [flowControl]
saturationDetector: {pluginRef: concurrency-detector}
flowControl:
  defaultRequestTTL: 2s
  defaultPriorityBand: {fairnessPolicyRef: round-robin-fairness-policy}
  priorityBands:
  - {priority: 0, fairnessPolicyRef: round-robin-fairness-policy}
  - {priority: -1, maxRequests: 10}
plugins:
- type: concurrency-detector
  parameters: {concurrencyMode: requests, maxConcurrency: ${maxConcurrency}}
- type: round-robin-fairness-policy
${SCORERS}schedulingProfiles:
- name: default
  plugins:
  - {pluginRef: concurrency-detector}
${SCORED}`;

const objective = (name: string, priority: number) => `apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: ${name}, namespace: default}
spec:
  priority: ${priority}
  poolRef: {group: inference.networking.k8s.io, name: sims}`;
const OBJECTIVES = [objective('critical', 10), objective('sheddable', -1)];

interface Tenant {
  name: string;
  qps: number;
  headers: Record<string, string>;
  /** The EPP's flow for this tenant's requests: `fairness_id/priority` (the metrics' labels). */
  flow: string;
}

interface Mode {
  workload: 'fairness' | 'priority';
  mode: string;
  flowControl: boolean;
  tenants: Tenant[];
}

export interface FlowPoint extends LatencySummary {
  workload: string;
  mode: string;
  flowControl: boolean;
  tenant: string;
  qps: number;
  /** HTTP status → count; `timeout`: not finished within the client timeout (whatever its status line said). */
  statuses: Record<string, number>;
  /** Machine CPU busy over the mode's measured window, 0–1 of all cores. */
  cpuBusy: number;
  /** Cores used per process over the window (loadgen = this process). */
  cpuCores: Record<string, number>;
  /** 1-minute load average at the end of the window (other work on the machine shows here). */
  loadAvg1m: number;
  /**
   * With flow control: the EPP's own queue time for this tenant's dispatched requests over the mode (warm-up
   * included), from inference_extension_flow_control_request_queue_duration_seconds: how many waited longer
   * than each bucket bound. Splits the tenant's TTFT tail into EPP queue wait and the rest (Envoy, simulator).
   */
  eppQueue?: EppQueueWait;
}

export interface EppQueueWait {
  dispatched: number;
  /** Bucket upper bound in ms → dispatched requests that waited longer. */
  over: Record<string, number>;
}

const QUEUE_METRIC = 'inference_extension_flow_control_request_queue_duration_seconds_bucket';

/** Cumulative bucket counts of dispatched requests per flow (`fairness_id/priority`) from a metrics page. Pure. */
export function queueBuckets(page: string): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  for (const { labels, value } of parsePromText(page, new Set([QUEUE_METRIC])).get(QUEUE_METRIC) ?? []) {
    if (labels.outcome !== 'Dispatched') continue;
    const flow = `${labels.fairness_id}/${labels.priority}`;
    const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
    const byLe = out.get(flow) ?? new Map<number, number>();
    byLe.set(le, (byLe.get(le) ?? 0) + value);
    out.set(flow, byLe);
  }
  return out;
}

/** One flow's queue waits between two pages' buckets (pure). */
export function queueWaitBetween(
  before: Map<number, number> | undefined,
  after: Map<number, number> | undefined,
): EppQueueWait | undefined {
  if (!after) return undefined;
  const delta = (le: number) => (after.get(le) ?? 0) - (before?.get(le) ?? 0);
  const dispatched = delta(Infinity);
  const over: Record<string, number> = {};
  for (const le of [...after.keys()]
    .filter((k) => Number.isFinite(k) && k >= 0.005 && k <= 1)
    .sort((a, b) => a - b))
    over[String(round(le * 1000, 1))] = dispatched - delta(le);
  return { dispatched, over };
}

async function metricsPage(url: string | undefined): Promise<string> {
  if (!url) return '';
  try {
    return await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text();
  } catch {
    return '';
  }
}

interface Settings {
  quick: boolean;
  warmupS: number;
  measureS: number;
  timeoutS: number;
  seed: number;
  quietQps: number;
  floodFactor: number;
  /** concurrency-detector's maxConcurrency (per endpoint) in the flow-control fleet. */
  maxConcurrency: number;
  out: string;
}

function settings(args: string[]): Settings {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      'warmup-s': { type: 'string' },
      'measure-s': { type: 'string' },
      'timeout-s': { type: 'string' },
      seed: { type: 'string', default: '1' },
      'quiet-qps': { type: 'string', default: '5' },
      'flood-factor': { type: 'string', default: '3' },
      'max-concurrency': { type: 'string', default: String(SEATS) },
      out: { type: 'string', default: path.join(projectRoot(), 'bench', 'results') },
    },
  });
  const quick = values.quick;
  return {
    quick,
    warmupS: Number(values['warmup-s'] ?? (quick ? 1 : 2)),
    measureS: Number(values['measure-s'] ?? (quick ? 8 : 30)),
    timeoutS: Number(values['timeout-s'] ?? (quick ? 5 : 8)),
    seed: Number(values.seed),
    quietQps: Number(values['quiet-qps']),
    floodFactor: Number(values['flood-factor']),
    maxConcurrency: Number(values['max-concurrency']),
    out: values.out,
  };
}

function modes(s: Settings, saturationQps: number): Mode[] {
  const flood = round(saturationQps * s.floodFactor, 1);
  const quiet: Tenant = {
    name: 'quiet',
    qps: s.quietQps,
    headers: { 'x-gateway-inference-fairness-id': 'quiet' },
    flow: 'quiet/0',
  };
  const noisy: Tenant = {
    name: 'noisy',
    qps: flood,
    headers: { 'x-gateway-inference-fairness-id': 'noisy' },
    flow: 'noisy/0',
  };
  const critical: Tenant = {
    name: 'critical',
    qps: s.quietQps,
    headers: { 'x-gateway-inference-objective': 'critical' },
    flow: `${DEFAULT_FLOW}/10`,
  };
  const sheddable: Tenant = {
    name: 'sheddable',
    qps: flood,
    headers: { 'x-gateway-inference-objective': 'sheddable' },
    flow: `${DEFAULT_FLOW}/-1`,
  };
  // Per fleet, the flooding mode without flow control runs last: it leaves the simulators a backlog. --quick
  // skips the no-flow-control fleet's baselines (the goals compare on the flow-control fleet).
  return [
    ...(s.quick
      ? []
      : ([
          { workload: 'fairness', mode: 'quiet alone', flowControl: false, tenants: [quiet] },
          { workload: 'priority', mode: 'critical alone', flowControl: false, tenants: [critical] },
        ] satisfies Mode[])),
    {
      workload: 'priority',
      mode: 'both, no flow control',
      flowControl: false,
      tenants: [critical, sheddable],
    },
    { workload: 'fairness', mode: 'both, no flow control', flowControl: false, tenants: [quiet, noisy] },
    { workload: 'fairness', mode: 'quiet alone', flowControl: true, tenants: [quiet] },
    { workload: 'priority', mode: 'critical alone', flowControl: true, tenants: [critical] },
    { workload: 'fairness', mode: 'both, flow control', flowControl: true, tenants: [quiet, noisy] },
    { workload: 'priority', mode: 'both, flow control', flowControl: true, tenants: [critical, sheddable] },
  ];
}

interface CpuSample {
  idle: number;
  total: number;
  self: number;
  children: Record<string, number>;
  at: number;
}

// USER_HZ is 100 on every mainstream Linux build.
const CLOCK_TICKS = 100;

function cpuSample(fleet: Fleet): CpuSample {
  let idle = 0;
  let total = 0;
  for (const c of os.cpus()) {
    idle += c.times.idle;
    total += c.times.idle + c.times.user + c.times.sys + c.times.nice + c.times.irq;
  }
  const u = process.cpuUsage();
  const children: Record<string, number> = {};
  for (const [name, child] of fleet.processes) {
    const t = child.pid === undefined ? undefined : procTicks(child.pid);
    if (t !== undefined) children[name] = t;
  }
  return { idle, total, self: u.user + u.system, children, at: performance.now() };
}

/** Machine busy fraction and cores per process between two samples (pure). */
export function cpuBetween(
  a: CpuSample,
  b: CpuSample,
): { cpuBusy: number; cpuCores: Record<string, number> } {
  const seconds = Math.max((b.at - a.at) / 1000, 1e-3);
  const cpuCores: Record<string, number> = { loadgen: round((b.self - a.self) / 1e6 / seconds, 2) };
  for (const [name, t] of Object.entries(b.children)) {
    const was = a.children[name];
    if (was !== undefined) cpuCores[name] = round((t - was) / CLOCK_TICKS / seconds, 2);
  }
  const total = b.total - a.total;
  return { cpuBusy: round(total > 0 ? 1 - (b.idle - a.idle) / total : NaN, 3), cpuCores };
}

/**
 * The pool's saturation, measured: a closed loop keeping every seat busy (one client per seat, each sending its
 * next request when the last one ends) for warm-up + window; completions per second in the window.
 */
async function measureSaturation(fleet: Fleet, s: Settings): Promise<{ qps: number; cpuBusy: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const url = new URL('/v1/completions', fleet.url);
  const warmupMs = 1000;
  const windowMs = (s.quick ? 3 : 5) * 1000;
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const rand = prng(seedOf(s.seed, 'saturation'));
  const sink = { token: () => undefined };
  let done = 0;
  let before: CpuSample | undefined;
  let after: CpuSample | undefined;
  const sampler = (async () => {
    await new Promise((ok) => setTimeout(ok, warmupMs));
    before = cpuSample(fleet);
    await new Promise((ok) => setTimeout(ok, windowMs));
    after = cpuSample(fleet);
  })();
  const client = async (i: number) => {
    for (let n = 0; now() < warmupMs + windowMs; n++) {
      const shape = requestShape(rand);
      const prompt = text(shape.promptTokens, 4, rand, `saturation ${i} ${n}: `);
      const r = await sendCompletion(
        {
          url,
          agent,
          body: completionBody(MODEL, prompt, shape.outputTokens),
          timeoutMs: s.timeoutS * 1000,
          now,
          sink,
        },
        now(),
      );
      const end = r.sentMs + (r.e2eMs ?? 0);
      if (r.ok && end >= warmupMs && end < warmupMs + windowMs) done++;
    }
  };
  await Promise.all([
    sampler,
    ...SIM_ADDRESSES.flatMap((_, k) => [...Array(SEATS).keys()].map((j) => client(k * SEATS + j))),
  ]);
  agent.destroy();
  return { qps: done / (windowMs / 1000), cpuBusy: cpuBetween(before!, after!).cpuBusy };
}

/** One mode: every tenant's Poisson arrivals over warm-up + window, open loop; the window's requests measured. */
async function runMode(fleet: Fleet, m: Mode, s: Settings): Promise<FlowPoint[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const url = new URL('/v1/completions', fleet.url);
  const warmupMs = s.warmupS * 1000;
  const totalMs = warmupMs + s.measureS * 1000;
  const sends: { at: number; tenant: Tenant; body: string }[] = [];
  for (const t of m.tenants) {
    const rand = prng(seedOf(s.seed, m.workload, m.mode, t.name));
    for (const at of poissonTimes(t.qps, totalMs, rand)) {
      const shape = requestShape(rand);
      const prompt = text(
        shape.promptTokens,
        4,
        rand,
        `${m.workload} ${m.mode} ${t.name} ${at.toFixed(3)}: `,
      );
      sends.push({ at, tenant: t, body: completionBody(MODEL, prompt, shape.outputTokens) });
    }
  }
  sends.sort((a, b) => a.at - b.at);
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const sink = { token: () => undefined };
  const pending: { tenant: string; measured: boolean; p: Promise<RequestResult> }[] = [];
  let before: CpuSample | undefined;
  let after: CpuSample | undefined;
  const sampler = (async () => {
    await new Promise((ok) => setTimeout(ok, warmupMs));
    before = cpuSample(fleet);
    await new Promise((ok) => setTimeout(ok, totalMs - warmupMs));
    after = cpuSample(fleet);
  })();
  const queueBefore = m.flowControl ? queueBuckets(await metricsPage(fleet.eppMetricsUrl)) : undefined;
  for (const r of sends) {
    const wait = r.at - now();
    if (wait > 1) await new Promise((ok) => setTimeout(ok, wait));
    const p = sendCompletion(
      { url, agent, body: r.body, timeoutMs: s.timeoutS * 1000, now, sink, headers: r.tenant.headers },
      r.at,
    );
    pending.push({ tenant: r.tenant.name, measured: r.at >= warmupMs, p });
  }
  const results = await Promise.all(pending.map(async (x) => ({ ...x, r: await x.p })));
  await sampler;
  agent.destroy();
  const queueAfter = queueBefore && queueBuckets(await metricsPage(fleet.eppMetricsUrl));
  const cpu = cpuBetween(before!, after!);
  const loadAvg1m = round(os.loadavg()[0], 2);
  return m.tenants.map((t) => {
    const mine = results.filter((x) => x.tenant === t.name && x.measured).map((x) => x.r);
    const statuses: Record<string, number> = {};
    for (const r of mine) {
      // A 200 whose stream did not finish within the client timeout counts as a timeout, as does no answer.
      const key = r.ok ? '200' : r.error?.startsWith('timeout') ? 'timeout' : String(r.status);
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
    return {
      workload: m.workload,
      mode: m.mode,
      flowControl: m.flowControl,
      tenant: t.name,
      qps: t.qps,
      ...summarize(mine, fleet.simUrls.length),
      statuses,
      ...cpu,
      loadAvg1m,
      eppQueue: queueAfter && queueWaitBetween(queueBefore?.get(t.flow), queueAfter.get(t.flow)),
    };
  });
}

/** Waits (≤ 60 s) until the simulators have nothing running or waiting, so one mode's backlog does not leak. */
async function drained(fleet: Fleet): Promise<boolean> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const busy = await Promise.all(
      fleet.simUrls.map(async (u) => {
        try {
          const t = await (await fetch(`${u}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
          const v = (n: string) =>
            Number(new RegExp(`^${n}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(t)?.[1] ?? 0);
          return v('vllm:num_requests_running') + v('vllm:num_requests_waiting');
        } catch {
          return 1;
        }
      }),
    );
    if (busy.every((b) => b === 0)) return true;
    await new Promise((ok) => setTimeout(ok, 200));
  }
  return false;
}

export interface FlowGoal {
  name: string;
  pass: boolean;
  detail: string;
}

/** The issue's goals from the points (pure). */
export function flowGoals(points: FlowPoint[]): FlowGoal[] {
  // The baseline "alone" is the one measured on the flow-control fleet when there is one.
  const at = (w: string, mode: string, tenant: string) => {
    const all = points.filter((p) => p.workload === w && p.mode === mode && p.tenant === tenant);
    return all.find((p) => p.flowControl) ?? all[0];
  };
  const goals: FlowGoal[] = [];
  const alone = at('fairness', 'quiet alone', 'quiet');
  const fc = at('fairness', 'both, flow control', 'quiet');
  if (alone && fc) {
    const ratio = fc.ttftMs.p90 / alone.ttftMs.p90;
    goals.push({
      name: 'fairness: quiet TTFT p90 with flow control ≤ 1.5× alone',
      pass: ratio <= 1.5,
      detail: `${fc.ttftMs.p90} ms vs ${alone.ttftMs.p90} ms alone = ${round(ratio, 2)}×`,
    });
    goals.push({
      name: 'fairness: quiet success with flow control ≥ 99%',
      pass: fc.successRate >= 0.99,
      detail: `${round(fc.successRate * 100, 1)}% of ${fc.requests}`,
    });
  }
  const unloaded = at('priority', 'critical alone', 'critical');
  const crit = at('priority', 'both, flow control', 'critical');
  if (unloaded && crit) {
    const ratio = crit.ttftMs.p90 / unloaded.ttftMs.p90;
    goals.push({
      name: 'priority: critical TTFT p90 with flow control ≤ 1.5× unloaded',
      pass: ratio <= 1.5,
      detail: `${crit.ttftMs.p90} ms vs ${unloaded.ttftMs.p90} ms = ${round(ratio, 2)}×`,
    });
  }
  const shed = at('priority', 'both, flow control', 'sheddable');
  if (shed) {
    const n429 = shed.statuses['429'] ?? 0;
    const timeouts = (shed.statuses.timeout ?? 0) + (shed.statuses['503'] ?? 0);
    goals.push({
      name: 'priority: sheddable overflow gets 429, not timeouts',
      pass: n429 > 0 && n429 >= 10 * timeouts,
      detail: `statuses ${JSON.stringify(shed.statuses)}`,
    });
  }
  return goals;
}

export interface FlowReport {
  bench: 'flow';
  command: string;
  date: string;
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  points: FlowPoint[];
  goals: FlowGoal[];
}

/** A self-contained page: per workload a bar chart of TTFT p90 per mode and tenant, and the table. Pure. */
/** A mode's name with its fleet, where the name alone does not tell it (the baselines run on both). */
export const modeLabel = (p: FlowPoint): string =>
  p.mode.endsWith('alone') ? `${p.mode} (${p.flowControl ? 'flow-control' : 'plain'} fleet)` : p.mode;

/** "n, a / b / c" for the table: dispatched requests and how many waited longer than 50, 100 and 250 ms. */
export function queueCell(q: EppQueueWait | undefined): string {
  if (!q) return '—';
  return `${q.dispatched}, ${['50', '100', '250'].map((k) => q.over[k] ?? '?').join(' / ')}`;
}

export function renderFlowHtml(r: FlowReport): string {
  const sections = ['fairness', 'priority'].map((w) => {
    const pts = r.points.filter((p) => p.workload === w);
    const max = Math.max(1, ...pts.map((p) => p.ttftMs.p90).filter(Number.isFinite));
    const W = 640;
    const bar = 22;
    const H = 30 + pts.length * (bar + 6);
    const bars = pts
      .map((p, i) => {
        const y = 20 + i * (bar + 6);
        const v = Number.isFinite(p.ttftMs.p90) ? p.ttftMs.p90 : 0;
        const len = Math.max(1, (v / max) * (W - 330));
        const color = p.tenant === 'quiet' || p.tenant === 'critical' ? '#2b6cb0' : '#c05621';
        return (
          `<text x="4" y="${y + 15}" font-size="12">${esc(`${modeLabel(p)} · ${p.tenant}`)}</text>` +
          `<rect x="250" y="${y}" width="${len.toFixed(1)}" height="${bar}" fill="${color}"/>` +
          `<text x="${(255 + len).toFixed(1)}" y="${y + 15}" font-size="12">${esc(`${v} ms, ${round(p.successRate * 100, 1)}% ok`)}</text>`
        );
      })
      .join('');
    const rows = pts
      .map(
        (p) =>
          `<tr><td>${esc(modeLabel(p))}</td><td>${esc(p.tenant)}</td><td>${p.qps}</td><td>${p.requests}</td>` +
          `<td>${round(p.successRate * 100, 1)}%</td><td>${p.ttftMs.p50}</td><td>${p.ttftMs.p90}</td><td>${p.ttftMs.p99}</td>` +
          `<td>${p.e2eP90Ms}</td><td>${esc(JSON.stringify(p.statuses))}</td>` +
          `<td>${esc(queueCell(p.eppQueue))}</td>` +
          `<td>${round(p.cpuBusy * 100)}%</td><td>${p.loadAvg1m}</td></tr>`,
      )
      .join('');
    return (
      `<h2>${esc(w)}</h2><svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" ` +
      `aria-label="${esc(`${w} TTFT p90`)}">${bars}</svg>` +
      `<table><tr><th>mode</th><th>tenant</th><th>QPS</th><th>requests</th><th>success</th><th>TTFT p50</th>` +
      `<th>TTFT p90</th><th>TTFT p99</th><th>e2e p90</th><th>statuses</th>` +
      `<th>EPP queue: dispatched, waited &gt; 50 / 100 / 250 ms</th><th>machine CPU busy</th>` +
      `<th>load avg (1 min)</th></tr>${rows}</table>`
    );
  });
  const goals = r.goals
    .map((g) => `<li>${g.pass ? 'PASS' : 'MISS'} ${esc(g.name)}: ${esc(g.detail)}</li>`)
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>infergate flow control benchmark</title>
<style>body{font-family:sans-serif;margin:24px}svg.chart{border:1px solid #ddd;background:#fff}
table{border-collapse:collapse;margin:12px 0 24px;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}</style>
</head><body><h1>EPP flow control under overload</h1><p>${esc(r.command)} · ${esc(r.date)} · ${esc(JSON.stringify(r.machine))}</p>
<p>TTFT in ms (p90 bars; blue: the tenant the goal protects, orange: the flood).</p><ul>${goals}</ul>${sections.join('')}
<pre>${esc(JSON.stringify(r.settings, null, 2))}</pre></body></html>
`;
}

export async function main(args: string[]): Promise<void> {
  const s = settings(args);
  const started = Date.now();
  const logDir = tmpLogDir();
  console.log(
    `flow bench: logs in ${logDir}; ${SIM_ADDRESSES.length} × ${SEATS} seats, model saturation ≤ ${round(MODEL_SATURATION_QPS, 1)} req/s`,
  );
  const points: FlowPoint[] = [];
  let saturation: { qps: number; cpuBusy: number } | undefined;
  for (const fc of [false, true]) {
    const fleet = await startFleet({
      strategy: 'infergate',
      simAddresses: SIM_ADDRESSES,
      simArgs: FLOW_SIM_ARGS,
      logDir,
      eppConfig: fc ? flowConfig(s.maxConcurrency) : PLAIN_CONFIG,
      extraResources: OBJECTIVES,
      label: fc ? 'flow-control' : 'no-flow-control',
    });
    try {
      if (!saturation) {
        saturation = await measureSaturation(fleet, s);
        console.log(
          `measured pool saturation ${round(saturation.qps, 1)} req/s (machine CPU busy ${round(saturation.cpuBusy * 100)}%); flood ${round(saturation.qps * s.floodFactor, 1)} req/s`,
        );
        if (!(await drained(fleet))) console.log('warning: simulators not drained after 60 s');
      }
      const list = modes(s, saturation.qps).filter((m) => m.flowControl === fc);
      for (const [i, m] of list.entries()) {
        const got = await runMode(fleet, m, s);
        points.push(...got);
        for (const p of got) {
          console.log(
            `${m.workload} / ${m.mode}${fc ? ' (fc fleet)' : ''} / ${p.tenant} @ ${p.qps} qps: TTFT p90 ${p.ttftMs.p90} ms, success ${round(p.successRate * 100, 1)}% of ${p.requests}, statuses ${JSON.stringify(p.statuses)}, cpu ${round(p.cpuBusy * 100)}% ${JSON.stringify(p.cpuCores)}, load ${p.loadAvg1m}${p.eppQueue ? `, EPP queue: ${p.eppQueue.dispatched} dispatched, waited > ms ${JSON.stringify(p.eppQueue.over)}` : ''}`,
          );
        }
        if (i < list.length - 1 && !(await drained(fleet)))
          console.log('warning: simulator not drained after 60 s');
      }
    } finally {
      await fleet.stop();
    }
  }
  const goals = flowGoals(points);
  const report: FlowReport = {
    bench: 'flow',
    command: `${invokedAs}${args.length ? ' ' + args.join(' ') : ''}`,
    date: new Date().toISOString(),
    machine: machineInfo(envoyVersion()),
    settings: {
      ...s,
      out: undefined,
      simulators: SIM_ADDRESSES.length,
      simArgs: FLOW_SIM_ARGS.join(' '),
      promptTokens: `${PROMPT_TOKENS} ± ${PROMPT_SPREAD} (uniform)`,
      outputTokens: `${OUTPUT_TOKENS} ± ${OUTPUT_SPREAD} (uniform)`,
      seatsPerSimulator: SEATS,
      modelSaturationQps: round(MODEL_SATURATION_QPS, 2),
      measuredSaturationQps: round(saturation?.qps ?? NaN, 2),
      saturationCpuBusy: saturation?.cpuBusy,
      floodQps: round((saturation?.qps ?? NaN) * s.floodFactor, 1),
      plainConfig: PLAIN_CONFIG,
      flowConfig: flowConfig(s.maxConcurrency),
      durationS: Math.round((Date.now() - started) / 1000),
    },
    points,
    goals,
  };
  fs.mkdirSync(s.out, { recursive: true });
  fs.writeFileSync(path.join(s.out, 'flow.json'), JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(path.join(s.out, 'flow.html'), renderFlowHtml(report));
  for (const g of goals) console.log(`${g.pass ? 'PASS' : 'MISS'} ${g.name}: ${g.detail}`);
  console.log(
    `wrote ${path.join(s.out, 'flow.json')} and flow.html in ${Math.round((Date.now() - started) / 1000)} s`,
  );
}

let invokedAs = 'node dist/bench/routing/flow.js';

if (require.main === module) {
  invokedAs = `node ${path.relative(projectRoot(), process.argv[1])}`;
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
