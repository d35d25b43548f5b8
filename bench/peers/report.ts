// bench/peers: the figures of one repetition, their summary (median and min–max per EPP; infergate ÷ peer ratios
// paired by repetition, with their min–max), the JSON document and a self-contained HTML page (inline SVG drawn
// here, no script, no external resources). Pure: data in, text out.

import { PEERS, type EppName } from './epps';

/** What one EPP measured in one repetition (a)–(d); undefined where a step did not produce a value. */
export interface RepFigures {
  rep: number;
  /** 0-based position of this EPP in the repetition's order. */
  position: number;
  startupMs: number;
  /** EPP cores used while idle (only its 50 ms scrapes of the 8 pods). */
  idleCores: number;
  rssIdleMiB: number;
  rssAfterMiB: number;
  rssPeakMiB: number;
  /** (a) small prompts at a fixed rate, on the EPP route and on the direct route. */
  small: {
    rate: number;
    rps: number;
    successRate: number;
    addedP50Ms: number;
    addedP99Ms: number;
    directP50Ms: number;
    directP99Ms: number;
    /** EPP CPU seconds per 1,000 requests (the pods' scrapes during the step included). */
    eppCpuSecondsPer1k: number;
  };
  /** (b) the ladder of offered rates, and the highest with ≥ 99.9% success and added p99 ≤ 5 ms. */
  ladder: LadderStep[];
  best?: { rate: number; rps: number; eppCores: number; rpsPerEppCore: number; addedP99Ms: number };
  /** (b) the highest rate served at all (≥ 99.9% success, ≥ 95% achieved), whatever its added p99. */
  served?: { rate: number; rps: number; eppCores: number; rpsPerEppCore: number; addedP99Ms: number };
  /** (c) 220 KB prompts, closed loop. */
  large: {
    concurrency: number;
    rps: number;
    p50Ms: number;
    p99Ms: number;
    successRate: number;
    eppCores: number;
    rpsPerEppCore: number;
  };
}

export interface LadderStep {
  rate: number;
  rps: number;
  successRate: number;
  addedP99Ms: number;
  eppCores: number;
  /** ≥ 99.9% success and ≥ 95% of the rate achieved. */
  served: boolean;
  /** Served, and added p99 ≤ 5 ms. */
  ok: boolean;
}

/** (e) one routing-quality point with this EPP as the picker (bench/routing's workloads and fleet). */
export interface RoutingPoint {
  workload: string;
  qps: number;
  achievedQps: number;
  successRate: number;
  ttftP50Ms: number;
  ttftP90Ms: number;
  outputTokensPerSec: number;
  offeredTokensPerSec: number;
  prefixHitRate: number;
  eppCores: number;
}

/** Machine load while a step ran (other people's builds share the cores). */
export interface LoadSample {
  epp: string;
  rep: number;
  step: string;
  /** 1-minute load average at the end of the step. */
  loadAvg1: number;
  /** Machine CPU busy over the step, 0–1 of all cores. */
  machineBusy: number;
  eppCores: number;
}

export interface Range {
  median: number;
  min: number;
  max: number;
  n: number;
}

export interface Metric {
  key: string;
  title: string;
  unit: string;
  /** Which way is better, for reading the ratios. */
  better: 'lower' | 'higher';
  of(r: RepFigures): number | undefined;
}

