// Fault flags: errors, added latency, stalls, dropped streams, unhealthy; each set at start or at run time.

import { closeAll, MODEL, post, scrape, sim, stream, waitFor } from './helpers';

afterEach(closeAll);

const body = { model: MODEL, prompt: 'hello', max_tokens: 8 };

describe('faults', () => {
  it('error rate 1 answers every inference request with a 500 in the OpenAI shape', async () => {
    const s = await sim({ faults: { errorRate: 1 } });
    const r = await post(`${s.url}/v1/completions`, body);
    expect(r.status).toBe(500);
    expect(r.body.error).toMatchObject({ type: 'InternalServerError', message: expect.any(String) });
    expect(r.headers.get('x-infergate-sim')).toBe(`127.0.0.1:${s.port}`);
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });

  it('an error rate of one half fails about half, reproducibly for a seed', async () => {
    const statuses = async () => {
      const s = await sim({ seed: 3, faults: { errorRate: 0.5 } });
      const out: number[] = [];
      for (let i = 0; i < 40; i++)
        out.push((await post(`${s.url}/v1/completions`, { ...body, max_tokens: 1 })).status);
      return out;
    };
    const a = await statuses();
    expect(a.filter((x) => x === 500).length).toBeGreaterThan(8);
    expect(a.filter((x) => x === 200).length).toBeGreaterThan(8);
    expect(await statuses()).toEqual(a);
  });

  it('added latency delays the first token', async () => {
    const plain = await sim();
    const slow = await sim({ faults: { addedLatencyMs: 300 } });
    const fast = await stream(`${plain.url}/v1/completions`, body);
    const delayed = await stream(`${slow.url}/v1/completions`, body);
    expect(delayed.done).toBe(true);
    // The added latency is a lower bound (a timer never fires early); comparing with the plain sim's figure would
    // fail whenever a busy machine slowed that one.
    console.log(
      `sim added latency: first token after ${delayed.firstEventMs.toFixed(0)} ms (plain ${fast.firstEventMs.toFixed(0)} ms)`,
    );
    expect(fast.done).toBe(true);
    expect(delayed.firstEventMs).toBeGreaterThanOrEqual(290); // 300 ms less timer rounding
  });

  it('a stalled request is never answered, while health and metrics still are; close() still returns', async () => {
    const s = await sim({ faults: { stallRate: 1 } });
    const outcome = await fetch(`${s.url}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(300),
    }).then(
      () => 'answered',
      (err: Error) => err.name,
    );
    expect(outcome).toBe('TimeoutError');
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    const pending = fetch(`${s.url}/v1/completions`, { method: 'POST', body: JSON.stringify(body) }).catch(
      () => 'cut',
    );
    await new Promise((r) => setTimeout(r, 50));
    await s.close();
    expect(await pending).toBe('cut');
  });

  it('a dropped stream ends midway without [DONE], and frees its seat', async () => {
    const s = await sim({ faults: { dropStreamRate: 1 } });
    const r = await stream(`${s.url}/v1/completions`, body);
    expect(r.done).toBe(false);
    expect(r.error).toBeDefined();
    expect(r.events.length).toBeGreaterThan(0);
    expect(r.events.length).toBeLessThan(8);
    const nonStreaming = await post(`${s.url}/v1/completions`, body).catch(() => 'cut');
    expect(nonStreaming).toBe('cut');
    await waitFor(() => s.stats().running === 0);
    expect((await scrape(s)).value('vllm:request_success_total', { finished_reason: 'abort' })).toBe(2);
  });

  it('unhealthy makes /health answer 503, and faults can be changed at run time', async () => {
    const s = await sim({ faults: { unhealthy: true } });
    expect((await fetch(`${s.url}/health`)).status).toBe(503);
    s.setFaults({ unhealthy: false });
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    s.setFaults({ errorRate: 1 });
    expect((await post(`${s.url}/v1/completions`, body)).status).toBe(500);
    expect(() => s.setFaults({ errorRate: 3 })).toThrow(/errorRate/);
  });

  it('a client that goes away frees its seat', async () => {
    const s = await sim({ maxNumSeqs: 1, interTokenMs: 50 });
    const controller = new AbortController();
    const gone = fetch(`${s.url}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ ...body, max_tokens: 100 }),
      signal: controller.signal,
    }).catch(() => 'aborted');
    await waitFor(() => s.stats().running === 1);
    controller.abort();
    expect(await gone).toBe('aborted');
    await waitFor(() => s.stats().running === 0);
    expect((await post(`${s.url}/v1/completions`, { ...body, max_tokens: 1 })).status).toBe(200);
  });
});
