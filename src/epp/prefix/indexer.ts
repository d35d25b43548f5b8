// The approximate prefix index: block hash → endpoints that (probably) hold it, with one LRU per endpoint whose
// evictions clean the reverse map (reference EPP, approximateprefix/indexer.go). Its memory is bounded: see
// "Prefix index memory" in src/epp/README.md for the caps below and the measured bytes per entry.

import { BlockLru } from './block-lru';

export { BlockLru };

/** Hard cap on one endpoint's LRU, whatever num_gpu_blocks (auto-tune) or lruCapacityPerServer asks for. */
export const MAX_LRU_CAPACITY = 262_144;
/** Hard cap on entries across all endpoints; above it the largest endpoint LRU gives up its oldest blocks. */
export const MAX_INDEX_ENTRIES = 2_000_000;

/**
 * Index keys are 53-bit numbers (low 32 bits + 21 high bits of the xxh64): number keys make Map lookups cheap and
 * need no BigInt; a false match costs at most a misplaced affinity score (≈2^-53 per pair of blocks).
 */
export function hashKeys(hashes: BigUint64Array): Float64Array {
  const words = new Uint32Array(hashes.buffer, hashes.byteOffset, hashes.length * 2);
  const keys = new Float64Array(hashes.length);
  for (let i = 0; i < keys.length; i++) keys[i] = (words[2 * i + 1] & 0x1fffff) * 4294967296 + words[2 * i];
  return keys;
}

/** Most blocks have one holder: the endpoint key itself stands for a one-element set (saves a Set per block). */
type Holders = string | Set<string>;

export class PrefixIndexer {
  private readonly byHash = new Map<number, Holders>();
  private readonly lrus = new Map<string, BlockLru>();
  private total = 0;

  constructor(private readonly maxEntries = MAX_INDEX_ENTRIES) {}

  /** Records that `endpoint` now holds these blocks; `capacity` (at most MAX_LRU_CAPACITY) bounds its LRU. */
  add(keys: ArrayLike<number>, endpoint: string, capacity: number): void {
    const cap = Math.max(1, Math.min(capacity, MAX_LRU_CAPACITY));
    let lru = this.lrus.get(endpoint);
    if (!lru) {
      lru = new BlockLru();
      this.lrus.set(endpoint, lru);
    }
    // As in the reference (add all, evict oldest), only the last `cap` blocks can stay: skip the rest up front.
    for (let i = Math.max(0, keys.length - cap); i < keys.length; i++) {
      const k = keys[i];
      if (!lru.touch(k)) continue;
      this.total++;
      const holders = this.byHash.get(k);
      if (holders === undefined) this.byHash.set(k, endpoint);
      else if (typeof holders === 'string') {
        if (holders !== endpoint) this.byHash.set(k, new Set([holders, endpoint]));
      } else holders.add(endpoint);
    }
    while (lru.size > cap) this.forget(lru.evictOldest()!, endpoint);
    while (this.total > this.maxEntries) this.evictFromLargest();
  }

  /**
   * Greedy longest-prefix match: walks blocks from the start, counting for every endpoint holding each block, and
   * stops at the first block no endpoint holds. Returns endpoint → matched blocks.
   */
  match(keys: ArrayLike<number>): Map<string, number> {
    const counts = new Map<string, number>();
    for (let i = 0; i < keys.length; i++) {
      const holders = this.byHash.get(keys[i]);
      if (holders === undefined) break;
      if (typeof holders === 'string') counts.set(holders, (counts.get(holders) ?? 0) + 1);
      else for (const e of holders) counts.set(e, (counts.get(e) ?? 0) + 1);
    }
    return counts;
  }

  /** Drops every endpoint not in `active` (pods gone from the pool). */
  retain(active: ReadonlySet<string>): void {
    for (const [endpoint, lru] of this.lrus) {
      if (active.has(endpoint)) continue;
      for (const k of lru.keys()) this.forget(k, endpoint);
      this.lrus.delete(endpoint);
    }
  }

  /** Number of distinct block hashes indexed (inference_extension_prefix_indexer_size). */
  get size(): number {
    return this.byHash.size;
  }

  /** (endpoint, block) entries across all endpoint LRUs: what the memory bound counts. */
  get entries(): number {
    return this.total;
  }

  endpoints(): string[] {
    return [...this.lrus.keys()];
  }

  private evictFromLargest(): void {
    let largest: [string, BlockLru] | undefined;
    for (const e of this.lrus) if (!largest || e[1].size > largest[1].size) largest = e;
    const k = largest?.[1].evictOldest();
    if (k === undefined) return void (this.total = 0);
    this.forget(k, largest![0]);
  }

  private forget(k: number, endpoint: string): void {
    this.total--;
    const holders = this.byHash.get(k);
    if (holders === undefined) return;
    if (typeof holders === 'string') {
      if (holders === endpoint) this.byHash.delete(k);
      return;
    }
    holders.delete(endpoint);
    if (holders.size === 1) this.byHash.set(k, holders.values().next().value!);
    else if (holders.size === 0) this.byHash.delete(k);
  }
}