export const METRICS: readonly Metric[] = [
  { key: 'addedP50', title: '(a) added p50', unit: 'ms', better: 'lower', of: (r) => r.small.addedP50Ms },
  { key: 'addedP99', title: '(a) added p99', unit: 'ms', better: 'lower', of: (r) => r.small.addedP99Ms },
  {
    key: 'cpuPer1k',
    title: '(a) EPP CPU per 1,000 requests',
    unit: 's',
    better: 'lower',
    of: (r) => r.small.eppCpuSecondsPer1k,
  },
  {
    key: 'maxRps',
    title: '(b) highest rate within budget',
    unit: 'req/s',
    better: 'higher',
    of: (r) => r.best?.rps ?? 0,
  },
  {
    key: 'maxRpsPerCore',
    title: '(b) req/s per EPP core there',
    unit: 'req/s/core',
    better: 'higher',
    of: (r) => r.best?.rpsPerEppCore,
  },
  {
    key: 'servedRps',
    title: '(b) highest rate served (any p99)',
    unit: 'req/s',
    better: 'higher',
    of: (r) => r.served?.rps ?? 0,
  },
  {
    key: 'servedPerCore',
    title: '(b) req/s per EPP core there',
    unit: 'req/s/core',
    better: 'higher',
    of: (r) => r.served?.rpsPerEppCore,
  },
  { key: 'largeRps', title: '(c) 220 KB req/s', unit: 'req/s', better: 'higher', of: (r) => r.large.rps },
  { key: 'largeP50', title: '(c) 220 KB p50', unit: 'ms', better: 'lower', of: (r) => r.large.p50Ms },
  { key: 'largeP99', title: '(c) 220 KB p99', unit: 'ms', better: 'lower', of: (r) => r.large.p99Ms },
  {
    key: 'largePerCore',
    title: '(c) 220 KB req/s per EPP core',
    unit: 'req/s/core',
    better: 'higher',
    of: (r) => r.large.rpsPerEppCore,
  },
  { key: 'rssIdle', title: '(d) RSS idle', unit: 'MiB', better: 'lower', of: (r) => r.rssIdleMiB },
  {
    key: 'rssAfter',
    title: '(d) RSS after the load',
    unit: 'MiB',
    better: 'lower',
    of: (r) => r.rssAfterMiB,
  },
  {
    key: 'idleCores',
    title: 'idle EPP cores (scrapes)',
    unit: 'cores',
    better: 'lower',
    of: (r) => r.idleCores,
  },
];

export interface PeerEntry {
  name: EppName;
  /** Binary or CLI and its version. */
  version: string;
  machine: Machine;
  settings: Record<string, unknown>;
  command: string;
  repetitions: RepFigures[];
  summary: Record<string, Range | undefined>;
  routing: RoutingPoint[];
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  os: string;
  envoy?: string;
  /** 1-minute load average at the start and end of the run. */
  loadAvgStart: number;
  loadAvgEnd: number;
}

export interface PeersReport {
  bench: 'peers';
  command: string;
  date: string;
  durationS: number;
  machine: Machine;
  settings: Record<string, unknown>;
  entries: PeerEntry[];
  /** infergate ÷ peer, per metric: the ratios of repetitions run in the same round. */
  ratios: Record<string, Record<string, Range | undefined>>;
  load: LoadSample[];
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

export function range(xs: (number | undefined)[]): Range | undefined {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return undefined;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median: round(median), min: round(v[0]), max: round(v[v.length - 1]), n: v.length };
}

export function summarize(reps: RepFigures[]): Record<string, Range | undefined> {
  return Object.fromEntries(METRICS.map((m) => [m.key, range(reps.map(m.of))]));
}

/** infergate ÷ `peer` per metric, over the repetitions both ran (paired by repetition number). */
export function ratios(a: RepFigures[], b: RepFigures[]): Record<string, Range | undefined> {
  const byRep = new Map(b.map((r) => [r.rep, r]));
  return Object.fromEntries(
    METRICS.map((m) => {
      const rs = a.map((r) => {
        const other = byRep.get(r.rep);
        const x = m.of(r);
        const y = other ? m.of(other) : undefined;
        return x !== undefined && y !== undefined && y !== 0 ? x / y : undefined;
      });
      return [m.key, range(rs)];
    }),
  );
}

/** Fills in summaries and ratios from the repetitions. */
export function finish(r: Omit<PeersReport, 'ratios'>): PeersReport {
  const entries = r.entries.map((e) => ({ ...e, summary: summarize(e.repetitions) }));
  const ours = entries.find((e) => e.name === 'infergate');
  const out: PeersReport['ratios'] = {};
  for (const peer of PEERS) {
    const theirs = entries.find((e) => e.name === peer);
    if (ours && theirs) out[peer] = ratios(ours.repetitions, theirs.repetitions);
  }
  return { ...r, entries, ratios: out };
}

