// The utilization saturation detector (reference EPP utilization-detector): per endpoint max(q/Q, kv/KV), stale or
// missing metrics count as fully saturated, and the pool's saturation is the mean.

import type { EndpointMetrics, EndpointState } from '../types';

export interface UtilizationParams {
  queueDepthThreshold: number;
  kvCacheUtilThreshold: number;
  metricsStalenessThresholdMs: number;
  headroom: number;
}

export const DEFAULT_UTILIZATION: UtilizationParams = {
  queueDepthThreshold: 5,
  kvCacheUtilThreshold: 0.8,
  metricsStalenessThresholdMs: 200,
  headroom: 0,
};

const isFresh = (m: EndpointMetrics | undefined, now: number, p: UtilizationParams): m is EndpointMetrics =>
  m !== undefined && now - m.updateTime <= p.metricsStalenessThresholdMs;

export function endpointSaturation(
  m: EndpointMetrics | undefined,
  now: number,
  p: UtilizationParams,
): number {
  if (!isFresh(m, now, p)) return 1;
  return Math.max(m.waitingQueueSize / p.queueDepthThreshold, m.kvCacheUsagePercent / p.kvCacheUtilThreshold);
}

/** Mean saturation over the pool; an empty pool is saturated (1.0). */
export function poolSaturation(
  endpoints: readonly EndpointState[],
  now: number,
  p: UtilizationParams,
): number {
  if (endpoints.length === 0) return 1;
  let sum = 0;
  for (const e of endpoints) sum += endpointSaturation(e.metrics, now, p);
  return sum / endpoints.length;
}

/**
 * As a Filter: drops stale endpoints and those over queue·(1+headroom) or min(1, kv·(1+headroom)); returns every
 * endpoint when it would drop them all (fail open).
 */
export function filterUnsaturated(
  endpoints: EndpointState[],
  now: number,
  p: UtilizationParams,
): EndpointState[] {
  const qMax = p.queueDepthThreshold * (1 + p.headroom);
  const kvMax = Math.min(1, p.kvCacheUtilThreshold * (1 + p.headroom));
  const kept = endpoints.filter(
    (e) =>
      isFresh(e.metrics, now, p) &&
      e.metrics.waitingQueueSize <= qMax &&
      e.metrics.kvCacheUsagePercent <= kvMax,
  );
  return kept.length > 0 ? kept : endpoints;
}
