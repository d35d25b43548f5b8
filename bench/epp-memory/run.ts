// bench/epp-memory: the prefix index's memory against its stated bound. Fills the index of the default config
// (31,250 blocks per endpoint) to its cap with random prompts hashed as the EPP hashes them (64-character blocks,
// at most 256 per request), keeps going to steady-state eviction, then re-sends the same prompts many times
// (which must allocate nothing), and reports heap and RSS against endpoints × 31,250 × bytes per entry.
// Writes bench/results/epp-memory.json. Run: node --expose-gc -r ts-node/register/transpile-only -e \
//   "require('./bench/epp-memory/run').main([])"   (or `infergate bench epp-memory`, which re-executes with gc)

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { blockHashes } from '../../src/epp/prefix/hash';
import { MAX_INDEX_ENTRIES, MAX_LRU_CAPACITY, PrefixIndexer, hashKeys } from '../../src/epp/prefix/indexer';
import { DEFAULT_PREFIX_PARAMS, hashParamsFor } from '../../src/epp/prefix/prefix-cache';
import { projectRoot } from '../../src/util/envoy';

const MODEL = 'bench-model';
/** The bound src/epp/README.md states: bytes per (endpoint, block) entry, measured 148 with headroom. */
export const BYTES_PER_ENTRY_BOUND = 160;

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomPrompt(next: () => number, chars: number): Uint8Array {
  const b = Buffer.allocUnsafe(chars);
  for (let i = 0; i < chars; i++) b[i] = 97 + Math.floor(next() * 26);
  return b;
}

const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;

function memory() {
  (global as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss, arrayBuffers: m.arrayBuffers };
}

export async function main(args: string[]): Promise<number> {
  if (!(global as { gc?: unknown }).gc) {
    // Heap figures need a full collection before each reading.
    const tsNode = __filename.endsWith('.ts') ? ['-r', 'ts-node/register/transpile-only'] : [];
    const script = `require(${JSON.stringify(__filename)}).main(${JSON.stringify(args)}).then((c) => (process.exitCode = c))`;
    const r = spawnSync(process.execPath, ['--expose-gc', ...tsNode, '-e', script], {
      stdio: 'inherit',
      cwd: projectRoot(),
    });
    return r.status ?? 1;
  }
  const endpoints = Number(args[args.indexOf('--endpoints') + 1]) || 8;
  const params = DEFAULT_PREFIX_PARAMS;
  const { blockChars, maxBlocks } = hashParamsFor(params, []);
  const capacity = params.lruCapacityPerServer;
  const next = rng(1);
  const idx = new PrefixIndexer();
  const names = Array.from({ length: endpoints }, (_, i) => `10.0.0.${i + 1}:8000`);
  const base = memory();
  const curve: { requests: number; entries: number; heapMB: number; rssMB: number }[] = [];
  const sample = (requests: number) => {
    const m = memory();
    curve.push({ requests, entries: idx.entries, heapMB: mb(m.heapUsed - base.heapUsed), rssMB: mb(m.rss) });
  };
  // Each request: a random prompt of 64–256 blocks; 2× the capacity in blocks per endpoint reaches steady state.
  const perEndpointRequests = Math.ceil((2 * capacity) / 160);
  const t0 = Date.now();
  let requests = 0;
  const replay: [Float64Array, string][] = [];
  for (let round = 0; round < perEndpointRequests; round++) {
    for (const e of names) {
      const chars = blockChars * (64 + Math.floor(next() * (maxBlocks - 63)));
      const keys = hashKeys(blockHashes(MODEL, randomPrompt(next, chars), blockChars, maxBlocks));
      idx.add(keys, e, capacity);
      if (replay.length < 64) replay.push([keys, e]);
      requests++;
    }
    if (round % Math.ceil(perEndpointRequests / 10) === 0) sample(requests);
  }
  sample(requests);
  const full = memory();
  const bytesPerEntry = (full.heapUsed + full.arrayBuffers - base.heapUsed - base.arrayBuffers) / idx.entries;
  // Shared system prompts: the same blocks again and again must not grow anything.
  for (let i = 0; i < 200_000; i++) {
    const [keys, e] = replay[i % replay.length];
    idx.add(keys, e, capacity);
  }
  const afterReplay = memory();
  sample(requests + 200_000);
  const used = (m: ReturnType<typeof memory>) =>
    m.heapUsed + m.arrayBuffers - base.heapUsed - base.arrayBuffers;
  const statedBound = endpoints * capacity * BYTES_PER_ENTRY_BOUND;
  const report = {
    when: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    config: { endpoints, lruCapacityPerServer: capacity, blockChars, maxBlocks },
    requests,
    entries: idx.entries,
    distinctBlocks: idx.size,
    bytesPerEntry: Math.round(bytesPerEntry),
    statedBytesPerEntry: BYTES_PER_ENTRY_BOUND,
    boundMB: { perEndpoint: mb(capacity * BYTES_PER_ENTRY_BOUND), thisPool: mb(statedBound) },
    hardCapMB: {
      perEndpoint: mb(MAX_LRU_CAPACITY * BYTES_PER_ENTRY_BOUND),
      wholeIndex: mb(MAX_INDEX_ENTRIES * BYTES_PER_ENTRY_BOUND),
    },
    /** Heap plus array buffers (the LRU slots are typed arrays, outside the JS heap). */
    indexMB: { filled: mb(used(full)), afterReplay200k: mb(used(afterReplay)) },
    rssMB: { before: mb(base.rss), filled: mb(full.rss), afterReplay200k: mb(afterReplay.rss) },
    withinBound: used(afterReplay) <= statedBound,
    replayGrowthMB: mb(used(afterReplay) - used(full)),
    seconds: (Date.now() - t0) / 1000,
    curve,
  };
  const out = path.join(projectRoot(), 'bench', 'results', 'epp-memory.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(report, null, 1));
  const { curve: _c, ...summary } = report;
  void _c;
  console.log(JSON.stringify(summary, null, 1));
  return report.withinBound && Math.abs(report.replayGrowthMB) < 2 ? 0 : 1;
}
