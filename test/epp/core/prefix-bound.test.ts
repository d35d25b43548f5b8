// The prefix index's memory is bounded: repeated use of the same blocks allocates nothing, one endpoint never holds
// more than MAX_LRU_CAPACITY blocks, the whole index never more than its entry cap, and endpoints that left the pool
// leave nothing behind.

import { BlockLru, MAX_LRU_CAPACITY, PrefixIndexer } from '../../../src/epp/prefix/indexer';
import {
  DEFAULT_PREFIX_PARAMS,
  MAX_BLOCKS_PER_REQUEST,
  hashParamsFor,
} from '../../../src/epp/prefix/prefix-cache';

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('prefix index bounds', () => {
  it('re-using the same blocks a million times allocates no slots', () => {
    const lru = new BlockLru();
    for (const k of range(0, 100)) lru.touch(k);
    const slots = lru.slots;
    for (let i = 0; i < 1_000_000; i++) lru.touch(i % 100);
    expect(lru.size).toBe(100);
    expect(lru.slots).toBe(slots);
    expect(lru.evictOldest()).toBe(0);
  });

  it('evicted slots are reused: an LRU at capacity stops growing', () => {
    const idx = new PrefixIndexer();
    for (let r = 0; r < 200; r++) idx.add(range(r * 50, 50), 'a', 1000);
    expect(idx.entries).toBe(1000);
    expect(idx.size).toBe(1000);
    expect(idx.match(range(199 * 50, 50))).toEqual(new Map([['a', 50]]));
  });

  it('caps one endpoint at MAX_LRU_CAPACITY whatever capacity is asked for', () => {
    const idx = new PrefixIndexer();
    for (let r = 0; r < 70; r++) idx.add(range(r * 4096, 4096), 'a', 10_000_000);
    expect(idx.entries).toBe(MAX_LRU_CAPACITY);
  });

  it('caps the whole index: the largest endpoint gives up its oldest blocks', () => {
    const idx = new PrefixIndexer(1000);
    idx.add(range(0, 800), 'a', 1000);
    idx.add(range(10_000, 400), 'b', 1000);
    expect(idx.entries).toBe(1000);
    expect(idx.match(range(0, 10))).toEqual(new Map()); // a's oldest went
    expect(idx.match(range(10_000, 400))).toEqual(new Map([['b', 400]]));
  });

  it('shared blocks keep every holder; retain drops endpoints that left and their entries', () => {
    const idx = new PrefixIndexer();
    idx.add([1, 2, 3], 'a', 10);
    idx.add([1, 2], 'b', 10);
    idx.add([1], 'c', 10);
    expect(idx.match([1, 2, 3])).toEqual(
      new Map([
        ['a', 3],
        ['b', 2],
        ['c', 1],
      ]),
    );
    idx.retain(new Set(['b']));
    expect(idx.endpoints()).toEqual(['b']);
    expect(idx.entries).toBe(2);
    expect(idx.size).toBe(2);
    expect(idx.match([1, 2, 3])).toEqual(new Map([['b', 2]]));
    idx.retain(new Set());
    expect([idx.entries, idx.size]).toEqual([0, 0]);
  });

  it('caps the blocks hashed per request', () => {
    const p = { ...DEFAULT_PREFIX_PARAMS, maxPrefixTokensToMatch: 10_000_000 };
    expect(hashParamsFor(p, []).maxBlocks).toBe(MAX_BLOCKS_PER_REQUEST);
    expect(hashParamsFor(DEFAULT_PREFIX_PARAMS, []).maxBlocks).toBe(256);
  });
});
