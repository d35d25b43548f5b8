// The goals, checked from the entries. Pure.
// A point is sustained when ≥ 99% of its requests succeed and the gateway delivers ≥ 90% of the offered output
// tokens/s; a strategy's saturation QPS is the highest offered rate sustained before the first point that is not.

import type { PointEntry } from './report';

export interface Comparison {
  workload: string;
  qps: number;
  /** qps / round robin's saturation QPS on that workload. */
  loadFraction: number;
  strategy: string;
  ttftP90Ms: number;
  roundRobinTtftP90Ms: number;
  ttftP90Ratio: number;
  outputTokensPerSec: number;
  roundRobinOutputTokensPerSec: number;
  tokensRatio: number;
  pass: boolean;
}

export interface GoalSummary {
  saturationQps: Record<string, Record<string, number | null>>;
  comparisons: Comparison[];
  goals: { name: string; pass: boolean; detail: string }[];
}

export function sustained(e: PointEntry): boolean {
  return e.successRate >= 0.99 && e.outputTokensPerSec >= 0.9 * e.offeredTokensPerSec;
}

export function saturationQps(entries: PointEntry[]): number | null {
  let best: number | null = null;
  for (const e of [...entries].sort((a, b) => a.qps - b.qps)) {
    if (!sustained(e)) break;
    best = e.qps;
  }
  return best;
}

export function checkGoals(entries: PointEntry[]): GoalSummary {
  const workloads = [...new Set(entries.map((e) => e.workload))];
  const strategies = [...new Set(entries.map((e) => e.strategy))];
  const saturation: GoalSummary['saturationQps'] = {};
  const comparisons: Comparison[] = [];
  for (const w of workloads) {
    saturation[w] = {};
    for (const s of strategies)
      saturation[w][s] = saturationQps(entries.filter((e) => e.workload === w && e.strategy === s));
    const rrSat = saturation[w]['round-robin'];
    if (!rrSat) continue;
    for (const rr of entries.filter((e) => e.workload === w && e.strategy === 'round-robin')) {
      if (rr.qps < 0.7 * rrSat) continue;
      for (const other of entries.filter(
        (e) => e.workload === w && e.qps === rr.qps && e.strategy !== 'round-robin',
      )) {
        const ttftP90Ratio = round3(other.ttftMs.p90 / rr.ttftMs.p90);
        const tokensRatio = round3(other.outputTokensPerSec / rr.outputTokensPerSec);
        const pass =
          w === 'shared-prefix' ? ttftP90Ratio <= 0.5 && tokensRatio >= 0.95 : ttftP90Ratio <= 1.05;
        comparisons.push({
          workload: w,
          qps: rr.qps,
          loadFraction: round3(rr.qps / rrSat),
          strategy: other.strategy,
          ttftP90Ms: other.ttftMs.p90,
          roundRobinTtftP90Ms: rr.ttftMs.p90,
          ttftP90Ratio,
          outputTokensPerSec: other.outputTokensPerSec,
          roundRobinOutputTokensPerSec: rr.outputTokensPerSec,
          tokensRatio,
          pass,
        });
      }
    }
  }
  const headline = (w: string) => comparisons.filter((c) => c.workload === w && c.strategy === 'infergate');
  const goal = (name: string, cs: Comparison[]) => ({
    name,
    pass: cs.length > 0 && cs.every((c) => c.pass),
    detail: cs.length
      ? cs.map((c) => `${c.qps} QPS: TTFT p90 ×${c.ttftP90Ratio}, tokens/s ×${c.tokensRatio}`).join('; ')
      : 'no comparable points (round robin never sustained a point)',
  });
  return {
    saturationQps: saturation,
    comparisons,
    goals: [
      goal(
        'shared-prefix: infergate TTFT p90 ≤ 0.5× and tokens/s ≥ 0.95× round robin',
        headline('shared-prefix'),
      ),
      goal('low-sharing: infergate TTFT p90 ≤ 1.05× round robin', headline('low-sharing')),
    ],
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
