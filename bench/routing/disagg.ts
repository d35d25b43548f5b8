// bench/routing/disagg: prefill/decode disaggregation vs aggregated serving through a real Envoy and `infergate epp`.
// Long prompts (4–16k tokens, each unique from its first block) on 8 simulators: all aggregated (default profile)
// vs 4 prefill + 4 decode (pd-profile-handler, always-disagg decider), TTFT p90 and inter-token latency p90 at
// rising QPS; then the prefix-based decider's nonCachedTokens threshold at one QPS. The simulators model the
// interference that disaggregation removes (--prefill-chunk-tokens: a decode step also computes a prefill chunk
// while prompts prefill on the same server; src/sim/README.md). Writes bench/results/disagg.json and disagg.html.
// Run: node dist/bench/routing/disagg.js [--quick] [--qps 2,4,6] [--thresholds 2048,8192] [--threshold-qps 4]

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../../src/util/envoy';
import type { RequestResult } from './client';
import { MODEL, startFleet, tmpLogDir } from './fleet';
import { runStep } from './loadgen';
import { lineChartSvg } from './report';
import { envoyVersion, machineInfo } from './run';
import { percentile, round } from './stats';
import { drawLogNormal, poissonTimes, prng, seedOf, text, type BenchRequest } from './workload';

/**
 * The simulated GPU for long prompts: 8B-class prefill at 0.05 ms/token (~20k tokens/s), 20 ms per decode step,
 * chunked prefill of 2,048 tokens per step (a step carrying a chunk takes +102 ms), KV for 10,000 × 16 tokens, KV
 * transfer 0.005 ms/token (the simulator's default: 128 KiB/token at ~25 GB/s).
 */
export const DISAGG_SIM_ARGS = [
  '--max-num-seqs',
  '16',
  '--kv-blocks',
  '10000',
  '--block-size',
  '16',
  '--ttft-overhead-ms',
  '30',
  '--prefill-ms-per-token',
  '0.05',
  '--inter-token-ms',
  '20',
  '--itl-batch-slope',
  '0.02',
  '--prefill-chunk-tokens',
  '2048',
  '--kv-transfer-ms-per-token',
  '0.005',
];

const SIM_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.3.${i + 1}`);
const PD_ROLES = SIM_ADDRESSES.map((_, i) => (i < 4 ? 'prefill' : 'decode') as 'prefill' | 'decode');

export const PROMPT_TOKENS = { min: 4096, max: 16384 };
export const OUTPUT_TOKENS = { median: 64, sigma: 0.5, min: 16, max: 256 };

/** P/D config: decode profile (decode pods, prefix affinity, queue) first; prefill profile when the decider says. */
export function pdConfig(nonCachedTokens: number | 'always'): string {
  const decider =
    nonCachedTokens === 'always'
      ? '- name: decider\n  type: always-disagg-pd-decider'
      : `- name: decider\n  type: prefix-based-pd-decider\n  parameters: {nonCachedTokens: ${nonCachedTokens}}`;
  return `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: prefill-filter
- type: decode-filter
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
${decider}
- type: pd-profile-handler
  parameters: {deciderPluginName: decider}
schedulingProfiles:
- name: prefill
  plugins: [{pluginRef: prefill-filter}, {pluginRef: queue-scorer, weight: 2}, {pluginRef: kv-cache-utilization-scorer, weight: 2}]
- name: decode
  plugins: [{pluginRef: decode-filter}, {pluginRef: queue-scorer, weight: 2}, {pluginRef: kv-cache-utilization-scorer, weight: 2}, {pluginRef: prefix-cache-scorer, weight: 3}]
