// The bursts benchmark's data (bursts.ts): one point per burst, summaries over repetitions, and the self-contained
// HTML page (inline SVG drawn here, no script, renders offline). Pure: data in, text out.

import { percentile, round } from './stats';

export type BurstConfigName = 'default' | 'inflight' | 'inflight-tuned';
export type BurstWorkload = 'unique' | 'shared-prefix';
export const BURST_CONFIGS: readonly BurstConfigName[] = ['default', 'inflight', 'inflight-tuned'];
export const BURST_WORKLOADS: readonly BurstWorkload[] = ['unique', 'shared-prefix'];
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
