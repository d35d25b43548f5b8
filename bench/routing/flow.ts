// bench/routing/flow.ts: EPP flow control under overload, through a real Envoy in front of one simulated model
// server (4 seats). Two workloads, each a few modes of open-loop Poisson load from two tenants:
//   fairness: a quiet tenant at a steady rate and a noisy one flooding at 3× the pool's saturation, told apart by
//     x-gateway-inference-fairness-id: quiet alone; both without flow control; both with flow control +
//     round-robin fairness. Goal: with flow control, quiet TTFT p90 ≤ 1.5× alone and ≥ 99% quiet success.
//   priority: critical (InferenceObjective priority 10) at a steady rate vs sheddable (priority −1) flooding:
//     critical alone; both without flow control (legacy shedding); both with flow control. Goal: critical TTFT p90
//     ≤ 1.5× alone with flow control, and sheddable overflow answered 429 rather than timing out.
// Writes bench/results/flow.json and flow.html. Run: node dist/bench/routing/flow.js [--quick] (after make build).

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../../src/util/envoy';
import { completionBody, sendCompletion, type RequestResult } from './client';
import { MODEL, startFleet, tmpLogDir, type Fleet } from './fleet';
import { esc } from './report';
import { envoyVersion } from './run';
import { round, summarize, type LatencySummary } from './stats';
import { poissonTimes, prng, seedOf, text } from './workload';

const SEATS = 4;
const PROMPT_TOKENS = 200;
const OUTPUT_TOKENS = 16;
const TTFT_OVERHEAD_MS = 30;
const PREFILL_MS_PER_TOKEN = 0.6;
const INTER_TOKEN_MS = 20;
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
const SIM_ADDRESSES = ['127.0.3.1'];

/** Requests/s the pool serves at best: seats / (TTFT + decode), ignoring the batch slope (an upper bound). */
export const POOL_SATURATION_QPS =
  (SIM_ADDRESSES.length * SEATS * 1000) /
  (TTFT_OVERHEAD_MS + PREFILL_MS_PER_TOKEN * PROMPT_TOKENS + INTER_TOKEN_MS * OUTPUT_TOKENS);

const HEAD = `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
`;
const PROFILE = `- type: queue-scorer
- type: kv-cache-utilization-scorer
schedulingProfiles:
- name: default
  plugins:
  - {pluginRef: queue-scorer, weight: 2}
  - {pluginRef: kv-cache-utilization-scorer, weight: 2}
`;
/** Without flow control: the load-aware default profile; the legacy rule sheds priority < 0 while saturated. */
export const PLAIN_CONFIG = `${HEAD}plugins:\n${PROFILE}`;
/**
 * With flow control: the EPP keeps at most maxConcurrency (default SEATS) requests in flight per endpoint
 * (concurrency-detector), queues the
 * rest, rotates between tenants, bounds the sheddable band to 10 queued and every request's wait to 3 s.
 */
export const flowConfig = (maxConcurrency: number): string => `${HEAD}featureGates: [flowControl]
saturationDetector: {pluginRef: concurrency-detector}
flowControl:
  defaultRequestTTL: 3s
  defaultPriorityBand: {fairnessPolicyRef: round-robin-fairness-policy}
  priorityBands:
  - {priority: 0, fairnessPolicyRef: round-robin-fairness-policy}
  - {priority: -1, maxRequests: 10}
plugins:
- type: concurrency-detector
  parameters: {concurrencyMode: requests, maxConcurrency: ${maxConcurrency}}
- type: round-robin-fairness-policy
${PROFILE}`;

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
      'quiet-qps': { type: 'string', default: '1.5' },
      'flood-factor': { type: 'string', default: '3' },
      'max-concurrency': { type: 'string', default: String(SEATS) },
      out: { type: 'string', default: path.join(projectRoot(), 'bench', 'results') },
    },
  });
  const quick = values.quick;
  return {
    quick,
    warmupS: Number(values['warmup-s'] ?? (quick ? 1 : 3)),
    measureS: Number(values['measure-s'] ?? (quick ? 6 : 20)),
    timeoutS: Number(values['timeout-s'] ?? (quick ? 8 : 15)),
    seed: Number(values.seed),
    quietQps: Number(values['quiet-qps']),
    floodFactor: Number(values['flood-factor']),
    maxConcurrency: Number(values['max-concurrency']),
    out: values.out,
  };
}