export function renderJson(report: PeersReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const COLORS: Record<string, string> = {
  infergate: '#1f77b4',
  'gie-v1.5.0': '#d62728',
  'llm-d-v0.7.1': '#2ca02c',
};
const fmt = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x)
    ? '—'
    : Math.abs(x) >= 100
      ? Math.round(x).toLocaleString('en-US')
      : Math.abs(x) >= 10
        ? x.toFixed(1)
        : x.toFixed(2);
const fmtRange = (r: Range | undefined) =>
  r ? `${fmt(r.median)} <span class="rng">[${fmt(r.min)}–${fmt(r.max)}]</span>` : '—';

/** One bar chart: a bar per EPP at the median, a whisker from min to max, a dot per repetition. */
export function barChart(report: PeersReport, m: Metric): string {
  const W = 300;
  const H = 190;
  const pad = { l: 44, r: 8, t: 24, b: 30 };
  const entries = report.entries;
  const values = entries.flatMap((e) => e.repetitions.map(m.of)).filter((x): x is number => x !== undefined);
  const top = Math.max(1e-9, ...values) * 1.1;
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / top);
  const slot = (W - pad.l - pad.r) / Math.max(1, entries.length);
  const bars = entries
    .map((e, i) => {
      const s = e.summary[m.key];
      const x = pad.l + slot * i + slot * 0.2;
      const w = slot * 0.6;
      const cx = x + w / 2;
      const dots = e.repetitions
        .map(m.of)
        .filter((v): v is number => v !== undefined)
        .map((v) => `<circle cx="${round(cx, 1)}" cy="${round(y(v), 1)}" r="2.5" fill="#000" opacity="0.6"/>`)
        .join('');
      const bar = s
        ? `<rect x="${round(x, 1)}" y="${round(y(s.median), 1)}" width="${round(w, 1)}" height="${round(H - pad.b - y(s.median), 1)}" fill="${COLORS[e.name] ?? '#888'}"/>` +
          `<line x1="${round(cx, 1)}" x2="${round(cx, 1)}" y1="${round(y(s.min), 1)}" y2="${round(y(s.max), 1)}" stroke="#000"/>` +
          `<text x="${round(cx, 1)}" y="${round(y(s.median) - 4, 1)}" text-anchor="middle" font-size="10">${fmt(s.median)}</text>`
        : '';
      return (
        `<g class="bar" data-epp="${esc(e.name)}" data-reps="${e.repetitions.length}">${bar}${dots}` +
        `<text x="${round(cx, 1)}" y="${H - pad.b + 14}" text-anchor="middle" font-size="10">${esc(e.name)}</text></g>`
      );
    })
    .join('');
  const axis =
    `<line x1="${pad.l}" x2="${W - pad.r}" y1="${H - pad.b}" y2="${H - pad.b}" stroke="#888"/>` +
    `<line x1="${pad.l}" x2="${pad.l}" y1="${pad.t}" y2="${H - pad.b}" stroke="#888"/>` +
    [0, 0.5, 1]
      .map(
        (f) =>
          `<text x="${pad.l - 4}" y="${round(y(top * f) + 3, 1)}" text-anchor="end" font-size="9">${fmt(top * f)}</text>`,
      )
      .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" id="bar-${m.key}" class="chart" width="${W}" height="${H}" data-bars="${entries.length}">` +
    `<text x="${W / 2}" y="14" text-anchor="middle" font-size="12" font-weight="bold">${esc(m.title)} (${esc(m.unit)})</text>` +
    `${axis}${bars}</svg>`
  );
}

