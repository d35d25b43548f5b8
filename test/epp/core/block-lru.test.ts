// BlockLru keeps least-recently-used order across re-use, and evicts what was used longest ago.

import { BlockLru, PrefixIndexer } from '../../../src/epp/prefix/indexer';

describe('BlockLru', () => {
  it('evicts in least-recently-used order, re-use moves a block to the back', () => {
    const lru = new BlockLru();
    expect([1, 2, 3].map((k) => lru.touch(k))).toEqual([true, true, true]);
    expect(lru.touch(1)).toBe(false);
    expect(lru.size).toBe(3);
    expect(lru.evictOldest()).toBe(2);
    expect(lru.evictOldest()).toBe(3);
    expect(lru.evictOldest()).toBe(1);
    expect(lru.evictOldest()).toBeUndefined();
    expect(lru.size).toBe(0);
  });

  it('stays correct through queue compaction (many re-uses of few blocks)', () => {
    const lru = new BlockLru();
    for (let i = 0; i < 20000; i++) lru.touch(i % 5);
    lru.touch(7);
    expect(lru.size).toBe(6);
    // 0..4 were last used in order 0,1,2,3,4 (i = 19995..19999), then 7.
    expect([0, 1, 2, 3, 4, 5].map(() => lru.evictOldest())).toEqual([0, 1, 2, 3, 4, 7]);
  });

  it('the indexer keeps each endpoint within capacity and forgets evicted blocks', () => {
    const idx = new PrefixIndexer();
    idx.add([1, 2, 3], 'a', 2);
    expect(idx.match([1])).toEqual(new Map());
    expect(idx.match([2, 3])).toEqual(new Map([['a', 2]]));
    idx.add([2], 'a', 2); // 2 is now the most recent: adding 4 evicts 3
    idx.add([4], 'a', 2);
    expect(idx.match([2, 4])).toEqual(new Map([['a', 2]]));
    expect(idx.match([3])).toEqual(new Map());
    expect(idx.size).toBe(2);
  });
});
