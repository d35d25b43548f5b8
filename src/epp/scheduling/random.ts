// Seedable randomness for pickers and weighted choices, so tests are deterministic.

/** Uniform in [0, 1), like Math.random. */
export type RandomSource = () => number;

/** mulberry32: a small, fast, seedable generator (good enough for tie-breaking and sampling). */
export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle in place. */
export function shuffle<T>(items: T[], random: RandomSource): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
  return items;
}

/** Index drawn with probability weight/Σweights; -1 when every weight is 0 or the list is empty. */
export function weightedIndex(weights: readonly number[], random: RandomSource): number {
  let total = 0;
  for (const w of weights) total += w;
  if (total <= 0) return -1;
  let r = random() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i];
    if (r < 0) return i;
  }
  return weights.length - 1;
}
