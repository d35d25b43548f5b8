// The handler's other observable effects: what the director is given, the completion it gets (served endpoint,
// usage from JSON and SSE), chunking of large bodies, and the parser seam.

import { CHUNK_BYTES } from '../../src/epp/extproc/messages';
import { apiOfPath, parseRequestBody } from '../../src/epp/extproc/parse';
import { reqBody, reqHeaders, respBody, respHeaders, run, summarize } from './fakes';

const body = JSON.stringify({ model: 'm', prompt: 'hello' });

describe('ext_proc handler effects', () => {
  it('streams a 1 MB body back in 62,000-byte chunks, end_of_stream on the last only', async () => {
    const big = JSON.stringify({ model: 'm', prompt: 'x'.repeat(1024 * 1024) });
    const { out } = await run([
      reqHeaders({}),
      reqBody(big.slice(0, 300000), false),
      reqBody(big.slice(300000)),
    ]);
    const chunks = out.slice(1).map(summarize);
    expect(chunks).toHaveLength(Math.ceil(big.length / CHUNK_BYTES));
    expect(chunks.slice(0, -1).every((c) => c.streamed === CHUNK_BYTES && c.eos === false)).toBe(true);
    expect(chunks.at(-1)).toEqual({ phase: 'requestBody', streamed: big.length % CHUNK_BYTES, eos: true });
    const sent = Buffer.concat(
      out.slice(1).map((r) => {
        const m =
          r.response?.$case === 'requestBody' ? r.response.value.response?.bodyMutation?.mutation : undefined;
        return m?.$case === 'streamedResponse' ? m.value.body : Buffer.alloc(0);
      }),
    );
    expect(sent.equals(Buffer.from(big))).toBe(true);
  });

  it('hands the director control headers, path, subset and the parsed request', async () => {
    const headers = {
      'x-request-id': 'abc',
      'x-gateway-inference-objective': 'critical',
      'x-gateway-inference-fairness-id': 'tenant-a',
      ':path': '/v1/chat/completions?x=1',
    };
    const chat = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const { director } = await run([reqHeaders(headers, false, { subset: ['10.0.0.1'] }), reqBody(chat)]);
    const input = director.inputs[0];
    expect(input.requestId).toBe('abc');
    expect(input.headers).toMatchObject({
      'x-gateway-inference-objective': 'critical',
      'x-gateway-inference-fairness-id': 'tenant-a',
    });
    expect(input.path).toBe('/v1/chat/completions?x=1');
    expect(input.subset).toEqual(['10.0.0.1']);
    expect(input.parsed).toMatchObject({ api: 'chat/completions', model: 'm', stream: true });
    expect(Buffer.from(input.parsed.prefixInput).toString()).toBe('[{"role":"user","content":"hi"}]');
  });

  it('subset absent → undefined; headers-only → headersOnly with an empty prompt', async () => {
    const { director } = await run([reqHeaders({ ':method': 'GET' }, true)]);
    expect(director.inputs[0].subset).toBeUndefined();
    expect(director.inputs[0].headersOnly).toBe(true);
    expect(director.inputs[0].parsed.prefixInput.length).toBe(0);
  });

  it('reports served endpoint (envoy.lb metadata) and JSON usage on completion', async () => {
    const resp = JSON.stringify({
      model: 'm',
      usage: { prompt_tokens: 7, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 4 } },
    });
    const { director } = await run([
      reqHeaders({ 'x-request-id': 'r' }),
      reqBody(body),
      respHeaders({ 'content-type': 'application/json' }, false, { served: '10.0.0.2:8000' }),
      respBody(resp),
    ]);
    expect(director.completions).toEqual([
      {
        stream: director.inputs[0].stream,
        requestId: 'r',
        status: 200,
        servedEndpoint: '10.0.0.2:8000',
        promptTokens: 7,
        completionTokens: 3,
        cachedTokens: 4,
        durationSeconds: 0,
        streaming: false,
      },
    ]);
  });

  it('reads the served endpoint from the upstream.address attribute too', async () => {
    const { director } = await run([
      reqHeaders({}),
      reqBody(body),
      respHeaders({}, true, {
        attributes: { 'envoy.filters.http.ext_proc': { 'upstream.address': '10.0.0.3:8000' } },
      }),
    ]);
    expect(director.completions[0]).toMatchObject({ servedEndpoint: '10.0.0.3:8000', status: 200 });
  });

  it('reads usage from the SSE usage chunk (Responses API names too)', async () => {
    const { director } = await run([
      reqHeaders({}),
      reqBody(body),
      respHeaders({ 'content-type': 'text/event-stream; charset=utf-8', ':status': '200' }),
      respBody('data: {"choices":[{"text":"a"}]}\n\n', false),
      respBody(
        'data: {"choices":[],"usage":{"input_tokens":11,"output_tokens":5}}\n\ndata: [DONE]\n\n',
        true,
      ),
    ]);
    expect(director.completions[0]).toMatchObject({ streaming: true, promptTokens: 11, completionTokens: 5 });
  });

  it('completes once with status 499 when the stream ends before the response', async () => {
    const { director, stream } = await run([reqHeaders({}), reqBody(body)]);
    stream.close();
    stream.close();
    expect(director.completions).toHaveLength(1);
    expect(director.completions[0].status).toBe(499);
  });

  it('does not complete requests that were rejected', async () => {
    const { director, stream } = await run([reqHeaders({}), reqBody('{}')]);
    stream.close();
    expect(director.completions).toHaveLength(0);
  });

  it('uses the parser seam (e.g. a worker) and passes precomputed prefix hashes', async () => {
    const hashes = new BigUint64Array([1n, 2n]);
    const parser = {
      parse: async (p: string | undefined, b: Buffer) => ({
        ...(parseRequestBody(p, b) as { ok: true; parsed: never }),
        prefixHashes: hashes,
      }),
    };
    const { director } = await run([reqHeaders({}), reqBody(body)], { parser });
    expect(director.inputs[0].prefixHashes).toBe(hashes);
    expect(director.inputs[0].prefixHashesModel).toBe('m');
  });
});

describe('request parsing', () => {
  it.each([
    ['/v1/completions', 'completions'],
    ['/v1/chat/completions', 'chat/completions'],
    ['/v1/responses?stream=1', 'responses'],
    ['/v1/embeddings/', 'embeddings'],
    ['/v1/conversations', 'conversations'],
    ['/other', 'completions'],
  ])('%s → %s', (path, api) => expect(apiOfPath(path)).toBe(api));

  it('prompt arrays are joined; object prompts hashed as JSON', () => {
    const r = parseRequestBody('/v1/completions', Buffer.from('{"model":"m","prompt":["ab","cd"]}'));
    expect(r.ok && Buffer.from(r.parsed.prefixInput).toString()).toBe('abcd');
  });
});
