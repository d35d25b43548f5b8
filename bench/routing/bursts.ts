// bench/routing bursts: N requests arriving at once on an idle pool of 8 simulators behind a real Envoy and the EPP,
// with the upstream default profile and with in-flight accounting (examples/epp-config/burst-safe.yaml), each with
// and without a shared prefix, several repetitions. Per burst: requests per pod (max/min) and TTFT percentiles.
// Writes bench/results/bursts.json and bursts.html (inline SVG drawn here; no script, renders offline).
// Run: node dist/bench/routing/bursts.js [--quick] [--reps 8] [--burst 64] [--seed 1] [--out DIR]

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../../src/util/envoy';
import { MODEL, startFleet, tmpLogDir, type Fleet } from './fleet';
import { runStep } from './loadgen';
import { SIM_ARGS } from './run';
import { percentile, round } from './stats';
import { prng, seedOf, text, type BenchRequest } from './workload';

const SIM_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.1.${i + 1}`);

export type BurstConfigName = 'default' | 'inflight' | 'inflight-tuned';
export type BurstWorkload = 'unique' | 'shared-prefix';
export const BURST_CONFIGS: readonly BurstConfigName[] = ['default', 'inflight', 'inflight-tuned'];
export const BURST_WORKLOADS: readonly BurstWorkload[] = ['unique', 'shared-prefix'];

export const INFLIGHT_CONFIG_FILE = path.join('examples', 'epp-config', 'burst-safe.yaml');

/**
 * Exploratory variant: token-load-scorer at weight 2 with queueThresholdTokens = one simulator's KV cache (1,000
 * blocks × 16 tokens), so a pod holding a shared prefix spills over once its in-flight tokens pass about half its
 * cache (active 2 + token 2 outweigh prefix 3 there).
 */
export function tunedConfig(inflight: string): string {
  const out = inflight
    .replace(
      '- type: token-load-scorer',
      '- {type: token-load-scorer, parameters: {queueThresholdTokens: 16000}}',
    )
    .replace('{pluginRef: token-load-scorer, weight: 1}', '{pluginRef: token-load-scorer, weight: 2}');
  if (out === inflight)
    throw new Error(`${INFLIGHT_CONFIG_FILE} changed shape: cannot derive inflight-tuned`);
  return out;
}

export interface BurstSettings {
  reps: number;
  burst: number;
  /** Prompt tokens of a unique request; the shared prompt's length in the shared-prefix workload. */
  promptTokens: number;
  sharedPrefixTokens: number;
  questionTokens: number;
  maxTokens: number;
  /** Pause after a burst has been answered, so the EPP has scraped the idle pool again (≥ 4 scrapes). */
  idleMs: number;
  timeoutS: number;
  seed: number;
  configs: BurstConfigName[];
  workloads: BurstWorkload[];
  out: string;
}

export interface BurstPoint {
  config: BurstConfigName;
  workload: BurstWorkload;
  rep: number;
  requests: number;
  succeeded: number;
  /** Requests served by each simulator, in address order. */
  perPod: number[];
  perPodMax: number;
  perPodMin: number;
  ttftMs: { p50: number; p90: number; p99: number };
  e2eP90Ms: number;
  /** From the first send to the last response, ms. */
  makespanMs: number;
}

export interface BurstSummary {
  config: BurstConfigName;
  workload: BurstWorkload;
  reps: number;
  perPodMax: { median: number; min: number; max: number };
  perPodMin: { median: number; min: number; max: number };
  ttftP90Ms: { median: number; min: number; max: number };
  ttftP50Ms: { median: number; min: number; max: number };
  ttftP99Ms: { median: number; min: number; max: number };
}

export interface BurstsReport {
  bench: 'routing-bursts';
  command: string;
  date: string;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; os: string };
  settings: Record<string, unknown>;
  points: BurstPoint[];
  summary: BurstSummary[];
}

function settings(args: string[]): BurstSettings {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      reps: { type: 'string' },
      burst: { type: 'string', default: '64' },
      seed: { type: 'string', default: '1' },
      configs: { type: 'string' },
      workloads: { type: 'string' },
      out: { type: 'string', default: path.join(projectRoot(), 'bench', 'results') },
    },
  });
  const list = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()) : undefined);
  // --quick compares the two shipped profiles; the full run adds the exploratory tuned one.
  const configs = (list(values.configs) ??
    (values.quick ? ['default', 'inflight'] : [...BURST_CONFIGS])) as BurstConfigName[];
  const workloads = (list(values.workloads) ?? [...BURST_WORKLOADS]) as BurstWorkload[];
  for (const c of configs) if (!BURST_CONFIGS.includes(c)) throw new Error(`unknown config ${c}`);
  for (const w of workloads) if (!BURST_WORKLOADS.includes(w)) throw new Error(`unknown workload ${w}`);
  const reps = Number(values.reps ?? (values.quick ? 2 : 5));
  const burst = Number(values.burst);
  if (!(reps >= 1) || !(burst >= 1)) throw new Error('--reps and --burst must be ≥ 1');
  return {
    reps,
    burst,
    promptTokens: 400,
    sharedPrefixTokens: 2000,
    questionTokens: 40,
    maxTokens: 32,
    idleMs: 300,
    timeoutS: 60,
    seed: Number(values.seed),
    configs,
    workloads,
    out: values.out,
  };
}

/** The burst's requests, all sent at t = 0; prompts unique to (seed, workload, rep), so every burst starts cold. */
export function burstRequests(s: BurstSettings, workload: BurstWorkload, rep: number): BenchRequest[] {
  const rand = prng(seedOf(s.seed, 'burst', workload, rep));
  const shared =
    workload === 'shared-prefix'
      ? text(s.sharedPrefixTokens, 4, rand, `You are assistant ${rep} of burst ${s.seed}. Policies: `)
      : '';
  return Array.from({ length: s.burst }, (_, i) => {
    const prompt =
      workload === 'shared-prefix'
        ? shared + text(s.questionTokens, 4, rand, `\nUser ${i}: `)
        : text(s.promptTokens, 4, rand, `Request ${rep}-${i} context: `);
    return { atMs: 0, prompt, maxTokens: s.maxTokens, group: workload === 'shared-prefix' ? 0 : -1 };
  });
}

const spread = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: percentile(s, 50), min: s[0], max: s[s.length - 1] };
};

/** Per (config, workload): the median and range over repetitions (pure). */
export function summarizeBursts(points: readonly BurstPoint[]): BurstSummary[] {
  const out: BurstSummary[] = [];
  for (const config of BURST_CONFIGS) {
    for (const workload of BURST_WORKLOADS) {
      const ps = points.filter((p) => p.config === config && p.workload === workload);
      if (ps.length === 0) continue;
      out.push({
        config,
        workload,
        reps: ps.length,
        perPodMax: spread(ps.map((p) => p.perPodMax)),
        perPodMin: spread(ps.map((p) => p.perPodMin)),
        ttftP90Ms: spread(ps.map((p) => p.ttftMs.p90)),
        ttftP50Ms: spread(ps.map((p) => p.ttftMs.p50)),
        ttftP99Ms: spread(ps.map((p) => p.ttftMs.p99)),
      });
    }
  }
  return out;
}

async function runBurst(
  s: BurstSettings,
  fleet: Fleet,
  config: BurstConfigName,
  workload: BurstWorkload,
  rep: number,
): Promise<BurstPoint> {
  const requests = burstRequests(s, workload, rep);
  const t0 = performance.now();
  const r = await runStep({
    url: fleet.url,
    model: MODEL,
    requests,
    warmupMs: 0,
    measureMs: 1000,
    timeoutMs: s.timeoutS * 1000,
    simUrls: fleet.simUrls,
    processes: fleet.processes,
  });
  const makespanMs = round(performance.now() - t0, 0);
  const identities = fleet.simUrls.map((u) => new URL(u).host);
  const perPod = identities.map((id) => r.raw.filter((q) => q.servedBy === id).length);
  const point: BurstPoint = {
    config,
    workload,
    rep,
    requests: r.requests,
    succeeded: r.succeeded,
    perPod,
    perPodMax: Math.max(...perPod),
    perPodMin: Math.min(...perPod),
    ttftMs: r.ttftMs,
    e2eP90Ms: r.e2eP90Ms,
    makespanMs,
  };
  console.log(
    `${config.padEnd(8)} ${workload.padEnd(13)} rep ${rep}: pods ${perPod.join('/')} (max ${point.perPodMax}, ` +
      `min ${point.perPodMin}), TTFT p50/p90/p99 ${r.ttftMs.p50}/${r.ttftMs.p90}/${r.ttftMs.p99} ms, ` +
      `ok ${r.succeeded}/${r.requests}, all answered in ${makespanMs} ms`,
  );
  // Let the pool go idle in the EPP's eyes too (completions released, a few scrapes of empty queues).
  await new Promise((res) => setTimeout(res, s.idleMs));
  return point;
}

async function warmUp(s: BurstSettings, fleet: Fleet): Promise<void> {
  const requests = burstRequests(s, 'unique', -1).map((r) => ({ ...r, maxTokens: 4 }));
  await runStep({
    url: fleet.url,
    model: MODEL,
    requests,
    warmupMs: 0,
    measureMs: 100,
    timeoutMs: s.timeoutS * 1000,
    simUrls: fleet.simUrls,
    processes: fleet.processes,
  });
  await new Promise((res) => setTimeout(res, s.idleMs));
}

export async function main(args: string[]): Promise<void> {
  const s = settings(args);
  const started = Date.now();
  const logDir = tmpLogDir();
  const inflightConfig = fs.readFileSync(path.join(projectRoot(), INFLIGHT_CONFIG_FILE), 'utf8');
  console.log(
    `routing bursts: ${s.burst} requests at once on 8 idle simulators, ${s.reps} repetitions of ` +
      `${s.configs.join(', ')} × ${s.workloads.join(', ')}; logs in ${logDir}`,
  );
  const points: BurstPoint[] = [];
  for (const config of s.configs) {
    const fleet = await startFleet({
      strategy: 'infergate',
      simAddresses: SIM_ADDRESSES,
      simArgs: SIM_ARGS,
      logDir,
      ...(config === 'inflight' ? { eppConfig: inflightConfig } : {}),
      ...(config === 'inflight-tuned' ? { eppConfig: tunedConfig(inflightConfig) } : {}),
    });
    try {
      // One unmeasured burst first: Envoy's upstream connections and ext_proc streams, and the EPP's and simulators'
      // first-run code paths, otherwise land on the first measured burst (seen: 3–10× its TTFT with an even spread).
      await warmUp(s, fleet);
      for (let rep = 0; rep < s.reps; rep++)
        for (const workload of s.workloads) points.push(await runBurst(s, fleet, config, workload, rep));
    } finally {
      await fleet.stop();
    }
  }
  const cpus = os.cpus();
  const report: BurstsReport = {
    bench: 'routing-bursts',
    command: `${invokedAs}${args.length ? ' ' + args.join(' ') : ''}`,
    date: new Date().toISOString(),
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? 'unknown',
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      os: `${os.type()} ${os.release()}`,
    },
    settings: {
      ...s,
      out: undefined,
      simulators: SIM_ADDRESSES.length,
      simArgs: SIM_ARGS.join(' '),
      inflightConfig: INFLIGHT_CONFIG_FILE,
      durationS: Math.round((Date.now() - started) / 1000),
    },
    points,
    summary: summarizeBursts(points),
  };
  fs.mkdirSync(s.out, { recursive: true });
  fs.writeFileSync(path.join(s.out, 'bursts.json'), JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(path.join(s.out, 'bursts.html'), renderBurstsHtml(report));
  for (const x of report.summary)
    console.log(
      `${x.config.padEnd(8)} ${x.workload.padEnd(13)} busiest pod median ${x.perPodMax.median} ` +
        `(${x.perPodMax.min}–${x.perPodMax.max}), least busy median ${x.perPodMin.median}, ` +
        `TTFT p90 median ${x.ttftP90Ms.median} ms (${x.ttftP90Ms.min}–${x.ttftP90Ms.max}), ` +
        `p99 median ${x.ttftP99Ms.median} ms (${x.ttftP99Ms.min}–${x.ttftP99Ms.max})`,
    );
  console.log(`wrote ${path.join(s.out, 'bursts.json')} and bursts.html in ${report.settings.durationS} s`);
}

// ---- HTML (pure) ----

const esc = (v: unknown) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const COLORS: Record<BurstConfigName, string> = {
  default: '#d62728',
  inflight: '#1f77b4',
  'inflight-tuned': '#2ca02c',
};

interface Series {
  label: string;
  color: string;
  values: number[];
  hollow?: boolean;
}

/** One dot per repetition for each group × series, a tick at each series' median; linear y from 0. */
function dotChart(id: string, title: string, unit: string, groups: string[], series: Series[][]): string {
  const W = 640;
  const H = 300;
  const L = 56;
  const B = 48;
  const T = 16;
  const all = series.flat().flatMap((s) => s.values);
  const yMax = Math.max(1, ...all) * 1.1;
  const Y = (v: number) => H - B - (v / yMax) * (H - T - B);
  const band = (W - L - 12) / groups.length;
  const parts: string[] = [];
  const step = 10 ** Math.floor(Math.log10(yMax));
  const tick = yMax / step < 4 ? step / 2 : step;
  for (let t = 0; t <= yMax; t += tick) {
    parts.push(
      `<line x1="${L}" x2="${W - 12}" y1="${Y(t).toFixed(1)}" y2="${Y(t).toFixed(1)}" stroke="#eee"/>` +
        `<text x="${L - 4}" y="${(Y(t) + 3).toFixed(1)}" text-anchor="end" font-size="10" fill="#444">${round(t, 1)}</text>`,
    );
  }
  groups.forEach((g, gi) => {
    const x0 = L + gi * band;
    parts.push(
      `<text x="${(x0 + band / 2).toFixed(1)}" y="${H - B + 16}" text-anchor="middle" font-size="11" fill="#222">${esc(g)}</text>`,
    );
    const ss = series[gi];
    ss.forEach((s, si) => {
      const cx = x0 + ((si + 1) * band) / (ss.length + 1);
      const med = percentile(
        [...s.values].sort((a, b) => a - b),
        50,
      );
      parts.push(
        `<g class="series" data-series="${esc(s.label)}" data-points="${s.values.length}">` +
          s.values
            .map(
              (v, k) =>
                `<circle cx="${(cx + (k - (s.values.length - 1) / 2) * 2).toFixed(1)}" cy="${Y(v).toFixed(1)}" r="3" ` +
                `${s.hollow ? `fill="#fff" stroke="${s.color}"` : `fill="${s.color}"`}><title>${esc(`${g} ${s.label}: ${v}`)}</title></circle>`,
            )
            .join('') +
          (Number.isFinite(med)
            ? `<line x1="${(cx - 12).toFixed(1)}" x2="${(cx + 12).toFixed(1)}" y1="${Y(med).toFixed(1)}" y2="${Y(med).toFixed(1)}" stroke="${s.color}" stroke-width="2"/>`
            : '') +
          `</g>`,
      );
    });
  });
  // Every series label once (configs × statistics), four to a row under the axis labels.
  const labels = [...new Map(series.flat().map((x) => [x.label, x])).values()];
  const legend = labels
    .map((x, i) => {
      const lx = L + (i % 4) * 150;
      const ly = H - 18 + Math.floor(i / 4) * 13;
      const mark = x.hollow ? `fill="#fff" stroke="${x.color}"` : `fill="${x.color}"`;
      return (
        `<circle cx="${lx + 6}" cy="${ly - 4}" r="4" ${mark}/>` +
        `<text x="${lx + 14}" y="${ly}" font-size="11" fill="#222">${esc(x.label)}</text>`
      );
    })
    .join('');
  return (
    `<figure><figcaption>${esc(title)} (${esc(unit)})</figcaption>` +
    `<svg class="chart" id="${esc(id)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">` +
    `<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#999"/><line x1="${L}" x2="${W - 12}" y1="${H - B}" y2="${H - B}" stroke="#999"/>` +
    parts.join('') +
    legend +
    `</svg></figure>`
  );
}