`;
}

/** Long prompts, unique from the first block (little sharing), Poisson arrivals over the windows. Pure. */
export function longPromptStep(seed: number, qps: number, windowsMs: number[], step: string): BenchRequest[] {
  const rand = prng(seedOf(seed, 'disagg', qps, step));
  const times: number[] = [];
  let offset = 0;
  for (const w of windowsMs) {
    for (const t of poissonTimes(qps, w, rand)) times.push(offset + t);
    offset += w;
  }
  return times.map((atMs, n) => {
    const tokens = PROMPT_TOKENS.min + Math.floor(rand() * (PROMPT_TOKENS.max - PROMPT_TOKENS.min + 1));
    return {
      atMs,
      prompt: text(tokens, 4, rand, `Document ${step}-${qps}-${n}: `),
      maxTokens: drawLogNormal(OUTPUT_TOKENS, rand),
      group: -1,
    };
  });
}

export interface DisaggPoint {
  section: 'qps' | 'threshold';
  mode: string;
  qps: number;
  /** prefix-based decider threshold (nonCachedTokens); undefined = always / aggregated. */
  threshold?: number;
  requests: number;
  successRate: number;
  ttftMs: { p50: number; p90: number; p99: number };
  /** Gaps between token chunks at the client, over every measured request. */
  itlMs: { p50: number; p90: number; p99: number };
  tpotP90Ms: number;
  e2eP90Ms: number;
  outputTokensPerSec: number;
  /** Share of measured requests a prefill pod prefilled (x-infergate-prefilled-by). */
  disaggregatedShare: number;
  /** Remote prefills that failed over the step (decode simulators' counter). */
  fallbacks: number;
  cpuBusy: number;
  cpuCores: Record<string, number>;
}

const pct = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return { p50: round(percentile(s, 50)), p90: round(percentile(s, 90)), p99: round(percentile(s, 99)) };
};

/** Per-point figures from the measured requests. Pure. */
export function itlSummary(raw: RequestResult[]): {
  itlMs: DisaggPoint['itlMs'];
  disaggregatedShare: number;
} {
  const ok = raw.filter((r) => r.ok);
  return {
    itlMs: pct(ok.flatMap((r) => r.tokenGapsMs ?? [])),
    disaggregatedShare: round(ok.length ? ok.filter((r) => r.prefilledBy).length / ok.length : 0, 3),
  };
}

interface Settings {
  quick: boolean;
  qps: number[];
  thresholds: number[];
  thresholdQps: number;
  warmupS: number;
  measureS: number;
  timeoutS: number;
  seed: number;
  out: string;
}

function settings(args: string[]): Settings {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      qps: { type: 'string' },
      thresholds: { type: 'string' },
      'threshold-qps': { type: 'string' },
      'warmup-s': { type: 'string' },
      'measure-s': { type: 'string' },
      'timeout-s': { type: 'string' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string', default: path.join(projectRoot(), 'bench', 'results') },
    },
  });
  const q = values.quick;
  const nums = (v: string | undefined, def: number[]) =>
    v ? v.split(',').map((x) => Number(x.trim())) : def;
  const s: Settings = {
    quick: q,
    qps: nums(values.qps, q ? [2, 5] : [2, 4, 6, 8]),
    thresholds: nums(values.thresholds, q ? [8192] : [2048, 8192, 16384]),
    thresholdQps: Number(values['threshold-qps'] ?? (q ? 4 : 6)),
    warmupS: Number(values['warmup-s'] ?? (q ? 2 : 4)),
    measureS: Number(values['measure-s'] ?? (q ? 6 : 12)),
    timeoutS: Number(values['timeout-s'] ?? (q ? 20 : 30)),
    seed: Number(values.seed),
    out: values.out,
  };
  for (const [k, v] of Object.entries(s))
    if (typeof v === 'number' && !(v >= 0)) throw new Error(`--${k}: not a number ≥ 0`);
  if ([...s.qps, ...s.thresholds].some((v) => !(v >= 0))) throw new Error('--qps/--thresholds: numbers ≥ 0');
  return s;
}

async function decodeFallbacks(urls: string[]): Promise<number> {
  let n = 0;
  for (const u of urls) {
    const text = await (await fetch(`${u}/metrics`)).text();
    const m = /^infergate_sim_remote_prefill_fallbacks_total\{[^}]*\} ([0-9.e+]+)$/m.exec(text);
    n += m ? Number(m[1]) : 0;
  }
  return n;
}

async function runCurve(
  s: Settings,
  logDir: string,
  mode: string,
  section: DisaggPoint['section'],
  ladder: number[],
  pd: { threshold: number | 'always' } | undefined,
): Promise<DisaggPoint[]> {
  const fleet = await startFleet({
    strategy: 'infergate',
    simAddresses: SIM_ADDRESSES,
    simArgs: DISAGG_SIM_ARGS,
    logDir,
    ...(pd ? { simRoles: PD_ROLES, eppConfig: pdConfig(pd.threshold) } : {}),
  });
  const out: DisaggPoint[] = [];
  try {
    for (const [i, qps] of ladder.entries()) {
      const warmupMs = s.warmupS * 1000;
      const measureMs = s.measureS * 1000;
      const before = await decodeFallbacks(fleet.simUrls);
      const r = await runStep({
        url: fleet.url,
        model: MODEL,
        requests: longPromptStep(s.seed, qps, [warmupMs, measureMs], `${section}-${i}`),
        warmupMs,
        measureMs,
        timeoutMs: s.timeoutS * 1000,
        simUrls: fleet.simUrls,
        processes: fleet.processes,
      });
      const fallbacks = (await decodeFallbacks(fleet.simUrls)) - before;
      const { itlMs, disaggregatedShare } = itlSummary(r.raw);
      fs.writeFileSync(
        path.join(logDir, `raw-disagg-${section}-${mode.replace(/[^A-Za-z0-9]+/g, '_')}-${qps}.json`),
        JSON.stringify(r.raw),
      );
      const p: DisaggPoint = {
        section,
        mode,
        qps,
        ...(pd && pd.threshold !== 'always' ? { threshold: pd.threshold } : {}),
        requests: r.requests,
        successRate: r.successRate,
        ttftMs: r.ttftMs,
        itlMs,
        tpotP90Ms: r.tpotP90Ms,
        e2eP90Ms: r.e2eP90Ms,
        outputTokensPerSec: r.outputTokensPerSec,
        disaggregatedShare,
        fallbacks,
        cpuBusy: r.cpuBusy,
        cpuCores: r.cpuCores,
      };
      out.push(p);
      console.log(
        `${section.padEnd(9)} ${mode.padEnd(22)} ${String(qps).padStart(3)} QPS: TTFT p50/p90 ${r.ttftMs.p50}/${r.ttftMs.p90} ms, ` +
          `ITL p50/p90/p99 ${itlMs.p50}/${itlMs.p90}/${itlMs.p99} ms, TPOT p90 ${r.tpotP90Ms} ms, ` +
          `${r.outputTokensPerSec} tok/s, ok ${(r.successRate * 100).toFixed(1)}% of ${r.requests}, ` +
          `disaggregated ${(disaggregatedShare * 100).toFixed(0)}%, fallbacks ${fallbacks}, CPU ${(r.cpuBusy * 100).toFixed(0)}%`,
      );
      if (r.successRate < 0.5) break;
    }
  } finally {
    await fleet.stop();
  }
  return out;
}

export interface DisaggReport {
  bench: 'disagg';
  command: string;
  date: string;
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  points: DisaggPoint[];
}

const esc = (v: string) => v.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page: QPS curves (TTFT p90, ITL p90) and the threshold sweep, static SVG, a table of every point. Pure. */
export function renderDisaggHtml(report: DisaggReport): string {
  const curve = report.points.filter((p) => p.section === 'qps');
  const sweep = report.points.filter((p) => p.section === 'threshold');
  const modes = [...new Set(curve.map((p) => p.mode))];
  const byMode = (metric: (p: DisaggPoint) => number) =>
    modes.map((m) => ({
      name: m,
      points: curve.filter((p) => p.mode === m).map((p) => [p.qps, metric(p)] as [number, number]),
    }));
  const sweepSeries = (metric: (p: DisaggPoint) => number, name: string) => [
    { name, points: sweep.map((p) => [p.threshold ?? 0, metric(p)] as [number, number]) },
  ];
  const charts = [
    lineChartSvg({
      id: 'qps:ttftP90',
      title: 'TTFT p90',
      xLabel: 'offered load (QPS)',
      yLabel: 'TTFT p90 (ms)',
      series: byMode((p) => p.ttftMs.p90),
    }),
    lineChartSvg({
      id: 'qps:itlP90',
      title: 'Inter-token latency p90',
      xLabel: 'offered load (QPS)',
      yLabel: 'ITL p90 (ms)',
      series: byMode((p) => p.itlMs.p90),
    }),
    lineChartSvg({
      id: 'threshold:ttftP90',
      title: 'Threshold: TTFT p90',
      xLabel: 'nonCachedTokens',
      yLabel: 'ms',
      series: [
        ...sweepSeries((p) => p.ttftMs.p90, 'TTFT p90'),
        ...sweepSeries((p) => p.itlMs.p90, 'ITL p90'),
      ],
      log: true,
    }),
    lineChartSvg({
      id: 'threshold:share',
      title: 'Threshold: share disaggregated',
      xLabel: 'nonCachedTokens',
      yLabel: '% prefilled remotely',
      series: sweepSeries((p) => p.disaggregatedShare * 100, 'disaggregated %'),
    }),
  ];
  const rows = report.points
    .map(
      (p) =>
        `<tr><td style="text-align:left">${esc(p.section)}</td><td style="text-align:left">${esc(p.mode)}</td>` +
        `<td>${p.qps}</td><td>${p.threshold ?? '–'}</td><td>${p.ttftMs.p50}</td><td>${p.ttftMs.p90}</td>` +
        `<td>${p.itlMs.p50}</td><td>${p.itlMs.p90}</td><td>${p.itlMs.p99}</td><td>${p.tpotP90Ms}</td>` +
        `<td>${p.e2eP90Ms}</td><td>${p.outputTokensPerSec}</td><td>${(p.disaggregatedShare * 100).toFixed(0)}%</td>` +
        `<td>${(p.successRate * 100).toFixed(1)}%</td><td>${p.requests}</td><td>${(p.cpuBusy * 100).toFixed(0)}%</td></tr>`,
    )
    .join('');
  const m = report.machine;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>infergate P/D disaggregation benchmark</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}
.charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0}figcaption{font-weight:600;margin-bottom:4px}
svg.chart{border:1px solid #ddd;background:#fff}table{border-collapse:collapse;margin:12px 0 24px;font-size:12px}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}th{background:#f4f4f4}code{font-size:12px}
.note{color:#555;max-width:1000px}
</style></head>
<body>
<h1>Prefill/decode disaggregation: 4 prefill + 4 decode vs 8 aggregated</h1>
<p class="note">Simulated model servers (infergate sim with chunked-prefill interference and a KV-transfer cost), not GPU
results. Real Envoy and infergate epp, open-loop Poisson load, prompts of ${PROMPT_TOKENS.min}–${PROMPT_TOKENS.max}
tokens unique per request. ${esc(report.date)} · ${esc(String(m.cpus))} × ${esc(String(m.cpuModel))} ·
Node ${esc(String(m.node))}${m.envoy ? ` · Envoy ${esc(String(m.envoy))}` : ''}.<br>Command:
<code>${esc(report.command)}</code></p>
<div class="charts">${charts.map((c) => `<figure>${c}</figure>`).join('')}</div>
<table><tr><th>section</th><th>mode</th><th>QPS</th><th>threshold</th><th>TTFT p50</th><th>TTFT p90</th>
<th>ITL p50</th><th>ITL p90</th><th>ITL p99</th><th>TPOT p90</th><th>e2e p90</th><th>tok/s</th><th>disagg.</th>
<th>success</th><th>requests</th><th>CPU</th></tr>${rows}</table>
</body></html>
`;
}

