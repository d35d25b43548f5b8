// Shared scoring arithmetic for the Distribution scorers.

import type { EndpointState, EndpointMetrics } from '../types';

/**
 * Min–max normalisation where less is better: (max − v)/(max − min) over the candidates; 1.0 for everyone when all
 * values are equal. Endpoints without metrics count as 0, as the reference EPP's zero-valued Metrics do. `extra`
 * adds a per-endpoint amount to the metric (e.g. placements not yet scraped).
 */
export function lessIsBetter(
  endpoints: readonly EndpointState[],
  value: (m: EndpointMetrics) => number,
  out: Float64Array,
  extra?: (e: EndpointState) => number,
): void {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < endpoints.length; i++) {
    const e = endpoints[i];
    const v = (e.metrics ? value(e.metrics) : 0) + (extra ? extra(e) : 0);
    out[i] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = max - min;
  for (let i = 0; i < endpoints.length; i++) out[i] = range > 0 ? (max - out[i]) / range : 1;
}