export function renderBurstsHtml(report: BurstsReport): string {
  const workloads = BURST_WORKLOADS.filter((w) => report.points.some((p) => p.workload === w));
  const configs = BURST_CONFIGS.filter((c) => report.points.some((p) => p.config === c));
  const of = (c: BurstConfigName, w: BurstWorkload) =>
    report.points.filter((p) => p.config === c && p.workload === w);
  const groups = workloads.flatMap((w) => configs.map((c) => `${w} · ${c}`));
  const pairs = workloads.flatMap((w) => configs.map((c) => [c, w] as const));
  const spreadChart = dotChart(
    'per-pod',
    'Requests on the busiest (filled) and least busy (hollow) pod, per burst',
    'requests',
    groups,
    pairs.map(([c, w]) => [
      { label: `${c}: busiest`, color: COLORS[c], values: of(c, w).map((p) => p.perPodMax) },
      { label: `${c}: least busy`, color: COLORS[c], values: of(c, w).map((p) => p.perPodMin), hollow: true },
    ]),
  );
  const ttftChart = dotChart(
    'ttft',
    'TTFT p90 (filled) and p50 (hollow) per burst',
    'ms',
    groups,
    pairs.map(([c, w]) => [
      { label: `${c}: p90`, color: COLORS[c], values: of(c, w).map((p) => p.ttftMs.p90) },
      { label: `${c}: p50`, color: COLORS[c], values: of(c, w).map((p) => p.ttftMs.p50), hollow: true },
    ]),
  );
  const rows = report.points
    .map(
      (p) =>
        `<tr><td style="text-align:left">${esc(p.config)}</td><td style="text-align:left">${esc(p.workload)}</td>` +
        `<td>${p.rep}</td><td>${esc(p.perPod.join(' / '))}</td><td>${p.perPodMax}</td><td>${p.perPodMin}</td>` +
        `<td>${p.ttftMs.p50}</td><td>${p.ttftMs.p90}</td><td>${p.ttftMs.p99}</td><td>${p.e2eP90Ms}</td>` +
        `<td>${p.succeeded}/${p.requests}</td><td>${p.makespanMs}</td></tr>`,
    )
    .join('');
  const m = report.machine;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>infergate routing bursts</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}
