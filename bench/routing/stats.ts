// Percentiles and the per-point summary of one load step. Pure.

import type { RequestResult } from './client';

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
}

/** Nearest-rank percentile of an ascending-sorted array; NaN when empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(rank - 1, 0), sorted.length - 1)];
}

export function percentiles(values: number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  return { p50: round(percentile(s, 50)), p90: round(percentile(s, 90)), p99: round(percentile(s, 99)) };
}

export function round(x: number, digits = 1): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export interface LatencySummary {
  requests: number;
  succeeded: number;
  successRate: number;
  ttftMs: Percentiles;
  e2eP90Ms: number;
  tpotP90Ms: number;
  /** Scheduled → actual send, p99 and max: the load generator keeping its schedule. */
  dispatchLagP99Ms: number;
  dispatchLagMaxMs: number;
  /** Requests per simulator, min and max over the fleet (how evenly the strategy spread them). */
  perPodMin: number;
  perPodMax: number;
  errors: Record<string, number>;
}

/** Latency figures over the measured requests; latencies only from those that completed. */
export function summarize(results: RequestResult[], pods: number): LatencySummary {
  const ok = results.filter((r) => r.ok);
  const lag = results.map((r) => r.sentMs - r.scheduledMs).sort((a, b) => a - b);
  const tpot = ok
    .filter((r) => r.outputTokens > 1 && r.e2eMs !== undefined && r.ttftMs !== undefined)
    .map((r) => (r.e2eMs! - r.ttftMs!) / (r.outputTokens - 1));
  const perPod = new Map<string, number>();
  for (const r of results) if (r.servedBy) perPod.set(r.servedBy, (perPod.get(r.servedBy) ?? 0) + 1);
  const counts = [...perPod.values()];
  while (counts.length < pods) counts.push(0);
  const errors: Record<string, number> = {};
  for (const r of results) {
    if (r.ok) continue;
    const key = (r.error ?? 'unknown').replace(/\d+ ms/, 'N ms');
    errors[key] = (errors[key] ?? 0) + 1;
  }
  return {
    requests: results.length,
    succeeded: ok.length,
    successRate: round(results.length ? ok.length / results.length : 1, 4),
    ttftMs: percentiles(ok.map((r) => r.ttftMs!)),
    e2eP90Ms: percentiles(ok.map((r) => r.e2eMs!)).p90,
    tpotP90Ms: round(
      percentile(
        [...tpot].sort((a, b) => a - b),
        90,
      ),
      2,
    ),
    dispatchLagP99Ms: round(percentile(lag, 99), 2),
    dispatchLagMaxMs: round(lag[lag.length - 1] ?? NaN, 2),
    perPodMin: Math.min(...counts),
    perPodMax: Math.max(...counts),
    errors,
  };
}
