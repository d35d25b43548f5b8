// The engine's bookkeeping without sockets or timers: KV blocks, prefix hits, LRU eviction, LoRA slots, admission.

import { DEFAULT_OPTIONS, Engine, KvCache, LoraSlots, resolveOptions, type SeqRequest } from '../../src/sim';
import { blockHashes, outputTokens } from '../../src/sim/text';

describe('KvCache', () => {
  it('reuses cached prefix blocks and counts only referenced blocks as used', () => {
    const kv = new KvCache(10);
    const a = kv.allocate(['h1', 'h2', 'h3'], 1)!;
    expect(a.hitBlocks).toBe(0);
    expect(kv.usedBlocks).toBe(4);
    const b = kv.allocate(['h1', 'h2', 'x3'], 1)!;
    expect(b.hitBlocks).toBe(2);
    expect(kv.usedBlocks).toBe(6); // x3 + one anonymous block
    kv.release(a.lease);
    kv.release(b.lease);
    expect(kv.usedBlocks).toBe(0);
    expect(kv.prefixHits(['h1', 'h2', 'h3'])).toBe(3); // still cached after release
  });

  it('evicts least recently used unreferenced blocks and refuses when nothing is free', () => {
    const kv = new KvCache(4);
    kv.release(kv.allocate(['old1', 'old2'], 0)!.lease);
    kv.release(kv.allocate(['new1', 'new2'], 0)!.lease);
    const held = kv.allocate(['c1', 'c2'], 0)!; // evicts old1, old2
    expect(kv.prefixHits(['old1'])).toBe(0);
    expect(kv.prefixHits(['new1', 'new2'])).toBe(2);
    expect(kv.allocate([], 3)).toBeUndefined(); // only 2 evictable blocks left
    expect(kv.usedBlocks).toBe(2);
    kv.release(held.lease);
  });
});

describe('LoraSlots', () => {
  it('loads into free slots, swaps out idle adapters and blocks when all slots are busy', () => {
    const slots = new LoraSlots(1);
    expect(slots.acquire('a')).toEqual({ loaded: true });
    expect(slots.acquire('a')).toEqual({ loaded: false });
    expect(slots.canRun('b')).toBe(false);
    slots.release('a');
    slots.release('a');
    expect(slots.running()).toEqual([]);
    expect(slots.acquire('b')).toEqual({ loaded: true });
    expect(slots.loaded()).toEqual(['b']);
    expect(slots.running()).toEqual(['b']);
  });
});

const config = resolveOptions({
  maxNumSeqs: 2,
  kvBlocks: 20,
  blockSize: 4,
  maxLoras: 1,
  ttftOverheadMs: 10,
  prefillMsPerToken: 0,
});
const seq = (id: string, extra: Partial<SeqRequest> = {}): SeqRequest => ({
  id,
  promptTokens: 8,
  promptHashes: [],
  outputTokens: 4,
  ...extra,
});

describe('Engine', () => {
  it('runs at most maxNumSeqs and admits the rest first come, first served', () => {
    const engine = new Engine(config);
    for (const id of ['1', '2', '3', '4']) expect(engine.submit(seq(id))).toBe('queued');
    expect(engine.schedule().map((a) => a.seq.id)).toEqual(['1', '2']);
    expect(engine.stats()).toMatchObject({ running: 2, waiting: 2 });
    engine.finish('2');
    expect(engine.schedule().map((a) => a.seq.id)).toEqual(['3']);
  });

  it('admits only when KV blocks are free, and rejects what can never fit', () => {
    const engine = new Engine(resolveOptions({ ...config, maxNumSeqs: 10 }));
    expect(engine.submit(seq('huge', { promptTokens: 200 }))).toBe('too-long');
    engine.submit(seq('a', { promptTokens: 60 })); // 16 blocks
    engine.submit(seq('b', { promptTokens: 16 })); // 5 blocks: does not fit beside a
    engine.submit(seq('c', { promptTokens: 1, outputTokens: 1 })); // 1 block, but FCFS keeps it behind b
    expect(engine.schedule().map((a) => a.seq.id)).toEqual(['a']);
    expect(engine.stats().kvUsage).toBeCloseTo(16 / 20);
    engine.finish('a');
    expect(engine.schedule().map((a) => a.seq.id)).toEqual(['b', 'c']);
  });

  it('charges prefill only for uncached prompt tokens', () => {
    const engine = new Engine(resolveOptions({ ...config, prefillMsPerToken: 1 }));
    const hashes = blockHashes('m', 'x'.repeat(64), 16); // 4 full blocks of 4 tokens
    engine.submit(seq('cold', { promptTokens: 16, promptHashes: hashes }));
    const [cold] = engine.schedule();
    engine.finish('cold');
    engine.submit(seq('warm', { promptTokens: 16, promptHashes: hashes }));
    const [warm] = engine.schedule();
    expect(cold.prefillMs).toBe(10 + 16);
    expect(warm.cachedTokens).toBe(15); // the last token is always computed
    expect(warm.prefillMs).toBe(10 + 1);
    expect(engine.stats()).toMatchObject({ prefixQueryTokens: 32, prefixHitTokens: 15 });
  });

  it('passes over requests whose adapter has no slot, and reports running and waiting adapters', () => {
    const engine = new Engine(resolveOptions({ ...config, maxNumSeqs: 4 }));
    engine.submit(seq('1', { adapter: 'a' }));
    engine.submit(seq('2', { adapter: 'b' }));
    engine.submit(seq('3'));
    const admitted = engine.schedule();
    expect(admitted.map((a) => [a.seq.id, a.loraLoaded])).toEqual([
      ['1', true],
      ['3', false],
    ]);
    expect(admitted[0].prefillMs).toBe(10 + config.loraLoadMs);
    expect(engine.stats()).toMatchObject({ runningAdapters: ['a'], waitingAdapters: ['b'] });
    engine.finish('1');
    expect(engine.schedule().map((a) => a.seq.id)).toEqual(['2']);
    expect(engine.stats()).toMatchObject({ runningAdapters: ['b'], waitingAdapters: [] });
  });

  it('grows inter-token latency with the running batch', () => {
    const engine = new Engine(
      resolveOptions({ ...config, maxNumSeqs: 10, itlBatchSlope: 0.5, interTokenMs: 10 }),
    );
    engine.submit(seq('1'));
    engine.schedule();
    const one = engine.interTokenMs();
    for (const id of ['2', '3']) engine.submit(seq(id));
    engine.schedule();
    expect(one).toBe(10);
    expect(engine.interTokenMs()).toBe(20);
  });

  it('has documented defaults and rejects nonsense options', () => {
    expect(DEFAULT_OPTIONS).toMatchObject({ maxNumSeqs: 256, blockSize: 16, kvBlocks: 31250, maxLoras: 1 });
    expect(() => resolveOptions({ maxNumSeqs: 0 })).toThrow(/maxNumSeqs/);
    expect(() => resolveOptions({ faults: { errorRate: 2 } })).toThrow(/errorRate/);
  });
});

describe('output text', () => {
  it('is deterministic for a seed and echoes in echo mode', () => {
    expect(outputTokens('random', '', 5, 42)).toEqual(outputTokens('random', '', 5, 42));
    expect(outputTokens('random', '', 5, 42)).not.toEqual(outputTokens('random', '', 5, 43));
    expect(outputTokens('echo', 'one two three', 5, 0)).toEqual([' one', ' two', ' three']);
  });
});
