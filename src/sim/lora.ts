// LoRA adapter slots: at most `maxLoras` adapters on the GPU at once. A request for an adapter that is not loaded
// takes a free slot, or the least recently used slot no running request needs, and pays the load delay. Pure.

interface Slot {
  running: number;
}

export class LoraSlots {
  /** Loaded adapters, least recently used first. */
  private readonly slots = new Map<string, Slot>();

  constructor(readonly maxLoras: number) {}

  /** Whether a request for `adapter` can start now. */
  canRun(adapter: string): boolean {
    if (this.slots.has(adapter) || this.slots.size < this.maxLoras) return true;
    for (const slot of this.slots.values()) if (slot.running === 0) return true;
    return false;
  }

  /** Starts a request on `adapter`; returns whether the adapter had to be loaded (or undefined if it cannot run). */
  acquire(adapter: string): { loaded: boolean } | undefined {
    let slot = this.slots.get(adapter);
    let loaded = false;
    if (!slot) {
      if (!this.canRun(adapter)) return undefined;
      if (this.slots.size >= this.maxLoras) {
        for (const [name, s] of this.slots) {
          if (s.running === 0) {
            this.slots.delete(name);
            break;
          }
        }
      }
      slot = { running: 0 };
      loaded = true;
    }
    this.slots.delete(adapter);
    this.slots.set(adapter, slot); // most recently used last
    slot.running++;
    return { loaded };
  }

  release(adapter: string): void {
    const slot = this.slots.get(adapter);
    if (slot && slot.running > 0) slot.running--;
  }

  /** Drops an idle adapter from its slot (runtime unload); returns false while requests still use it. */
  unload(adapter: string): boolean {
    const slot = this.slots.get(adapter);
    if (slot && slot.running > 0) return false;
    this.slots.delete(adapter);
    return true;
  }

  /** Adapters with at least one running request, in slot order. */
  running(): string[] {
    return [...this.slots].filter(([, s]) => s.running > 0).map(([name]) => name);
  }

  loaded(): string[] {
    return [...this.slots.keys()];
  }
}
