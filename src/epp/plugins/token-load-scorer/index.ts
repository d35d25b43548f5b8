// token-load-scorer: prefers endpoints with fewer estimated tokens in flight from this EPP,
// 1 − min(tokens, queueThresholdTokens)/queueThresholdTokens (reference EPP / llm-d token-load-scorer). With the
// infergate-only thresholdFromKvCapacity, an endpoint that reports its KV cache size (cache_config_info) is judged
// against that capacity in tokens instead.

import type { PluginRegistration } from '../../scheduling/registry';
import type { Scorer } from '../../scheduling/types';
import type { EndpointState } from '../../types';
import { InFlightLoadReader } from '../inflight-load-producer';

/** "128 requests @ 32K per request", the upstream default. */
export const DEFAULT_QUEUE_THRESHOLD_TOKENS = 4_194_304;

/** 1 − min(tokens, threshold)/threshold: 1.0 with nothing in flight, 0 at or past the threshold. */
export function tokenLoadScore(tokens: number, threshold: number): number {
  if (tokens <= 0) return 1;
  return 1 - Math.min(tokens, threshold) / threshold;
}

/** An endpoint's KV cache in tokens (num_gpu_blocks × block_size, from its last scrape), or undefined. */
export function kvCapacityTokens(e: EndpointState): number | undefined {
  const blocks = e.metrics?.cacheNumBlocks;
  const size = e.metrics?.cacheBlockSize;
  return blocks !== undefined && size !== undefined && blocks > 0 && size > 0 ? blocks * size : undefined;
}

export class TokenLoadScorer extends InFlightLoadReader implements Scorer {
  readonly type = 'token-load-scorer';
  readonly category = 'Distribution' as const;

  constructor(
    readonly name: string,
    readonly queueThresholdTokens: number,
    inFlightLoadProducerName?: string,
    /** Judge each endpoint against its own KV capacity when it reports one (queueThresholdTokens otherwise). */
    readonly thresholdFromKvCapacity = false,
  ) {
    super(inFlightLoadProducerName);
  }

  score: Scorer['score'] = (_req, endpoints, out) => {
    for (let i = 0; i < endpoints.length; i++) {
      const tokens = this.source?.load(endpoints[i].endpoint.key).tokens ?? 0;
      const own = this.thresholdFromKvCapacity ? kvCapacityTokens(endpoints[i]) : undefined;
      out[i] = tokenLoadScore(tokens, own ?? this.queueThresholdTokens);
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
    const fromKv = params.boolean('thresholdFromKvCapacity', false);
    params.finish();
    return new TokenLoadScorer(name, threshold, producer || undefined, fromKv);
  },
};
