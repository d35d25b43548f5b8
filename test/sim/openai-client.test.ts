// The real OpenAI client library against the simulator, streaming and not.

import OpenAI from 'openai';
import { closeAll, MODEL, sim } from './helpers';

afterEach(closeAll);

describe('openai client', () => {
  it('completes, chats and streams with usage', async () => {
    const s = await sim({ loras: ['sql-lora'] });
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 });

    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL, 'sql-lora']);

    const completion = await client.completions.create({ model: MODEL, prompt: 'Say hello', max_tokens: 5 });
    expect(completion.choices[0].text.trim().split(' ')).toHaveLength(5);
    expect(completion.usage).toMatchObject({ completion_tokens: 5 });

    const chat = await client.chat.completions.create({
      model: 'sql-lora',
      messages: [{ role: 'user', content: 'SELECT something' }],
      max_tokens: 4,
    });
    expect(chat.choices[0].message).toMatchObject({ role: 'assistant', content: expect.any(String) });
    expect(chat.choices[0].finish_reason).toBe('length');

    const chunks = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'stream please' }],
      max_tokens: 6,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of chunks) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.trim().split(' ')).toHaveLength(6);
    expect(usage).toMatchObject({ completion_tokens: 6, total_tokens: usage!.prompt_tokens + 6 });

    const stream = await client.completions.create({
      model: MODEL,
      prompt: 'go',
      max_tokens: 3,
      stream: true,
    });
    let n = 0;
    for await (const chunk of stream) if (chunk.choices[0]?.text) n++;
    expect(n).toBe(3);
  });

  it('surfaces simulator errors as the client error classes', async () => {
    const s = await sim({ maxNumSeqs: 1, maxWaiting: 1 });
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    await expect(client.completions.create({ model: 'missing', prompt: 'x' })).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
    await expect(
      client.completions.create({ model: MODEL, prompt: 'x', max_tokens: 0 }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });
});
