// The approximate prefix cache as one unit: parameters (with auto-tune from cache_config_info), the hash
// parameters for a request, scoring by greedy match, and learning where a request went.

import type { Params } from '../config/params';
import type { EndpointState } from '../types';
import { CHARS_PER_TOKEN } from './hash';
import { PrefixIndexer, hashKeys } from './indexer';

export interface PrefixCacheParams {
  autoTune: boolean;
  blockSizeTokens: number;
  maxPrefixBlocksToMatch: number;
  /** > 0 overrides maxPrefixBlocksToMatch: maxBlocks = tokens / blockSizeTokens. */
  maxPrefixTokensToMatch: number;
  lruCapacityPerServer: number;
}

export const DEFAULT_PREFIX_PARAMS: PrefixCacheParams = {
  autoTune: true,
  blockSizeTokens: 16,
  maxPrefixBlocksToMatch: 256,
  maxPrefixTokensToMatch: 0,
  lruCapacityPerServer: 31250,
};

export function readPrefixParams(p: Params): PrefixCacheParams {
  if (p.value('blockSize') !== undefined) {
    p.error('blockSize', 'is no longer supported (it was in characters); use blockSizeTokens');
  }
  const d = DEFAULT_PREFIX_PARAMS;
  return {
    autoTune: p.boolean('autoTune', d.autoTune),
    blockSizeTokens: p.number('blockSizeTokens', d.blockSizeTokens, { min: 1, integer: true }),
    maxPrefixBlocksToMatch: p.number('maxPrefixBlocksToMatch', d.maxPrefixBlocksToMatch, {
      min: 1,
      integer: true,
    }),
    maxPrefixTokensToMatch: p.number('maxPrefixTokensToMatch', d.maxPrefixTokensToMatch, {
      min: 0,
      integer: true,
    }),
    lruCapacityPerServer: p.number('lruCapacityPerServer', d.lruCapacityPerServer, { min: 1, integer: true }),
  };
}

/** Hard cap on blocks hashed per request (8,192 × 64 chars ≈ 512 KB of prompt), whatever the parameters say. */
export const MAX_BLOCKS_PER_REQUEST = 8192;

export interface HashParams {
  blockChars: number;
  maxBlocks: number;
}

/** Block size in tokens from the first candidate's cache_config_info when auto-tuning, else the configured one. */
export function hashParamsFor(params: PrefixCacheParams, candidates: readonly EndpointState[]): HashParams {
  const tuned = params.autoTune ? candidates[0]?.metrics?.cacheBlockSize : undefined;
  const blockTokens = tuned && tuned > 0 ? tuned : params.blockSizeTokens;
  const maxBlocks =
    params.maxPrefixTokensToMatch > 0
      ? Math.max(1, Math.floor(params.maxPrefixTokensToMatch / blockTokens))
      : params.maxPrefixBlocksToMatch;
  return {
    blockChars: blockTokens * CHARS_PER_TOKEN,
    maxBlocks: Math.min(maxBlocks, MAX_BLOCKS_PER_REQUEST),
  };
}

/** Per-endpoint LRU capacity: its num_gpu_blocks when auto-tuning and known, else lruCapacityPerServer. */
export function lruCapacityFor(params: PrefixCacheParams, e: EndpointState | undefined): number {
  const n = params.autoTune ? e?.metrics?.cacheNumBlocks : undefined;
  return n && n > 0 ? n : params.lruCapacityPerServer;
}

const STATE_KEY = 'approx-prefix-cache';
const MATCH_KEY = 'approx-prefix-cache-match';

/** What scoring found for one request (the reference EPP's PrefixCacheMatchInfo), kept in the cycle state. */
export interface PrefixMatchInfo {
  /** Tokens per block the request was hashed with. */
  blockSizeTokens: number;
  /** Blocks hashed for the request. */
  totalBlocks: number;
  /** Leading blocks of the request found on each endpoint (by key); absent = 0. */
  matchedBlocks: ReadonlyMap<string, number>;
}

/** The match info prefix-cache-scorer left in the cycle state, or undefined when no prefix scorer ran. */
export function prefixMatchInfo(state: ReadonlyMap<string, unknown>): PrefixMatchInfo | undefined {
  return state.get(MATCH_KEY) as PrefixMatchInfo | undefined;
}

export class PrefixCache {
  readonly indexer = new PrefixIndexer();

  constructor(
    readonly params: PrefixCacheParams,
    private readonly onSize?: (size: number) => void,
  ) {}

  /** Scores matchedBlocks/totalBlocks per candidate and remembers the request's keys for `learn`. */
  score(
    req: { prefixHashes(c: number, m: number): BigUint64Array; state: Map<string, unknown> },
    endpoints: readonly EndpointState[],
    out: Float64Array,
  ): void {
    const { blockChars, maxBlocks } = hashParamsFor(this.params, endpoints);
    const keys = hashKeys(req.prefixHashes(blockChars, maxBlocks));
    req.state.set(STATE_KEY, keys);
    const counts: ReadonlyMap<string, number> = keys.length === 0 ? new Map() : this.indexer.match(keys);
    const info: PrefixMatchInfo = {
      blockSizeTokens: blockChars / CHARS_PER_TOKEN,
      totalBlocks: keys.length,
      matchedBlocks: counts,
    };
    req.state.set(MATCH_KEY, info);
    if (counts.size === 0) return;
    for (let i = 0; i < endpoints.length; i++)
      out[i] = (counts.get(endpoints[i].endpoint.key) ?? 0) / keys.length;
  }

  /**
   * Records that the request's blocks now live on each of `holders` (the primary target, and with P/D the prefill
   * pod too: it computed the prefix, the decode pod received it).
   */
  learn(state: Map<string, unknown>, holders: readonly (EndpointState | undefined)[]): void {
    const keys = state.get(STATE_KEY) as Float64Array | undefined;
    if (!keys || keys.length === 0) return;
    const seen = new Set<string>();
    for (const e of holders) {
      if (!e || seen.has(e.endpoint.key)) continue;
      seen.add(e.endpoint.key);
      this.indexer.add(keys, e.endpoint.key, lruCapacityFor(this.params, e));
    }
    if (seen.size > 0) this.onSize?.(this.indexer.size);
  }

  retain(active: ReadonlySet<string>): void {
    this.indexer.retain(active);
    this.onSize?.(this.indexer.size);
  }
}
