// Prefill/decode roles over real HTTP between simulators: a decode server named a prefill server in
// x-prefiller-host-port calls it with the prefill-only request, pays KV transfer instead of prefill, and falls back to
// local prefill when the call fails. Plus the engine's prefill/decode interference and transfer cost (pure).

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Engine, PREFILLED_BY_HEADER, PREFILLER_HEADER, prefillBody, resolveOptions } from '../../src/sim';
import { MODEL, closeAll, post, promptOf, scrape, sim, stream } from './helpers';

afterEach(closeAll);

const seq = (id: string, over: Partial<Parameters<Engine['submit']>[0]> = {}) => ({
  id,
  promptTokens: 100,
  promptHashes: [],
  outputTokens: 4,
  ...over,
});

describe('engine: remote prefill and interference', () => {
  const base = { ttftOverheadMs: 10, prefillMsPerToken: 1, interTokenMs: 10, itlBatchSlope: 0 };

  it.each([
    // remotePrefill, kvTransferMsPerToken, expected time to first token from admission (100 uncached tokens)
    [false, 0.5, 10 + 100],
    [true, 0.5, 10 + 50],
    [true, 0, 10],
  ])('remotePrefill %s, transfer %d ms/token → %d ms', (remote, kv, expected) => {
    const engine = new Engine(resolveOptions({ ...base, kvTransferMsPerToken: kv }));
    engine.submit(seq('a', { remotePrefill: remote }));
    expect(engine.schedule()[0].prefillMs).toBe(expected);
  });

  it('local prefills slow decode steps by min(prefilling tokens, chunk) × prefill cost; remote ones do not', () => {
    const engine = new Engine(resolveOptions({ ...base, prefillChunkTokens: 64 }));
    engine.submit(seq('decoding', { promptTokens: 10 }));
    engine.schedule();
    engine.firstToken('decoding');
    expect(engine.interTokenMs()).toBe(10);
    engine.submit(seq('short', { promptTokens: 20 }));
    engine.schedule();
    expect(engine.interTokenMs()).toBe(10 + 20);
    engine.submit(seq('long', { promptTokens: 1000 }));
    engine.submit(seq('remote', { promptTokens: 1000, remotePrefill: true }));
    engine.schedule();
    expect(engine.interTokenMs()).toBe(10 + 64);
    engine.firstToken('long');
    engine.finish('short');
    expect(engine.interTokenMs()).toBe(10);
    const off = new Engine(resolveOptions({ ...base }));
    off.submit(seq('x', { promptTokens: 1000 }));
    off.schedule();
    expect(off.interTokenMs()).toBe(10); // default chunk 0: today's model, no interference
  });
});

