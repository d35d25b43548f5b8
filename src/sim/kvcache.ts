// The KV cache as block bookkeeping: N blocks, prefix caching by chain hash, LRU eviction of unreferenced
// cached blocks. Pure: no clock, no I/O. Usage counts referenced blocks only, as vLLM's kv_cache_usage_perc does
// (cached-but-free blocks are reusable, so they count as free).

interface CachedBlock {
  refs: number;
}

/** What a sequence holds, to give back on release. */
export interface BlockLease {
  /** Hashes of the cached prompt blocks this sequence references. */
  hashes: string[];
  /** Blocks holding the uncacheable partial tail and generated tokens. */
  anonymous: number;
}

export interface Allocation {
  lease: BlockLease;
  /** Leading prompt blocks found in the cache (prefix hit). */
  hitBlocks: number;
}

export class KvCache {
  /** Blocks nobody holds and that carry no cached content. */
  private free: number;
  private readonly cached = new Map<string, CachedBlock>();
  /** Cached blocks with no references, oldest use first (a Map keeps insertion order). */
  private readonly evictable = new Map<string, CachedBlock>();

  constructor(readonly numBlocks: number) {
    this.free = numBlocks;
  }

  /** Referenced blocks: what the engine is using right now. */
  get usedBlocks(): number {
    return this.numBlocks - this.free - this.evictable.size;
  }

  get usage(): number {
    return this.usedBlocks / this.numBlocks;
  }

  /** Number of leading hashes already cached (referenced or evictable). */
  prefixHits(hashes: readonly string[]): number {
    let n = 0;
    while (n < hashes.length && this.cached.has(hashes[n])) n++;
    return n;
  }

  /** New blocks needed for `hashes` plus `anonymous` extra blocks, given what is cached. */
  private blocksNeeded(
    hashes: readonly string[],
    anonymous: number,
  ): { needed: number; reusedEvictable: number } {
    let needed = anonymous;
    let reusedEvictable = 0;
    for (const h of new Set(hashes)) {
      if (!this.cached.has(h)) needed++;
      else if (this.evictable.has(h)) reusedEvictable++;
    }
    return { needed, reusedEvictable };
  }

  canAllocate(hashes: readonly string[], anonymous: number): boolean {
    const { needed, reusedEvictable } = this.blocksNeeded(hashes, anonymous);
    return needed <= this.free + this.evictable.size - reusedEvictable;
  }

  /** Takes blocks for a sequence; returns undefined (changing nothing) when they are not available. */
  allocate(hashes: readonly string[], anonymous: number): Allocation | undefined {
    if (!this.canAllocate(hashes, anonymous)) return undefined;
    const hitBlocks = this.prefixHits(hashes);
    // Reference reused blocks first so eviction below can never take them.
    const fresh: string[] = [];
    for (const h of new Set(hashes)) {
      const block = this.cached.get(h);
      if (block) {
        if (block.refs++ === 0) this.evictable.delete(h);
      } else fresh.push(h);
    }
    this.take(fresh.length + anonymous);
    for (const h of fresh) this.cached.set(h, { refs: 1 });
    return { lease: { hashes: [...new Set(hashes)], anonymous }, hitBlocks };
  }

  /** Gives a sequence's blocks back; cached ones become evictable, most recently used last. */
  release(lease: BlockLease): void {
    for (const h of lease.hashes) {
      const block = this.cached.get(h);
      if (!block) continue;
      if (--block.refs === 0) this.evictable.set(h, block);
    }
    this.free += lease.anonymous;
  }

  private take(n: number): void {
    const fromFree = Math.min(n, this.free);
    this.free -= fromFree;
    let toEvict = n - fromFree;
    for (const h of this.evictable.keys()) {
      if (toEvict === 0) break;
      this.evictable.delete(h);
      this.cached.delete(h);
      toEvict--;
    }
  }
}
