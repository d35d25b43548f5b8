// A binary min-heap whose items remember their slot, so any item leaves in O(log n) (a cancelled or expired
// request leaves its flow's queue and the deadline heap at once). Pure; no timers.

export class IndexedHeap<T> {
  private readonly items: T[] = [];

  /**
   * @param less true when `a` comes out before `b`
   * @param slot reads and writes the item's position in this heap (-1 when not in it)
   */
  constructor(
    private readonly less: (a: T, b: T) => boolean,
    private readonly slot: { get(t: T): number; set(t: T, i: number): void },
  ) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(t: T): void {
    this.items.push(t);
    this.slot.set(t, this.items.length - 1);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  /** Removes `t` when it is in the heap; false otherwise. */
  remove(t: T): boolean {
    const i = this.slot.get(t);
    if (i < 0 || i >= this.items.length || this.items[i] !== t) return false;
    const last = this.items.pop() as T;
    this.slot.set(t, -1);
    if (last !== t) {
      this.items[i] = last;
      this.slot.set(last, i);
      this.down(i);
      this.up(this.slot.get(last));
    }
    return true;
  }

  private up(i: number): void {
    const a = this.items;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i], a[p])) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const a = this.items;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.less(a[l], a[m])) m = l;
      if (r < a.length && this.less(a[r], a[m])) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(i: number, j: number): void {
    const a = this.items;
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
    this.slot.set(a[i], i);
    this.slot.set(a[j], j);
  }
}