figure{margin:0 0 16px}figcaption{font-weight:600;margin-bottom:4px}svg.chart{border:1px solid #ddd;background:#fff}
table{border-collapse:collapse;margin:12px 0 24px;font-size:12px}td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}
th{background:#f4f4f4}code{font-size:12px}.note{color:#555;max-width:1000px}
</style></head>
<body>
<h1>Bursts on an idle pool: in-flight accounting vs the upstream default profile</h1>
<p class="note">${esc(report.settings.burst)} requests sent at once to 8 idle simulated model servers (infergate sim,
8 seats each) through a real Envoy and the EPP. <b>default</b>: queue 2, kv-cache 2, prefix 3 (upstream's default
profile); <b>inflight</b>: the same plus inflight-load-producer, active-request-scorer 2, token-load-scorer 1
(<code>${esc(report.settings.inflightConfig)}</code>); <b>inflight-tuned</b> (exploratory): token-load-scorer at
weight 2 with queueThresholdTokens 16,000 (one simulator's KV cache). <b>unique</b>: every prompt its own; <b>shared-prefix</b>: one
${esc(report.settings.sharedPrefixTokens)}-token system prompt per burst. Fresh prompts every repetition. Simulated,
not GPU results. ${esc(report.date)} · ${m.cpus} × ${esc(m.cpuModel)} · ${m.memoryGb} GB · Node ${esc(m.node)}.<br>
Command: <code>${esc(report.command)}</code></p>
${spreadChart}
${ttftChart}
<table><tr><th>config</th><th>workload</th><th>rep</th><th>requests per pod</th><th>max</th><th>min</th>
<th>TTFT p50</th><th>p90</th><th>p99</th><th>e2e p90</th><th>ok</th><th>all answered ms</th></tr>${rows}</table>
</body></html>
`;
}

let invokedAs = 'node dist/bench/routing/bursts.js';

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
