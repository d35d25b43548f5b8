// The worker parser: same results as inline, large bodies go through a real piscina worker (ts-node in the
// worker under jest), hashes computed in the worker match inline ones.

import { WorkerParser, workerFile } from '../../src/epp/workers/pool';
import { blockHashes } from '../../src/epp/prefix/hash';

describe('WorkerParser', () => {
  const parser = new WorkerParser({
    threads: 1,
    thresholdBytes: 1024,
    hash: () => ({ blockChars: 64, maxBlocks: 256 }),
  });
  afterAll(() => parser.close());

  it('resolves the worker file beside the module with ts-node for .ts', () => {
    const w = workerFile();
    expect(w.filename).toMatch(/worker\.ts$/);
    expect(w.execArgv).toEqual(['--require', 'ts-node/register/transpile-only']);
  });

  it('parses a large body in a worker with the same result and hashes as inline', async () => {
    const body = Buffer.from(JSON.stringify({ model: 'm', prompt: 'abc '.repeat(20000), stream: true }));
    const viaWorker = await parser.parse('/v1/completions', body);
    const inline = parser.inline('/v1/completions', body);
    const expected = blockHashes('m', Buffer.from('abc '.repeat(20000)), 64, 256);
    expect(viaWorker.ok && inline.ok).toBe(true);
    if (!viaWorker.ok || !inline.ok) return;
    expect(viaWorker.parsed.model).toBe('m');
    expect(viaWorker.parsed.stream).toBe(true);
    expect(Buffer.from(viaWorker.parsed.prefixInput).equals(Buffer.from(inline.parsed.prefixInput))).toBe(
      true,
    );
    expect(viaWorker.prefixHashes).toHaveLength(256);
    expect(Array.from(viaWorker.prefixHashes!)).toEqual(Array.from(expected));
    expect(viaWorker.prefixHashesModel).toBe('m');
    // The caller's bytes are untouched (the worker got a copy).
    expect(body.length).toBeGreaterThan(80000);
  });

  it('reports bad JSON from a worker as a 400 outcome, not a rejection', async () => {
    const bad = Buffer.from('{"model": "m", "prompt": "' + 'x'.repeat(5000));
    const r = await parser.parse(undefined, bad);
    expect(r.ok).toBe(false);
  });
});
