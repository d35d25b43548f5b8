import { blockHashes, initPrefixHashing, xxh64 } from '../../../src/epp/prefix/hash';
import { PrefixIndexer, hashKeys } from '../../../src/epp/prefix/indexer';
import { DEFAULT_PREFIX_PARAMS, hashParamsFor, lruCapacityFor } from '../../../src/epp/prefix/prefix-cache';
import { state } from './fixtures';

// An independent, obviously-correct XXH64 over BigInt (the spec, written out), to check the WASM one against.
const M = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n,
  P2 = 0xc2b2ae3d27d4eb4fn,
  P3 = 0x165667b19e3779f9n,
  P4 = 0x85ebca77c2b2ae63n,
  P5 = 0x27d4eb2f165667c5n;
const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M;
const rd = (b: Uint8Array, i: number, n: number) => {
  let v = 0n;
  for (let k = n - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[i + k]);
  return v;
};
const round = (acc: bigint, lane: bigint) => (rotl((acc + lane * P2) & M, 31n) * P1) & M;
function refXxh64(b: Uint8Array): bigint {
  let p = 0,
    h: bigint;
  if (b.length >= 32) {
    let v1 = (P1 + P2) & M,
      v2 = P2,
      v3 = 0n,
      v4 = -P1 & M;
    for (; p + 32 <= b.length; p += 32) {
      v1 = round(v1, rd(b, p, 8));
      v2 = round(v2, rd(b, p + 8, 8));
      v3 = round(v3, rd(b, p + 16, 8));
      v4 = round(v4, rd(b, p + 24, 8));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    for (const v of [v1, v2, v3, v4]) h = ((((h ^ round(0n, v)) * P1) & M) + P4) & M;
  } else h = P5;
  h = (h + BigInt(b.length)) & M;
  for (; p + 8 <= b.length; p += 8) h = (((rotl(h ^ round(0n, rd(b, p, 8)), 27n) * P1) & M) + P4) & M;
  if (p + 4 <= b.length) {
    h = (((rotl(h ^ ((rd(b, p, 4) * P1) & M), 23n) * P2) & M) + P3) & M;
    p += 4;
  }
  for (; p < b.length; p++) h = (rotl(h ^ ((BigInt(b[p]) * P5) & M), 11n) * P1) & M;
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  h ^= h >> 32n;
  return h;
}
const le64 = (v: bigint) => {
  const b = new Uint8Array(8);
  for (let i = 0; i < 8; i++) b[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return b;
};
const cat = (a: Uint8Array, b: Uint8Array) => {
  const c = new Uint8Array(a.length + b.length);
  c.set(a);
  c.set(b, a.length);
  return c;
};
const utf8 = (s: string) => new TextEncoder().encode(s);

beforeAll(() => initPrefixHashing());

describe('xxh64', () => {
  it('matches the published vectors', () => {
    expect(xxh64(utf8(''))).toBe(0xef46db3751d8e999n);
    expect(xxh64(utf8('a'))).toBe(0xd24ec4f1a98c6e5bn);
    expect(xxh64(utf8('abc'))).toBe(0x44bc2cf5ad770999n);
    expect(xxh64(utf8('Nobody inspects the spammish repetition'))).toBe(0xfbcea83c8a378bf1n);
  });

  it('matches an independent BigInt implementation at every length 0..200', () => {
    const data = new Uint8Array(200).map((_, i) => (i * 131 + 7) & 0xff);
    for (let n = 0; n <= 200; n++) expect(xxh64(data.subarray(0, n))).toBe(refXxh64(data.subarray(0, n)));
  });
});

describe('blockHashes', () => {
  it('chains h_i = xxh64(block_i ‖ LE64(h_{i-1})) from h0 = xxh64(model), partial tail included', () => {
    const input = utf8('abcdefgh'.repeat(2) + 'tail!'); // 16 + 5 bytes, 8-byte blocks → 3 blocks
    const h = blockHashes('m1', input, 8, 256);
    const h0 = refXxh64(utf8('m1'));
    const h1 = refXxh64(cat(input.subarray(0, 8), le64(h0)));
    const h2 = refXxh64(cat(input.subarray(8, 16), le64(h1)));
    const h3 = refXxh64(cat(input.subarray(16, 21), le64(h2)));
    expect([...h]).toEqual([h1, h2, h3]);
  });

  it('is seeded by the model, skips inputs shorter than one block, and caps the block count', () => {
    const input = utf8('x'.repeat(64 * 10));
    expect(blockHashes('a', input, 64, 256)[0]).not.toBe(blockHashes('b', input, 64, 256)[0]);
    expect(blockHashes('a', utf8('x'.repeat(63)), 64, 256).length).toBe(0);
    expect(blockHashes('a', utf8('x'.repeat(64)), 64, 256).length).toBe(1);
    const capped = blockHashes('a', input, 64, 4);
    expect(capped.length).toBe(4);
    expect([...capped]).toEqual([...blockHashes('a', input, 64, 256).subarray(0, 4)]);
  });

  it('handles long inputs (memory growth) consistently with the short path', () => {
    const big = new Uint8Array(300_000).map((_, i) => i & 0xff);
    const h = blockHashes('model', big, 64, 5000);
    expect(h.length).toBe(4688);
    expect(h[1]).toBe(refXxh64(cat(big.subarray(64, 128), le64(h[0]))));
  });
});

describe('PrefixIndexer', () => {
  const keys = (...n: number[]) => Float64Array.from(n);

  it('greedy match counts holders block by block and stops at the first unheld block', () => {
    const idx = new PrefixIndexer();
    idx.add(keys(1, 2, 3), 'a', 100);
    idx.add(keys(1, 2), 'b', 100);
    idx.add(keys(5), 'c', 100);
    const m = idx.match(keys(1, 2, 3, 4, 5));
    expect(Object.fromEntries(m)).toEqual({ a: 3, b: 2 });
    expect(idx.match(keys(9, 1)).size).toBe(0);
  });

  it('evicts least-recently-used blocks per endpoint and cleans the reverse map', () => {
    const idx = new PrefixIndexer();
    idx.add(keys(1, 2, 3), 'a', 3);
    idx.add(keys(1), 'a', 3); // refresh 1: order is now 2, 3, 1
    idx.add(keys(4), 'a', 3); // evicts 2
    expect(idx.match(keys(1)).get('a')).toBe(1);
    expect(idx.match(keys(2)).size).toBe(0);
    expect(idx.size).toBe(3);
    idx.retain(new Set());
    expect(idx.size).toBe(0);
  });

  it('hash keys keep the low 53 bits', () => {
    const k = hashKeys(BigUint64Array.from([0xffffffffffffffffn, 5n]));
    expect(k[0]).toBe(2 ** 53 - 1);
    expect(k[1]).toBe(5);
  });
});

describe('auto-tune', () => {
  it('takes the block size from the first candidate and the LRU capacity from each endpoint', () => {
    const tuned = state(1, { cacheBlockSize: 32, cacheNumBlocks: 1000 });
    expect(hashParamsFor(DEFAULT_PREFIX_PARAMS, [tuned, state(2, {})])).toEqual({
      blockChars: 128,
      maxBlocks: 256,
    });
    expect(hashParamsFor(DEFAULT_PREFIX_PARAMS, [state(2, {}), tuned])).toEqual({
      blockChars: 64,
      maxBlocks: 256,
    });
    expect(hashParamsFor({ ...DEFAULT_PREFIX_PARAMS, autoTune: false }, [tuned]).blockChars).toBe(64);
    expect(hashParamsFor({ ...DEFAULT_PREFIX_PARAMS, maxPrefixTokensToMatch: 1024 }, [tuned]).maxBlocks).toBe(
      32,
    );
    expect(lruCapacityFor(DEFAULT_PREFIX_PARAMS, tuned)).toBe(1000);
    expect(lruCapacityFor(DEFAULT_PREFIX_PARAMS, state(2, {}))).toBe(31250);
  });
});
