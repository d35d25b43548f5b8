// active-request-scorer: prefers endpoints with fewer requests in flight from this EPP (llm-d active-request-scorer
// over the inflight-load-producer): count ≤ idleThreshold → 1.0, else (maxCount − count)/maxCount × maxBusyScore.
// The EPP's own count moves with every decision, so a burst spreads before any scrape shows it.

import type { PluginRegistration } from '../../scheduling/registry';
import type { Scorer } from '../../scheduling/types';
import { logger } from '../../../util/log';
import { InFlightLoadReader } from '../inflight-load-producer';

const log = logger('epp.active-request-scorer');

export interface ActiveRequestParams {
  /** Endpoints with at most this many in-flight requests count as idle and score 1.0. */
  idleThreshold: number;
  /** The score of the least busy non-idle endpoint; the busiest scores 0. */
  maxBusyScore: number;
}

/** Scores from in-flight request counts, one per endpoint (pure). */
export function activeRequestScores(
  counts: readonly number[],
  p: ActiveRequestParams,
  out: Float64Array,
): void {
  let max = 0;
  for (const c of counts) if (c > max) max = c;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    out[i] = c <= p.idleThreshold ? 1 : ((max - c) / max) * p.maxBusyScore;
  }
}

export class ActiveRequestScorer extends InFlightLoadReader implements Scorer {
  readonly type = 'active-request-scorer';
  readonly category = 'Distribution' as const;
  private counts: number[] = [];

  constructor(
    readonly name: string,
    readonly params: ActiveRequestParams,
    inFlightLoadProducerName?: string,
  ) {
    super(inFlightLoadProducerName);
  }

  score: Scorer['score'] = (_req, endpoints, out) => {
    const counts = this.counts;
    counts.length = endpoints.length;
    for (let i = 0; i < endpoints.length; i++)
      counts[i] = this.source?.load(endpoints[i].endpoint.key).requests ?? 0;
    activeRequestScores(counts, this.params, out);
  };
}

export const activeRequestScorer: PluginRegistration = {
  type: 'active-request-scorer',
  description:
    'Scores in-flight requests (inflight-load-producer): ≤ idleThreshold → 1, else (max − n)/max × maxBusyScore.',
  factory: (name, params) => {
    const p: ActiveRequestParams = {
      idleThreshold: params.number('idleThreshold', 0, { min: 0, integer: true }),
      maxBusyScore: params.number('maxBusyScore', 1, { min: 0, max: 1 }),
    };
    const producer = params.string('inFlightLoadProducerName', '');
    // llm-d's earlier requestTimeout: accepted for compatibility, ignored (completion releases every request).
    if (params.durationMs('requestTimeout', 0) > 0)
      log.info('requestTimeout is deprecated and ignored: requests are released when they complete', {
        name,
      });
    params.finish();
    return new ActiveRequestScorer(name, p, producer || undefined);
  },
};
