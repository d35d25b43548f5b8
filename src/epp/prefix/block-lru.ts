// One endpoint's blocks in least-recently-used order: a doubly linked list over slots in typed arrays, with a Map
// from block to slot. Every operation is O(1) and memory is fixed per held block (no per-use queue to compact).

/** Slots grow by doubling from this many, so a small endpoint does not pay for a full-size LRU. */
const INITIAL_SLOTS = 64;

export class BlockLru {
  private readonly slotOf = new Map<number, number>();
  private blocks = new Float64Array(INITIAL_SLOTS);
  private prev = new Int32Array(INITIAL_SLOTS);
  private next = new Int32Array(INITIAL_SLOTS);
  /** Least recently used slot (evicted first) and most recently used slot; -1 when empty. */
  private oldest = -1;
  private newest = -1;
  /** Freed slots form a list through `next`; `highWater` slots have ever been handed out. */
  private free = -1;
  private highWater = 0;

  get size(): number {
    return this.slotOf.size;
  }

  /** Slots allocated (for memory accounting): at most twice the largest size this LRU has had. */
  get slots(): number {
    return this.blocks.length;
  }

  /** Marks a block as just used; true when it was not held before. */
  touch(k: number): boolean {
    const held = this.slotOf.get(k);
    if (held !== undefined) {
      if (held !== this.newest) {
        this.unlink(held);
        this.append(held);
      }
      return false;
    }
    const slot = this.allocate();
    this.blocks[slot] = k;
    this.slotOf.set(k, slot);
    this.append(slot);
    return true;
  }

  /** Removes and returns the least recently used block. */
  evictOldest(): number | undefined {
    const slot = this.oldest;
    if (slot < 0) return undefined;
    this.unlink(slot);
    const k = this.blocks[slot];
    this.slotOf.delete(k);
    this.next[slot] = this.free;
    this.free = slot;
    return k;
  }

  keys(): IterableIterator<number> {
    return this.slotOf.keys();
  }

  private allocate(): number {
    if (this.free >= 0) {
      const slot = this.free;
      this.free = this.next[slot];
      return slot;
    }
    if (this.highWater === this.blocks.length) this.grow();
    return this.highWater++;
  }

  private grow(): void {
    const n = this.blocks.length * 2;
    const blocks = new Float64Array(n);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    blocks.set(this.blocks);
    prev.set(this.prev);
    next.set(this.next);
    this.blocks = blocks;
    this.prev = prev;
    this.next = next;
  }

  private append(slot: number): void {
    this.prev[slot] = this.newest;
    this.next[slot] = -1;
    if (this.newest >= 0) this.next[this.newest] = slot;
    else this.oldest = slot;
    this.newest = slot;
  }

  private unlink(slot: number): void {
    const p = this.prev[slot];
    const n = this.next[slot];
    if (p >= 0) this.next[p] = n;
    else this.oldest = n;
    if (n >= 0) this.prev[n] = p;
    else this.newest = p;
  }
}
