// token-load-scorer: prefers endpoints with fewer estimated tokens in flight from this EPP,
// 1 − min(tokens, queueThresholdTokens)/queueThresholdTokens (reference EPP / llm-d token-load-scorer).

import type { PluginRegistration } from '../../scheduling/registry';
import type { Scorer } from '../../scheduling/types';
import { InFlightLoadReader } from '../inflight-load-producer';

/** "128 requests @ 32K per request", the upstream default. */
export const DEFAULT_QUEUE_THRESHOLD_TOKENS = 4_194_304;

/** 1 − min(tokens, threshold)/threshold: 1.0 with nothing in flight, 0 at or past the threshold. */
export function tokenLoadScore(tokens: number, threshold: number): number {
  if (tokens <= 0) return 1;
  return 1 - Math.min(tokens, threshold) / threshold;
}

export class TokenLoadScorer extends InFlightLoadReader implements Scorer {
  readonly type = 'token-load-scorer';
  readonly category = 'Distribution' as const;

  constructor(
    readonly name: string,
    readonly queueThresholdTokens: number,
    inFlightLoadProducerName?: string,
  ) {
    super(inFlightLoadProducerName);
  }

  score: Scorer['score'] = (_req, endpoints, out) => {
    for (let i = 0; i < endpoints.length; i++) {
      const tokens = this.source?.load(endpoints[i].endpoint.key).tokens ?? 0;
      out[i] = tokenLoadScore(tokens, this.queueThresholdTokens);
    }
  };
}

export const tokenLoadScorer: PluginRegistration = {
  type: 'token-load-scorer',
  description:
    'Scores 1 − min(inflightTokens, queueThresholdTokens)/queueThresholdTokens (inflight-load-producer).',
  factory: (name, params) => {
    const threshold = params.number('queueThresholdTokens', DEFAULT_QUEUE_THRESHOLD_TOKENS, {
      min: 1,
      integer: true,
    });
    const producer = params.string('inFlightLoadProducerName', '');
    params.finish();
    return new TokenLoadScorer(name, threshold, producer || undefined);
  },
};
