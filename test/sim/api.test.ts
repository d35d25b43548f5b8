// The OpenAI-compatible HTTP surface over real sockets: shapes, usage, streaming, errors, models, identity.

import { closeAll, MODEL, post, scrape, sim, stream, waitFor } from './helpers';

afterEach(closeAll);

describe('completions and chat', () => {
  it('answers a completion with text, usage and the identity header', async () => {
    const s = await sim();
    const r = await post(`${s.url}/v1/completions`, { model: MODEL, prompt: 'a'.repeat(40), max_tokens: 5 });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-infergate-sim')).toBe(`127.0.0.1:${s.port}`);
    expect(r.body).toMatchObject({
      object: 'text_completion',
      model: MODEL,
      choices: [{ index: 0, finish_reason: 'length' }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    });
    const text = (r.body.choices as { text: string }[])[0].text;
    expect(text.trim().split(' ')).toHaveLength(5);
  });

  it('defaults max_tokens to 16 and is deterministic for a seed', async () => {
    const s = await sim({ seed: 7 });
    const body = { model: MODEL, messages: [{ role: 'user', content: 'hello' }] };
    const a = await post(`${s.url}/v1/chat/completions`, body);
    const b = await post(`${s.url}/v1/chat/completions`, body);
    expect(a.body).toMatchObject({
      object: 'chat.completion',
      choices: [{ message: { role: 'assistant' }, finish_reason: 'length' }],
      usage: { completion_tokens: 16 },
    });
    const content = (r: typeof a) =>
      (r.body.choices as { message: { content: string } }[])[0].message.content;
    expect(content(a)).toBe(content(b));
  });

  it('echoes the last message in echo mode and stops early', async () => {
    const s = await sim({ mode: 'echo' });
    const r = await post(`${s.url}/v1/chat/completions`, {
      model: MODEL,
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: [{ type: 'text', text: 'say it back' }] },
      ],
      max_tokens: 10,
    });
    expect(r.body).toMatchObject({
      choices: [{ message: { content: ' say it back' }, finish_reason: 'stop' }],
      usage: { completion_tokens: 3 },
    });
  });

  it('streams completion chunks, a usage chunk with include_usage, then [DONE]', async () => {
    const s = await sim();
    const r = await stream(`${s.url}/v1/completions`, {
      model: MODEL,
      prompt: 'hello world',
      max_tokens: 4,
      stream_options: { include_usage: true },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    expect(r.done).toBe(true);
    expect(r.events).toHaveLength(6); // 4 tokens, the finish chunk, the usage chunk
    expect(r.events[3]).toMatchObject({ object: 'text_completion', choices: [{ finish_reason: null }] });
    expect(r.events[4]).toMatchObject({ choices: [{ text: '', finish_reason: 'length' }] });
    expect(r.events[5]).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 4 } });
  });

  it('streams chat deltas with the role first and no usage chunk unless asked', async () => {
    const s = await sim();
    const r = await stream(`${s.url}/v1/chat/completions`, {
      model: MODEL,
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 3,
    });
    expect(r.done).toBe(true);
    expect(r.events.map((e) => (e.choices as { delta: unknown }[])[0].delta)).toEqual([
      { role: 'assistant', content: expect.any(String) },
      { content: expect.any(String) },
      { content: expect.any(String) },
      {},
    ]);
    expect(r.events.every((e) => e.object === 'chat.completion.chunk' && e.usage === undefined)).toBe(true);
  });
});

describe('errors in the OpenAI shape', () => {
  it('404 for an unknown model, 400 for bad JSON and missing fields, 404/405 for routes', async () => {
    const s = await sim();
    const unknown = await post(`${s.url}/v1/completions`, { model: 'nope', prompt: 'x' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({
      error: {
        message: expect.stringContaining('nope'),
        type: 'NotFoundError',
        param: 'model',
        code: 'model_not_found',
      },
    });
    for (const bad of ['{not json', { prompt: 'x' }, { model: MODEL }, { model: MODEL, messages: [] }]) {
      const path = typeof bad === 'object' && 'messages' in bad ? 'chat/completions' : 'completions';
      const r = await post(`${s.url}/v1/${path}`, bad);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ type: 'invalid_request_error', message: expect.any(String) });
    }
    const tooLong = await post(`${s.url}/v1/completions`, {
      model: MODEL,
      prompt: 'x',
      max_tokens: 10_000_000,
    });
    expect(tooLong.status).toBe(400);
    expect((await post(`${s.url}/v1/nothing`, {})).status).toBe(404);
    expect((await fetch(`${s.url}/v1/completions`)).status).toBe(405);
  });

  it('429 once the waiting queue is at --max-waiting; queues without a limit', async () => {
    const s = await sim({ maxNumSeqs: 1, maxWaiting: 1, interTokenMs: 50 });
    const body = { model: MODEL, prompt: 'x', max_tokens: 10 };
    const first = post(`${s.url}/v1/completions`, body);
    const second = post(`${s.url}/v1/completions`, body);
    await waitFor(() => s.stats().running === 1 && s.stats().waiting === 1);
    const third = await post(`${s.url}/v1/completions`, body);
    expect(third.status).toBe(429);
    expect(third.body.error).toMatchObject({ code: 'rate_limit_exceeded' });
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
  });
});

describe('models and health', () => {
  it('lists the base model and LoRA adapters, including ones loaded at run time', async () => {
    const s = await sim({ loras: ['sql-lora', 'chat-lora'] });
    const ids = async () =>
      (
        (await (await fetch(`${s.url}/v1/models`)).json()) as {
          data: { id: string; parent: string | null }[];
        }
      ).data;
    expect(await ids()).toEqual([
      expect.objectContaining({ id: MODEL, parent: null }),
      expect.objectContaining({ id: 'sql-lora', parent: MODEL }),
      expect.objectContaining({ id: 'chat-lora', parent: MODEL }),
    ]);
    expect(
      (await post(`${s.url}/v1/completions`, { model: 'sql-lora', prompt: 'x', max_tokens: 1 })).status,
    ).toBe(200);
    const load = await fetch(`${s.url}/v1/load_lora_adapter`, {
      method: 'POST',
      body: JSON.stringify({ lora_name: 'new-lora', lora_path: '/adapters/new' }),
    });
    expect(load.status).toBe(200);
    expect((await ids()).map((m) => m.id)).toContain('new-lora');
    await fetch(`${s.url}/v1/unload_lora_adapter`, {
      method: 'POST',
      body: JSON.stringify({ lora_name: 'sql-lora' }),
    });
    expect((await ids()).map((m) => m.id)).not.toContain('sql-lora');
    expect((await post(`${s.url}/v1/completions`, { model: 'sql-lora', prompt: 'x' })).status).toBe(404);
  });

  it('is healthy and labels every response with its address', async () => {
    const s = await sim();
    const health = await fetch(`${s.url}/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get('x-infergate-sim')).toBe(`127.0.0.1:${s.port}`);
    const m = await scrape(s);
    expect(m.value('vllm:num_requests_running', { model_name: MODEL })).toBe(0);
  });
});