/** One line chart for a routing workload: a line per EPP through its points (x = offered QPS). */
export function lineChart(
  report: PeersReport,
  workload: string,
  metric: 'ttftP90Ms' | 'outputTokensPerSec',
): string {
  const W = 420;
  const H = 240;
  const pad = { l: 54, r: 10, t: 24, b: 34 };
  const series = report.entries.map((e) => ({
    name: e.name,
    points: e.routing.filter((p) => p.workload === workload).sort((a, b) => a.qps - b.qps),
  }));
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p.qps);
  const ys = all.map((p) => p[metric]).filter((v) => Number.isFinite(v));
  const x0 = Math.min(...xs, 0);
  const x1 = Math.max(...xs, 1);
  const y1 = Math.max(...ys, 1) * 1.1;
  const px = (v: number) => pad.l + ((W - pad.l - pad.r) * (v - x0)) / Math.max(1e-9, x1 - x0);
  const py = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - (Number.isFinite(v) ? v : 0) / y1);
  const lines = series
    .map((s) => {
      const d = s.points
        .map((p, i) => `${i ? 'L' : 'M'}${round(px(p.qps), 1)} ${round(py(p[metric]), 1)}`)
        .join(' ');
      const dots = s.points
        .map(
          (p) =>
            `<circle cx="${round(px(p.qps), 1)}" cy="${round(py(p[metric]), 1)}" r="3" fill="${COLORS[s.name] ?? '#888'}"/>`,
        )
        .join('');
      return (
        `<g class="series" data-series="${esc(s.name)}" data-points="${s.points.length}">` +
        (d ? `<path d="${d}" fill="none" stroke="${COLORS[s.name] ?? '#888'}" stroke-width="2"/>` : '') +
        `${dots}</g>`
      );
    })
    .join('');
  const title = metric === 'ttftP90Ms' ? 'TTFT p90 (ms)' : 'output tokens/s';
  const ticks = [...new Set(xs)]
    .sort((a, b) => a - b)
    .map(
      (q) =>
        `<text x="${round(px(q), 1)}" y="${H - pad.b + 14}" text-anchor="middle" font-size="10">${q}</text>`,
    )
    .join('');
  const legend = series
    .map(
      (s, i) =>
        `<text x="${pad.l + 6}" y="${pad.t + 12 + i * 12}" font-size="10" fill="${COLORS[s.name] ?? '#888'}">${esc(s.name)}</text>`,
    )
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" id="line-${esc(workload)}-${metric}" class="chart" width="${W}" height="${H}" data-series-count="${series.length}">` +
    `<text x="${W / 2}" y="14" text-anchor="middle" font-size="12" font-weight="bold">${esc(workload)}: ${title} vs offered QPS</text>` +
    `<line x1="${pad.l}" x2="${W - pad.r}" y1="${H - pad.b}" y2="${H - pad.b}" stroke="#888"/>` +
    `<line x1="${pad.l}" x2="${pad.l}" y1="${pad.t}" y2="${H - pad.b}" stroke="#888"/>` +
    `<text x="${pad.l - 4}" y="${pad.t + 3}" text-anchor="end" font-size="9">${fmt(y1)}</text>` +
    `<text x="${pad.l - 4}" y="${H - pad.b}" text-anchor="end" font-size="9">0</text>` +
    `${ticks}${lines}${legend}</svg>`
  );
}

