// prefix-cache-scorer: prefers endpoints likely to hold the longest cached prefix of the prompt.

import { PrefixCache, readPrefixParams } from '../../prefix/prefix-cache';
import type { PluginRegistration } from '../../scheduling/registry';
import type { EndpointsAware, PreRequest, Scorer } from '../../scheduling/types';
import {
  PrefixCacheProducer,
  SHARED_PREFIX_CACHE,
  type DepsWithPrefix,
} from '../approx-prefix-cache-producer';

export class PrefixCacheScorer implements Scorer {
  readonly type = 'prefix-cache-scorer';
  readonly category = 'Affinity' as const;

  constructor(
    readonly name: string,
    readonly cache: PrefixCache,
  ) {}

  score: Scorer['score'] = (req, endpoints, out) => this.cache.score(req, endpoints, out);
}

/** A scorer configured without a producer owns its index, so it also learns and prunes. */
export class OwningPrefixCacheScorer extends PrefixCacheScorer implements PreRequest, EndpointsAware {
  private readonly producer: PrefixCacheProducer;

  constructor(name: string, cache: PrefixCache) {
    super(name, cache);
    this.producer = new PrefixCacheProducer(name, cache);
  }

  preRequest: PreRequest['preRequest'] = (req, result) => this.producer.preRequest(req, result);

  endpointsChanged(active: ReadonlySet<string>): void {
    this.producer.endpointsChanged(active);
  }
}

export const prefixCacheScorer: PluginRegistration = {
  type: 'prefix-cache-scorer',
  description: 'Scores matchedBlocks/totalBlocks of the prompt prefix found in the approximate prefix index.',
  factory: (name, params, deps) => {
    const shared = (deps as DepsWithPrefix)[SHARED_PREFIX_CACHE];
    if (shared) {
      params.finish(); // parameters belong to the producer
      return new PrefixCacheScorer(name, shared);
    }
    const cache = new PrefixCache(readPrefixParams(params), deps.onPrefixIndexSize);
    params.finish();
    return new OwningPrefixCacheScorer(name, cache);
  },
};
