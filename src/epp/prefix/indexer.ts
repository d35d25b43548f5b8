// The approximate prefix index: block hash → endpoints that (probably) hold it, with one LRU per endpoint whose
// evictions clean the reverse map (reference EPP, approximateprefix/indexer.go).

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

export class PrefixIndexer {
  private readonly byHash = new Map<number, Set<string>>();
  /** Per endpoint: Map insertion order is the LRU order (oldest first). */
  private readonly lrus = new Map<string, Map<number, true>>();

  /** Records that `endpoint` now holds these blocks; `capacity` bounds its LRU. */
  add(keys: ArrayLike<number>, endpoint: string, capacity: number): void {
    let lru = this.lrus.get(endpoint);
    if (!lru) {
      lru = new Map();
      this.lrus.set(endpoint, lru);
    }
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (lru.delete(k)) {
        lru.set(k, true);
        continue;
      }
      lru.set(k, true);
      let holders = this.byHash.get(k);
      if (!holders) {
        holders = new Set();
        this.byHash.set(k, holders);
      }
      holders.add(endpoint);
    }
    while (lru.size > capacity) {
      const oldest = lru.keys().next().value as number;
      lru.delete(oldest);
      this.forget(oldest, endpoint);
    }
  }

  /**
   * Greedy longest-prefix match: walks blocks from the start, counting for every endpoint holding each block, and
   * stops at the first block no endpoint holds. Returns endpoint → matched blocks.
   */
  match(keys: ArrayLike<number>): Map<string, number> {
    const counts = new Map<string, number>();
    for (let i = 0; i < keys.length; i++) {
      const holders = this.byHash.get(keys[i]);
      if (!holders || holders.size === 0) break;
      for (const e of holders) counts.set(e, (counts.get(e) ?? 0) + 1);
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

  endpoints(): string[] {
    return [...this.lrus.keys()];
  }

  private forget(k: number, endpoint: string): void {
    const holders = this.byHash.get(k);
    if (!holders) return;
    holders.delete(endpoint);
    if (holders.size === 0) this.byHash.delete(k);
  }
}
