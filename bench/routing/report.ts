// The routing benchmark's report: the JSON document and a self-contained HTML page whose inline script draws one SVG
// chart per workload × metric (latency or throughput vs offered QPS, one line per strategy). No external resources,
// so it renders offline. Pure: data in, text out.

import type { GoalSummary } from './goals';

export interface PointEntry {
  workload: string;
  strategy: string;
  /** Offered load (target Poisson rate). */
  qps: number;
  achievedQps: number;
  requests: number;
  succeeded: number;
  successRate: number;
  ttftMs: { p50: number; p90: number; p99: number };
  e2eP90Ms: number;
  tpotP90Ms: number;
  outputTokensPerSec: number;
  /** Output tokens/s the offered requests ask for (QPS × mean max_tokens). */
  offeredTokensPerSec: number;
  prefixHitRate: number;
  dispatchLagP99Ms: number;
  dispatchLagMaxMs: number;
  perPodMin: number;
  perPodMax: number;
  cpuBusy: number;
  cpuCores: Record<string, number>;
  errors: Record<string, number>;
}

export interface RoutingReport {
  bench: 'routing';
  command: string;
  date: string;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; os: string; envoy?: string };
  settings: Record<string, unknown>;
  entries: PointEntry[];
  /** Goal checks computed from the entries (goals.ts). */
  summary?: GoalSummary;
}

interface ChartSpec {
  metric: string;
  title: string;
  unit: string;
  log: boolean;
}

export const CHARTS: readonly ChartSpec[] = [
  { metric: 'ttftP90', title: 'TTFT p90', unit: 'ms', log: true },
  { metric: 'e2eP90', title: 'End-to-end latency p90', unit: 'ms', log: true },
  { metric: 'tokensPerSec', title: 'Output tokens/s', unit: 'tokens/s', log: false },
  { metric: 'tpotP90', title: 'Time per output token p90', unit: 'ms', log: false },
];

/** [workload, metric] pairs in page order: one chart each. */
export function chartIds(report: RoutingReport): string[] {
  const workloads = [...new Set(report.entries.map((e) => e.workload))];
  return workloads.flatMap((w) => CHARTS.map((c) => `${w}:${c.metric}`));
}

export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** JSON safe inside a <script> element. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

export function renderJson(report: RoutingReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}

export function renderHtml(report: RoutingReport): string {
  const workloads = [...new Set(report.entries.map((e) => e.workload))];
  const sections = workloads
    .map(
      (w) =>
        `<section><h2>${esc(w)}</h2><div class="charts">${CHARTS.map(
          (c) =>
            `<figure><figcaption>${esc(c.title)} (${esc(c.unit)}${c.log ? ', log scale' : ''})</figcaption>` +
            `<svg class="chart" id="${esc(`${w}:${c.metric}`)}" data-workload="${esc(w)}" data-metric="${c.metric}"` +
            ` viewBox="0 0 480 300" width="480" height="300" role="img" aria-label="${esc(`${w} ${c.title}`)}"></svg></figure>`,
        ).join('')}</div>${table(report, w)}</section>`,
    )
    .join('\n');
  const m = report.machine;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>infergate routing benchmark</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}
.charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0}figcaption{font-weight:600;margin-bottom:4px}
svg.chart{border:1px solid #ddd;background:#fff}table{border-collapse:collapse;margin:12px 0 24px;font-size:12px}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}th{background:#f4f4f4}code{font-size:12px}
.note{color:#555;max-width:1000px}
</style></head>
<body>
<h1>Routing quality: infergate vs round robin</h1>
<p class="note">Simulated model servers (infergate sim: per-pod KV-block LRU prefix cache, per-token prefill), not GPU
results. Real Envoy, open-loop Poisson load. ${esc(report.date)} · ${m.cpus} × ${esc(m.cpuModel)} · ${m.memoryGb} GB ·
Node ${esc(m.node)}${m.envoy ? ` · Envoy ${esc(m.envoy)}` : ''}.<br>Command: <code>${esc(report.command)}</code></p>
${goals(report.summary)}
${sections}
<script type="application/json" id="report-data">${scriptJson(report)}</script>
<script>${CHART_SCRIPT}</script>
</body></html>
`;
}

function goals(summary: GoalSummary | undefined): string {
  if (!summary) return '';
  const items = summary.goals
    .map((g) => `<li><b>${g.pass ? 'met' : 'missed'}</b> — ${esc(g.name)}: ${esc(g.detail)}</li>`)
    .join('');
  const sat = Object.entries(summary.saturationQps)
    .map(
      ([w, by]) =>
        `${esc(w)}: ${Object.entries(by)
          .map(([s, q]) => `${esc(s)} ${q ?? '–'}`)
          .join(', ')}`,
    )
    .join('; ');
  return `<h2>Goals</h2><p class="note">Saturation QPS (highest offered rate with ≥ 99% success and ≥ 90% of the offered tokens/s): ${sat}.</p><ul>${items}</ul>`;
}

function table(report: RoutingReport, workload: string): string {
  const rows = report.entries
    .filter((e) => e.workload === workload)
    .map(
      (e) =>
        `<tr><td style="text-align:left">${esc(e.strategy)}</td><td>${e.qps}</td><td>${e.achievedQps}</td>` +
        `<td>${e.ttftMs.p50}</td><td>${e.ttftMs.p90}</td><td>${e.ttftMs.p99}</td><td>${e.e2eP90Ms}</td>` +
        `<td>${e.tpotP90Ms}</td><td>${e.outputTokensPerSec}</td><td>${(e.successRate * 100).toFixed(1)}%</td>` +
        `<td>${Number.isFinite(e.prefixHitRate) ? (e.prefixHitRate * 100).toFixed(0) + '%' : '–'}</td>` +
        `<td>${(e.cpuBusy * 100).toFixed(0)}%</td></tr>`,
    )
    .join('');
  return (
    '<table><tr><th>strategy</th><th>QPS</th><th>achieved</th><th>TTFT p50</th><th>p90</th><th>p99</th>' +
    '<th>e2e p90</th><th>TPOT p90</th><th>tok/s</th><th>success</th><th>prefix hits</th><th>CPU</th></tr>' +
    `${rows}</table>`
  );
}

// Draws every svg.chart from the embedded report; sets data-drawn on <body> when done (the Chromium test reads it).
const CHART_SCRIPT = `
(function () {
  var report = JSON.parse(document.getElementById('report-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  var COLORS = { 'round-robin': '#d62728', 'infergate': '#1f77b4', 'infergate-no-prefix': '#2ca02c', 'infergate-burst-safe': '#9467bd' };
  var EXTRA = ['#9467bd', '#ff7f0e', '#8c564b'];
  var pick = {
    ttftP90: function (e) { return e.ttftMs && e.ttftMs.p90; },
    e2eP90: function (e) { return e.e2eP90Ms; },
    tokensPerSec: function (e) { return e.outputTokensPerSec; },
    tpotP90: function (e) { return e.tpotP90Ms; }
  };
  var LOG = { ttftP90: true, e2eP90: true };
  function el(name, attrs, parent, text) {
    var n = document.createElementNS(NS, name);
    for (var k in attrs) n.setAttribute(k, attrs[k]);
    if (text !== undefined) n.textContent = text;
    parent.appendChild(n);
    return n;
  }
  function fmt(v) {
    if (v >= 10000) return (v / 1000).toFixed(0) + 'k';
    if (v >= 1000) return (v / 1000).toFixed(1) + 'k';
    if (v >= 10) return v.toFixed(0);
    return String(Math.round(v * 100) / 100);
  }
  function ticks(lo, hi, log) {
    var out = [];
    if (log) {
      for (var p = Math.floor(Math.log10(lo)); p <= Math.ceil(Math.log10(hi)); p++)
        [1, 2, 5].forEach(function (m) { out.push(m * Math.pow(10, p)); });
      return out;
    }
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) || 1)));
    if ((hi - lo) / step < 4) step /= 2;
    for (var t = Math.floor(lo / step) * step; t <= hi + 1e-9; t += step) out.push(t);
    return out;
  }
  var strategies = [];
  report.entries.forEach(function (e) { if (strategies.indexOf(e.strategy) < 0) strategies.push(e.strategy); });
  var drawn = 0;
  document.querySelectorAll('svg.chart').forEach(function (svg) {
    var workload = svg.getAttribute('data-workload');
    var metric = svg.getAttribute('data-metric');
    var log = !!LOG[metric];
    var W = 480, H = 300, L = 56, R = 12, T = 12, B = 62;
    var series = strategies.map(function (s) {
      var pts = report.entries.filter(function (e) { return e.workload === workload && e.strategy === s; })
        .map(function (e) { return [e.qps, pick[metric](e)]; })
        .filter(function (p) { return typeof p[1] === 'number' && isFinite(p[1]) && (!log || p[1] > 0); })
        .sort(function (a, b) { return a[0] - b[0]; });
      return { name: s, pts: pts };
    }).filter(function (s) { return s.pts.length > 0; });
    var xs = [], ys = [];
    series.forEach(function (s) { s.pts.forEach(function (p) { xs.push(p[0]); ys.push(p[1]); }); });
    if (!xs.length) { el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, svg, 'no data'); return; }
    var x0 = 0, x1 = Math.max.apply(null, xs) * 1.05;
    var y0 = log ? Math.pow(10, Math.floor(Math.log10(Math.min.apply(null, ys)))) : 0;
    var y1 = log ? Math.pow(10, Math.ceil(Math.log10(Math.max.apply(null, ys)))) : Math.max.apply(null, ys) * 1.1;
    if (y1 <= y0) y1 = y0 * 10 || 1;
    function X(v) { return L + (v - x0) / (x1 - x0) * (W - L - R); }
    function Y(v) {
      var f = log ? (Math.log10(v) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0)) : (v - y0) / (y1 - y0);
      return H - B - f * (H - T - B);
    }
    var axes = el('g', { class: 'axes', stroke: '#999', 'font-size': 10 }, svg);
    ticks(y0, y1, log).forEach(function (t) {
      if (t < y0 || t > y1) return;
      el('line', { x1: L, x2: W - R, y1: Y(t), y2: Y(t), stroke: '#eee' }, axes);
      el('text', { x: L - 4, y: Y(t) + 3, 'text-anchor': 'end', stroke: 'none', fill: '#444' }, axes, fmt(t));
    });
    ticks(x0, x1, false).forEach(function (t) {
      if (t > x1) return;
      el('line', { x1: X(t), x2: X(t), y1: H - B, y2: H - B + 4 }, axes);
      el('text', { x: X(t), y: H - B + 15, 'text-anchor': 'middle', stroke: 'none', fill: '#444' }, axes, fmt(t));
    });
    el('line', { x1: L, x2: W - R, y1: H - B, y2: H - B }, axes);
    el('line', { x1: L, x2: L, y1: T, y2: H - B }, axes);
    el('text', { x: (L + W - R) / 2, y: H - B + 30, 'text-anchor': 'middle', stroke: 'none', fill: '#444' }, axes,
      'offered load (QPS)');
    series.forEach(function (s, i) {
      var color = COLORS[s.name] || EXTRA[i % EXTRA.length];
      var d = s.pts.map(function (p, j) { return (j ? 'L' : 'M') + X(p[0]).toFixed(1) + ',' + Y(p[1]).toFixed(1); });
      var g = el('g', { class: 'series', 'data-series': s.name, 'data-points': s.pts.length }, svg);
      el('path', { d: d.join(' '), fill: 'none', stroke: color, 'stroke-width': 2 }, g);
      s.pts.forEach(function (p) {
        el('circle', { cx: X(p[0]).toFixed(1), cy: Y(p[1]).toFixed(1), r: 3, fill: color }, g)
          .appendChild(document.createElementNS(NS, 'title')).textContent = s.name + ' @ ' + p[0] + ' QPS: ' + fmt(p[1]);
      });
      var lx = L + i * 140, ly = H - 12;
      el('line', { x1: lx, x2: lx + 16, y1: ly - 4, y2: ly - 4, stroke: color, 'stroke-width': 2 }, svg);
      el('text', { x: lx + 20, y: ly, 'font-size': 11, fill: '#222' }, svg, s.name);
    });
    svg.setAttribute('data-series-count', String(series.length));
    drawn++;
  });
  document.body.setAttribute('data-drawn', String(drawn));
})();
`;

/** One line of a static chart: points [x, y], drawn in order of x. */
export interface LineSeries {
  name: string;
  points: [number, number][];
}

export interface LineChartSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** Logarithmic y axis. */
  log?: boolean;
}

const LINE_COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

/**
 * A self-contained inline SVG line chart, drawn here (no script): for benches whose x axis is not offered QPS or
 * whose metrics are not CHARTS'. Non-finite points are left out.
 */
export function lineChartSvg(spec: LineChartSpec): string {
  const W = 480;
  const H = 300;
  const [L, R, T, B] = [56, 12, 12, 62];
  const series = spec.series
    .map((s) => ({
      name: s.name,
      pts: s.points
        .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!spec.log || y > 0))
        .sort((a, b) => a[0] - b[0]),
    }))
    .filter((s) => s.pts.length > 0);
  const head = `<svg class="chart" id="${esc(spec.id)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(spec.title)}">`;
  if (series.length === 0)
    return `${head}<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text></svg>`;
  const xs = series.flatMap((s) => s.pts.map((p) => p[0]));
  const ys = series.flatMap((s) => s.pts.map((p) => p[1]));
  const x0 = Math.min(0, ...xs);
  const x1 = Math.max(...xs) * 1.05 || 1;
  const y0 = spec.log ? 10 ** Math.floor(Math.log10(Math.min(...ys))) : 0;
  let y1 = spec.log ? 10 ** Math.ceil(Math.log10(Math.max(...ys))) : Math.max(...ys) * 1.1;
  if (!(y1 > y0)) y1 = y0 * 10 || 1;
  const X = (v: number) => L + ((v - x0) / (x1 - x0)) * (W - L - R);
  const Y = (v: number) => {
    const f = spec.log
      ? (Math.log10(v) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0))
      : (v - y0) / (y1 - y0);
    return H - B - f * (H - T - B);
  };
  const fmt = (v: number) =>
    v >= 10000
      ? `${(v / 1000).toFixed(0)}k`
      : v >= 1000
        ? `${(v / 1000).toFixed(1)}k`
        : String(Math.round(v * 100) / 100);
  const ticks = (lo: number, hi: number, log: boolean) => {
    const out: number[] = [];
    if (log) {
      for (let p = Math.floor(Math.log10(lo)); p <= Math.ceil(Math.log10(hi)); p++)
        for (const m of [1, 2, 5]) out.push(m * 10 ** p);
      return out.filter((t) => t >= lo && t <= hi);
    }
    let step = 10 ** Math.floor(Math.log10(hi - lo || 1));
    if ((hi - lo) / step < 4) step /= 2;
    for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9; t += step) out.push(t);
    return out;
  };
  const parts: string[] = [head, '<g class="axes" stroke="#999" font-size="10">'];
  for (const t of ticks(y0, y1, !!spec.log)) {
    parts.push(
      `<line x1="${L}" x2="${W - R}" y1="${Y(t).toFixed(1)}" y2="${Y(t).toFixed(1)}" stroke="#eee"/>`,
      `<text x="${L - 4}" y="${(Y(t) + 3).toFixed(1)}" text-anchor="end" stroke="none" fill="#444">${fmt(t)}</text>`,
    );
  }
  for (const t of ticks(x0, x1, false)) {
    parts.push(
      `<line x1="${X(t).toFixed(1)}" x2="${X(t).toFixed(1)}" y1="${H - B}" y2="${H - B + 4}"/>`,
      `<text x="${X(t).toFixed(1)}" y="${H - B + 15}" text-anchor="middle" stroke="none" fill="#444">${fmt(t)}</text>`,
    );
  }
  parts.push(
    `<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/><line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - B + 30}" text-anchor="middle" stroke="none" fill="#444">${esc(spec.xLabel)}</text>`,
    `<text x="12" y="${T + 4}" stroke="none" fill="#444">${esc(spec.yLabel)}</text></g>`,
  );
  series.forEach((s, i) => {
    const color = LINE_COLORS[i % LINE_COLORS.length];
    const d = s.pts.map((p, j) => `${j ? 'L' : 'M'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ');
    parts.push(
      `<g class="series" data-series="${esc(s.name)}" data-points="${s.pts.length}">`,
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`,
      ...s.pts.map(
        (p) =>
          `<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="3" fill="${color}"><title>${esc(s.name)} @ ${p[0]}: ${fmt(p[1])}</title></circle>`,
      ),
      '</g>',
    );
    const lx = L + i * 150;
    parts.push(
      `<line x1="${lx}" x2="${lx + 16}" y1="${H - 16}" y2="${H - 16}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${lx + 20}" y="${H - 12}" font-size="11" fill="#222">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}
