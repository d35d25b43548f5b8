// approx-prefix-cache-producer: owns the approximate prefix index (parameters, learning after scheduling — every
// profile's first pick, so a P/D prefill pod learns too — and pruning).

import { PrefixCache, readPrefixParams } from '../../prefix/prefix-cache';
import type { PluginDeps, PluginRegistration } from '../../scheduling/registry';
import type { EndpointsAware, PreRequest, SchedulingResult } from '../../scheduling/types';
import type { EndpointState } from '../../types';

export class PrefixCacheProducer implements PreRequest, EndpointsAware {
  readonly type: string = 'approx-prefix-cache-producer';

  constructor(
    readonly name: string,
    readonly cache: PrefixCache,
  ) {}

  preRequest: PreRequest['preRequest'] = (req, result) => this.cache.learn(req.state, learnedTargets(result));

  endpointsChanged(active: ReadonlySet<string>): void {
    this.cache.retain(active);
  }
}

/**
 * Where the request's prefix will be cached: the primary profile's first target, then the first target of every
 * other profile that ran (a P/D prefill pick holds the KV it computed). No profile name is hard-coded.
 */
export function learnedTargets(result: SchedulingResult): (EndpointState | undefined)[] {
  const out = [result.profileResults.get(result.primaryProfileName)?.targets[0]];
  for (const [name, r] of result.profileResults)
    if (name !== result.primaryProfileName) out.push(r?.targets[0]);
  return out;
}

/** The producer's PrefixCache is shared through deps so a prefix-cache-scorer configured with it reuses it. */
export const SHARED_PREFIX_CACHE = Symbol('prefix-cache');
export type DepsWithPrefix = PluginDeps & { [SHARED_PREFIX_CACHE]?: PrefixCache };

export const approxPrefixCacheProducer: PluginRegistration = {
  type: 'approx-prefix-cache-producer',
  description: 'Maintains the approximate prefix index (xxhash64 block chain → endpoints, LRU per endpoint).',
  factory: (name, params, deps) => {
    const cache = new PrefixCache(readPrefixParams(params), deps.onPrefixIndexSize);
    params.finish();
    (deps as DepsWithPrefix)[SHARED_PREFIX_CACHE] = cache;
    return new PrefixCacheProducer(name, cache);
  },
};