function modes(s: Settings): Mode[] {
  const flood = round(POOL_SATURATION_QPS * s.floodFactor, 1);
  const quiet: Tenant = {
    name: 'quiet',
    qps: s.quietQps,
    headers: { 'x-gateway-inference-fairness-id': 'quiet' },
  };
  const noisy: Tenant = {
    name: 'noisy',
    qps: flood,
    headers: { 'x-gateway-inference-fairness-id': 'noisy' },
  };
  const critical: Tenant = {
    name: 'critical',
    qps: s.quietQps,
    headers: { 'x-gateway-inference-objective': 'critical' },
  };
  const sheddable: Tenant = {
    name: 'sheddable',
    qps: flood,
    headers: { 'x-gateway-inference-objective': 'sheddable' },
  };
  // Per fleet, the flooding mode without flow control runs last: it leaves the simulator a backlog.
  return [
    { workload: 'fairness', mode: 'quiet alone', flowControl: false, tenants: [quiet] },
    { workload: 'priority', mode: 'critical alone', flowControl: false, tenants: [critical] },
    {
      workload: 'priority',
      mode: 'both, no flow control',
      flowControl: false,
      tenants: [critical, sheddable],
    },
    { workload: 'fairness', mode: 'both, no flow control', flowControl: false, tenants: [quiet, noisy] },
    { workload: 'fairness', mode: 'both, flow control', flowControl: true, tenants: [quiet, noisy] },
    { workload: 'priority', mode: 'both, flow control', flowControl: true, tenants: [critical, sheddable] },
  ];
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
      const prompt = text(PROMPT_TOKENS, 4, rand, `${m.workload} ${m.mode} ${t.name} ${at.toFixed(3)}: `);
      sends.push({ at, tenant: t, body: completionBody(MODEL, prompt, OUTPUT_TOKENS) });
    }
  }
  sends.sort((a, b) => a.at - b.at);
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const sink = { token: () => undefined };
  const pending: { tenant: string; measured: boolean; p: Promise<RequestResult> }[] = [];
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
  agent.destroy();
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
  const at = (w: string, mode: string, tenant: string) =>
    points.find((p) => p.workload === w && p.mode === mode && p.tenant === tenant);
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
          `<text x="4" y="${y + 15}" font-size="12">${esc(`${p.mode} · ${p.tenant}`)}</text>` +
          `<rect x="250" y="${y}" width="${len.toFixed(1)}" height="${bar}" fill="${color}"/>` +
          `<text x="${(255 + len).toFixed(1)}" y="${y + 15}" font-size="12">${esc(`${v} ms, ${round(p.successRate * 100, 1)}% ok`)}</text>`
        );
      })
      .join('');
    const rows = pts
      .map(
        (p) =>
          `<tr><td>${esc(p.mode)}</td><td>${esc(p.tenant)}</td><td>${p.qps}</td><td>${p.requests}</td>` +
          `<td>${round(p.successRate * 100, 1)}%</td><td>${p.ttftMs.p50}</td><td>${p.ttftMs.p90}</td><td>${p.ttftMs.p99}</td>` +
          `<td>${p.e2eP90Ms}</td><td>${esc(JSON.stringify(p.statuses))}</td></tr>`,
      )
      .join('');
    return (
      `<h2>${esc(w)}</h2><svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" ` +
      `aria-label="${esc(`${w} TTFT p90`)}">${bars}</svg>` +
      `<table><tr><th>mode</th><th>tenant</th><th>QPS</th><th>requests</th><th>success</th><th>TTFT p50</th>` +
      `<th>TTFT p90</th><th>TTFT p99</th><th>e2e p90</th><th>statuses</th></tr>${rows}</table>`
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
  console.log(`flow bench: logs in ${logDir}; pool saturation ≈ ${round(POOL_SATURATION_QPS, 1)} req/s`);
  const points: FlowPoint[] = [];
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
      const list = modes(s).filter((m) => m.flowControl === fc);
      for (const [i, m] of list.entries()) {
        const got = await runMode(fleet, m, s);
        points.push(...got);
        for (const p of got) {
          console.log(
            `${m.workload} / ${m.mode} / ${p.tenant} @ ${p.qps} qps: TTFT p90 ${p.ttftMs.p90} ms, success ${round(p.successRate * 100, 1)}% of ${p.requests}, statuses ${JSON.stringify(p.statuses)}`,
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
  const cpus = os.cpus();
  const report: FlowReport = {
    bench: 'flow',
    command: `${invokedAs}${args.length ? ' ' + args.join(' ') : ''}`,
    date: new Date().toISOString(),
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? 'unknown',
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      os: `${os.type()} ${os.release()}`,
      envoy: envoyVersion(),
    },
    settings: {
      ...s,
      out: undefined,
      simulators: SIM_ADDRESSES.length,
      simArgs: FLOW_SIM_ARGS.join(' '),
      promptTokens: PROMPT_TOKENS,
      outputTokens: OUTPUT_TOKENS,
      poolSaturationQps: round(POOL_SATURATION_QPS, 2),
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