export async function main(args: string[]): Promise<void> {
  const s = settings(args);
  const started = Date.now();
  const logDir = tmpLogDir();
  console.log(
    `disagg bench: QPS ${s.qps.join('/')} (aggregated vs P/D 4+4), thresholds ${s.thresholds.join('/')} at ${s.thresholdQps} QPS; ` +
      `warm-up ${s.warmupS} s, measure ${s.measureS} s; logs in ${logDir}`,
  );
  const points: DisaggPoint[] = [
    ...(await runCurve(s, logDir, 'aggregated (8)', 'qps', s.qps, undefined)),
    ...(await runCurve(s, logDir, 'P/D 4+4 always', 'qps', s.qps, { threshold: 'always' })),
  ];
  for (const t of s.thresholds) {
    points.push(
      ...(await runCurve(s, logDir, `P/D 4+4 ≥${t}`, 'threshold', [s.thresholdQps], { threshold: t })),
    );
  }
  const report: DisaggReport = {
    bench: 'disagg',
    command: `${invokedAs}${args.length ? ' ' + args.join(' ') : ''}`,
    date: new Date().toISOString(),
    machine: machineInfo(envoyVersion()),
    settings: {
      ...s,
      out: undefined,
      simulators: SIM_ADDRESSES.length,
      pdRoles: PD_ROLES.join(','),
      simArgs: DISAGG_SIM_ARGS.join(' '),
      promptTokens: PROMPT_TOKENS,
      outputTokens: OUTPUT_TOKENS,
      pdConfig: pdConfig('always'),
      durationS: Math.round((Date.now() - started) / 1000),
    },
    points,
  };
  fs.mkdirSync(s.out, { recursive: true });
  fs.writeFileSync(path.join(s.out, 'disagg.json'), JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(path.join(s.out, 'disagg.html'), renderDisaggHtml(report));
  console.log(
    `wrote ${path.join(s.out, 'disagg.json')} and disagg.html in ${Math.round((Date.now() - started) / 1000)} s`,
  );
}

let invokedAs = 'node dist/bench/routing/disagg.js';

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