export function renderHtml(report: PeersReport): string {
  const m = report.machine;
  const names = report.entries.map((e) => e.name);
  const summaryRows = METRICS.map(
    (k) =>
      `<tr><td>${esc(k.title)} (${esc(k.unit)}, ${k.better} is better)</td>` +
      report.entries.map((e) => `<td>${fmtRange(e.summary[k.key])}</td>`).join('') +
      PEERS.filter((p) => report.ratios[p])
        .map((p) => `<td class="ratio">${fmtRange(report.ratios[p]?.[k.key])}</td>`)
        .join('') +
      '</tr>',
  ).join('');
  const ratioHeads = PEERS.filter((p) => report.ratios[p])
    .map((p) => `<th>infergate ÷ ${esc(p)}</th>`)
    .join('');
  const workloads = [...new Set(report.entries.flatMap((e) => e.routing.map((p) => p.workload)))];
  const routingRows = report.entries
    .flatMap((e) =>
      e.routing.map(
        (p) =>
          `<tr><td>${esc(p.workload)}</td><td>${esc(e.name)}</td><td>${p.qps}</td><td>${fmt(p.achievedQps)}</td>` +
          `<td>${fmt(p.ttftP50Ms)}</td><td>${fmt(p.ttftP90Ms)}</td><td>${fmt(p.outputTokensPerSec)} (${fmt(p.offeredTokensPerSec)})</td>` +
          `<td>${(p.successRate * 100).toFixed(1)}%</td><td>${(p.prefixHitRate * 100).toFixed(0)}%</td><td>${fmt(p.eppCores)}</td></tr>`,
      ),
    )
    .join('');
  const loadRows = report.load
    .map(
      (l) =>
        `<tr><td>${l.rep}</td><td>${esc(l.epp)}</td><td>${esc(l.step)}</td><td>${fmt(l.loadAvg1)}</td>` +
        `<td>${(l.machineBusy * 100).toFixed(0)}%</td><td>${fmt(l.eppCores)}</td></tr>`,
    )
    .join('');
  const busy = report.load.map((l) => l.machineBusy);
  const loads = report.load.map((l) => l.loadAvg1);
  const versions = report.entries.map((e) => `${esc(e.name)}: ${esc(e.version)}`).join('; ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>infergate bench peers</title>
<style>
body{font-family:sans-serif;margin:1.5em;max-width:1400px}
.grid{display:flex;flex-wrap:wrap;gap:12px}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
td:first-child,th:first-child{text-align:left}
.rng{color:#777;font-size:11px}
.ratio{background:#f4f7fb}
</style></head><body>
<h1>infergate vs the upstream EPP and llm-d</h1>
<p>${esc(report.date)} · ${report.durationS} s · <code>${esc(report.command)}</code></p>
<p>Machine: ${m.cpus} × ${esc(m.cpuModel)}, ${m.memoryGb} GB, Node ${esc(m.node)}, ${esc(m.os)}, Envoy ${esc(m.envoy ?? '?')};
load average ${fmt(m.loadAvgStart)} at the start, ${fmt(m.loadAvgEnd)} at the end; per step: load average
${fmt(Math.min(...loads))}–${fmt(Math.max(...loads))}, machine CPU busy ${(Math.min(...busy) * 100).toFixed(0)}–${(Math.max(...busy) * 100).toFixed(0)}%
(other work shares the cores: read the spreads).</p>
<p>${versions}</p>
<h2>Side by side (median, bar; min–max, whisker; one dot per repetition)</h2>
<div class="grid">${METRICS.map((k) => barChart(report, k)).join('\n')}</div>
<h2>Medians [min–max] and ratios (infergate ÷ peer, per repetition round)</h2>
<table><tr><th>metric</th>${names.map((n) => `<th>${esc(n)}</th>`).join('')}${ratioHeads}</tr>${summaryRows}</table>
<h2>(e) Routing quality with each EPP as the picker (bench/routing workloads)</h2>
<div class="grid">${workloads.map((w) => lineChart(report, w, 'ttftP90Ms') + lineChart(report, w, 'outputTokensPerSec')).join('\n')}</div>
<table><tr><th>workload</th><th>EPP</th><th>QPS</th><th>achieved</th><th>TTFT p50 ms</th><th>TTFT p90 ms</th><th>tok/s (offered)</th><th>success</th><th>prefix hits</th><th>EPP cores</th></tr>${routingRows}</table>
<h2>Machine load per step</h2>
<table><tr><th>rep</th><th>EPP</th><th>step</th><th>load avg (1 min)</th><th>machine CPU busy</th><th>EPP cores</th></tr>${loadRows}</table>
<h2>Settings</h2><pre>${esc(JSON.stringify(report.settings, null, 2))}</pre>
</body></html>
`;
}
