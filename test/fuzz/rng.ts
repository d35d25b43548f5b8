// A small seeded PRNG (mulberry32) and the draws the generators need, so every fuzz run replays from its seed.

export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }

  /** Picks a key of `weights` with probability proportional to its weight. */
  weighted<K extends string>(weights: Record<K, number>): K {
    const entries = Object.entries(weights) as [K, number][];
    let r = this.next() * entries.reduce((s, [, w]) => s + w, 0);
    for (const [k, w] of entries) {
      if (r < w) return k;
      r -= w;
    }
    return entries[entries.length - 1][0];
  }

  /** A random string of `n` characters drawn from ASCII, Latin, CJK, emoji and lone surrogates. */
  text(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) {
      const kind = this.next();
      if (kind < 0.7) s += String.fromCharCode(this.int(0x20, 0x7e));
      else if (kind < 0.8) s += String.fromCharCode(this.int(0xa0, 0x17f));
      else if (kind < 0.9) s += String.fromCharCode(this.int(0x4e00, 0x9fff));
      else if (kind < 0.97) s += String.fromCodePoint(this.int(0x1f300, 0x1faff));
      else s += String.fromCharCode(this.int(0xd800, 0xdfff)); // a lone surrogate: invalid once encoded
    }
    return s;
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256);
    return b;
  }
}