describe('roles over HTTP', () => {
  const body = (prompt: string, extra: Record<string, unknown> = {}) => ({
    model: MODEL,
    prompt,
    max_tokens: 8,
    ...extra,
  });
  const host = (s: { url: string }) => s.url.replace('http://', '');

  it('a prefill server answers one token, counts it and caches the prompt', async () => {
    const p = await sim({ role: 'prefill' });
    const prompt = promptOf(400, 'p');
    const r = await post(`${p.url}/v1/completions`, body(prompt));
    expect(r.status).toBe(200);
    expect((r.body.usage as { completion_tokens: number }).completion_tokens).toBe(1);
    const again = await post(`${p.url}/v1/completions`, body(prompt));
    expect(again.status).toBe(200);
    const m = await scrape(p);
    expect(m.value('infergate_sim_prefill_only_requests_total', { role: 'prefill' })).toBe(2);
    expect(m.value('vllm:prefix_cache_hits_total')).toBeGreaterThan(350);
  });

  it('a decode server calls the named prefill server, then decodes the full answer', async () => {
    const p = await sim({ role: 'prefill' });
    const d = await sim({ role: 'decode' });
    const prompt = promptOf(1000, 'd');
    const r = await stream(`${d.url}/v1/completions`, body(prompt));
    expect(r.status).toBe(200);
    // (stream() sends no custom headers; the header path is below with fetch.)
    expect(r.headers.get(PREFILLED_BY_HEADER)).toBeNull();
    const res = await fetch(`${d.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [PREFILLER_HEADER]: host(p) },
      body: JSON.stringify(body(prompt, { stream: true, stream_options: { include_usage: true } })),
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get(PREFILLED_BY_HEADER)).toBe(host(p));
    const usage = text
      .split('\n\n')
      .filter((e) => e.startsWith('data: {'))
      .map((e) => JSON.parse(e.slice(6)) as { usage?: { completion_tokens: number } })
      .find((e) => e.usage)?.usage;
    expect(usage?.completion_tokens).toBe(8);
    const [pm, dm] = [await scrape(p), await scrape(d)];
    expect(pm.value('infergate_sim_prefill_only_requests_total')).toBe(1);
    expect(dm.value('infergate_sim_remote_prefills_total', { role: 'decode' })).toBe(1);
    expect(dm.value('infergate_sim_remote_prefill_fallbacks_total')).toBe(0);
  });

  it('the prefill call is the same request, prefill-only: max_tokens 1, no stream, do_remote_decode', async () => {
    const seen: { path?: string; body?: Record<string, unknown>; headers?: http.IncomingHttpHeaders } = {};
    const fake = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        Object.assign(seen, { path: req.url, body: JSON.parse(raw), headers: req.headers });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    try {
      const d = await sim({ role: 'decode' });
      const port = (fake.address() as AddressInfo).port;
      const messages = [{ role: 'user', content: 'hi there' }];
      const r = await post(
        `${d.url}/v1/chat/completions`,
        { model: MODEL, messages, max_completion_tokens: 5, stream: false },
        { headers: { 'content-type': 'application/json', [PREFILLER_HEADER]: `127.0.0.1:${port}` } },
      );
      expect(r.status).toBe(200);
      expect(seen.path).toBe('/v1/chat/completions');
      expect(seen.body).toEqual({
        model: MODEL,
        messages,
        max_tokens: 1,
        stream: false,
        kv_transfer_params: { do_remote_decode: true },
      });
      expect(seen.headers?.[PREFILLER_HEADER]).toBeUndefined();
    } finally {
      await new Promise((r) => fake.close(r));
    }
  });

  it.each([
    ['a refused connection', async () => `127.0.0.1:${await closedPort()}`],
    ['a 500 answer', async () => host(await sim({ role: 'prefill', faults: { errorRate: 1 } }))],
    ['a malformed header', () => Promise.resolve('not-a-host')],
  ])('%s: the decode server prefills locally and counts the fallback', async (_what, prefiller) => {
    const d = await sim({ role: 'decode' });
    const target = await prefiller();
    const r = await post(`${d.url}/v1/completions`, body(promptOf(200, 'f')), {
      headers: { 'content-type': 'application/json', [PREFILLER_HEADER]: target },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get(PREFILLED_BY_HEADER)).toBeNull();
    expect((r.body.usage as { completion_tokens: number }).completion_tokens).toBe(8);
    const m = await scrape(d);
    expect(m.value('infergate_sim_remote_prefill_fallbacks_total')).toBe(1);
    expect(m.value('infergate_sim_remote_prefills_total')).toBe(0);
  });

  it('an empty header (the EPP clears it on decode-only requests) and a prefill server ignore it', async () => {
    const d = await sim({ role: 'decode' });
    const r = await post(`${d.url}/v1/completions`, body('hello'), {
      headers: { 'content-type': 'application/json', [PREFILLER_HEADER]: '' },
    });
    expect(r.status).toBe(200);
    const p = await sim({ role: 'prefill' });
    const r2 = await post(`${p.url}/v1/completions`, body('hello'), {
      headers: { 'content-type': 'application/json', [PREFILLER_HEADER]: host(d) },
    });
    expect(r2.status).toBe(200);
    const [dm, pm] = [await scrape(d), await scrape(p)];
    expect(dm.value('infergate_sim_remote_prefills_total')).toBe(0);
    expect(dm.value('infergate_sim_remote_prefill_fallbacks_total')).toBe(0);
    expect(dm.value('vllm:request_success_total', { finished_reason: 'length' })).toBe(1);
    expect(pm.value('infergate_sim_remote_prefills_total')).toBe(0);
  });

  it('the remote call happens before the decode server prefills: its TTFT includes the prefill server', async () => {
    const p = await sim({ role: 'prefill', faults: { addedLatencyMs: 300 } });
    const d = await sim({ role: 'decode' });
    const start = performance.now();
    const r = await post(`${d.url}/v1/completions`, body('hello world'), {
      headers: { 'content-type': 'application/json', [PREFILLER_HEADER]: host(p) },
    });
    expect(r.status).toBe(200);
    expect(performance.now() - start).toBeGreaterThanOrEqual(290);
  });

  it('prefillBody drops stream options and max_completion_tokens', () => {
    expect(
      prefillBody({ model: 'm', prompt: 'x', stream: true, stream_options: {}, max_completion_tokens: 9 }),
    ).toEqual({
      model: 'm',
      prompt: 'x',
      stream: false,
      max_tokens: 1,
      kv_transfer_params: { do_remote_decode: true },
    });
  });
});

async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}
