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
  private readonly lrus = new Map<string, BlockLru>();

  /** Records that `endpoint` now holds these blocks; `capacity` bounds its LRU. */
  add(keys: ArrayLike<number>, endpoint: string, capacity: number): void {
    let lru = this.lrus.get(endpoint);
    if (!lru) {
      lru = new BlockLru();
      this.lrus.set(endpoint, lru);
    }
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (!lru.touch(k)) continue;
      let holders = this.byHash.get(k);
      if (!holders) {
        holders = new Set();
        this.byHash.set(k, holders);
      }
      holders.add(endpoint);
    }
    while (lru.size > capacity) this.forget(lru.evictOldest()!, endpoint);
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

/**
 * One endpoint's blocks in least-recently-used order. A Map alone (re-inserting to move a key to the back,
 * evicting its first key) is not an LRU V8 can run fast: every delete leaves a hole at the front of the Map's
 * backing store that each `keys().next()` walks over again, which made `add` cost ~170 µs for 16 blocks with a
 * full index. Here the Map only answers "when was this block last used", and a queue of (block, use) pairs gives
 * the order; pairs superseded by a later use are skipped when they reach the front.
 */
export class BlockLru {
  private readonly lastUse = new Map<number, number>();
  private queueKeys: number[] = [];
  private queueUses: number[] = [];
  private head = 0;
  private uses = 0;

  get size(): number {
    return this.lastUse.size;
  }

  /** Marks a block as just used; true when it was not held before. */
  touch(k: number): boolean {
    const isNew = !this.lastUse.has(k);
    const use = ++this.uses;
    this.lastUse.set(k, use);
    this.queueKeys.push(k);
    this.queueUses.push(use);
    return isNew;
  }

  /** Removes and returns the least recently used block. */
  evictOldest(): number | undefined {
    while (this.head < this.queueKeys.length) {
      const k = this.queueKeys[this.head];
      const use = this.queueUses[this.head++];
      if (this.lastUse.get(k) !== use) continue;
      this.lastUse.delete(k);
      this.compact();
      return k;
    }
    return undefined;
  }

  keys(): IterableIterator<number> {
    return this.lastUse.keys();
  }

  /** Drops the consumed front of the queue once it is most of it (amortised O(1) per use). */
  private compact(): void {
    if (this.head < 4096 || this.head * 2 < this.queueKeys.length) return;
    this.queueKeys = this.queueKeys.slice(this.head);
    this.queueUses = this.queueUses.slice(this.head);
    this.head = 0;
  }
}
