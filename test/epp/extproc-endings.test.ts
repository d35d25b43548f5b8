// How every ext_proc stream ends, hermetically: deep JSON (400), bodies over the limit on either side (413),
// failures before and after the headers reply (ImmediateResponse 500 while allowed, else a gRPC error), the
// stream's phase afterwards, and the completion hook run exactly once however the stream ends.

import type { ProcessingRequest } from '../../generated/envoy/service/ext_proc/v3/external_processor';
import { MAX_JSON_DEPTH, nestsDeeperThan, parseRequestBody } from '../../src/epp/extproc/parse';
import type { RequestParser } from '../../src/epp/extproc/parser';
import { ExtProcStream, type HandlerOptions } from '../../src/epp/extproc/stream';
import type { Decision, RequestInput } from '../../src/epp/types';
import {
  FakeDirector,
  reqBody,
  reqHeaders,
  reqTrailers,
  respBody,
  respHeaders,
  summarize,
  type Summary,
} from './fakes';

/** Drives a stream as the gRPC service does: a throw → fail(); false from fail() → the service's gRPC INTERNAL. */
async function drive(
  msgs: ProcessingRequest[],
  opts: Partial<HandlerOptions> = {},
  director = new FakeDirector(),
) {
  const out: Summary[] = [];
  const stream = new ExtProcStream(
    { director, now: () => 1000, newRequestId: () => 'gen-id', ...opts },
    (r) => out.push(summarize(r)),
  );
  let grpcError: string | undefined;
  for (const m of msgs) {
    try {
      await stream.handle(m);
    } catch (e) {
      if (!stream.fail(`internal error: ${(e as Error).message}`)) grpcError = (e as Error).message;
    }
    if (stream.done || grpcError) break;
  }
  return { out, stream, director, grpcError };
}

const nested = (open: string, close: string, depth: number, inner = '1') =>
  open.repeat(depth) + inner + close.repeat(depth);
const H = { 'x-request-id': 'r1' };
const BUF = { buffered: true };
const deep400 = {
  immediate: 400,
  body: `inference error: BadRequest - error parsing request body: JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
};

describe('JSON nesting bound', () => {
  it.each([
    ['messages 6,000 deep', `{"model":"m","messages":${nested('[', ']', 6000)}}`, '/v1/chat/completions'],
    ['prompt 20,000 deep', `{"model":"m","prompt":${nested('{"a":', '}', 20000)}}`, '/v1/completions'],
    ['an extra field 200,000 deep', `{"model":"m","x":${nested('[', ']', 200000)}}`, '/v1/completions'],
    ['the model itself nested', `{"model":${nested('[', ']', 5000)}}`, '/v1/completions'],
  ])('%s → 400 naming the limit', async (_name, body, path) => {
    const { out, stream } = await drive([reqHeaders({ ...H, ':path': path }), reqBody(body)]);
    expect(out).toEqual([deep400]);
    expect(stream.state).toBe('done');
  });

  it(`${MAX_JSON_DEPTH} levels parse; ${MAX_JSON_DEPTH + 1} do not`, () => {
    // The body object is level 1, so the field adds MAX_JSON_DEPTH - 1 levels.
    const at = (d: number) => Buffer.from(`{"model":"m","x":${nested('[', ']', d - 1)}}`);
    expect(parseRequestBody('/v1/completions', at(MAX_JSON_DEPTH)).ok).toBe(true);
    expect(parseRequestBody('/v1/completions', at(MAX_JSON_DEPTH + 1))).toEqual({
      ok: false,
      message: `error parsing request body: JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
    });
  });

  it.each([
    ['brackets inside strings do not count', '{"a":"[[[[[[","b":[1]}', 2, false],
    ['an escaped quote does not end the string', '{"a":"x\\"[[[[","b":[1]}', 2, false],
    ['an escaped backslash does end it', '{"a":"x\\\\","b":[[[1]]]}', 3, true],
    ['unterminated string: left to JSON.parse', '{"a":"[[[[', 1, false],
    ['depth over the limit', '[[[]]]', 2, true],
    ['siblings do not add up', '[[],[],[],[]]', 2, false],
  ])('byte scan: %s', (_name, text, limit, deeper) => {
    expect(nestsDeeperThan(Buffer.from(text), limit)).toBe(deeper);
  });
});

describe('bodies over --max-body-bytes get 413 in every mode', () => {
  const limit = { maxBodyBytes: 1000 };
  const big = JSON.stringify({ model: 'm', prompt: 'x'.repeat(1200) });
  const over413 = {
    immediate: 413,
    body: 'inference error: PayloadTooLarge - request body is larger than the 1000-byte limit (--max-body-bytes)',
  };

  it('BUFFERED: one message over the limit, after the headers reply', async () => {
    const { out, stream } = await drive([reqHeaders(H, false, BUF), reqBody(big, true, BUF)], limit);
    expect(out).toEqual([{ phase: 'requestHeaders' }, over413]);
    expect(stream.state).toBe('done');
  });

  it('streamed: the chunk that crosses the limit', async () => {
    const { out } = await drive(
      [reqHeaders(H), reqBody(big.slice(0, 600), false), reqBody(big.slice(600, 1100), false)],
      limit,
    );
    expect(out).toEqual([over413]);
  });

  it('response side: a body it must hold to rewrite the model name', async () => {
    const d = new FakeDirector();
    const resp = JSON.stringify({ model: 't', text: 'y'.repeat(1200) });
    const { out, stream } = await drive(
      [
        reqHeaders({ ...H, 'x-gateway-model-name-rewrite': 't' }),
        reqBody(JSON.stringify({ model: 'm' })),
        respHeaders({ 'content-type': 'application/json' }),
        respBody(resp.slice(0, 700), false),
        respBody(resp.slice(700), false),
      ],
      limit,
      d,
    );
    expect(out.at(-1)).toMatchObject({ immediate: 413 });
    expect(String(out.at(-1)!.body)).toContain('response body is larger than the 1000-byte limit');
    expect(stream.state).toBe('done');
    expect(d.completions.map((c) => c.status)).toEqual([413]);
  });

  it('response side without a rewrite passes a large body through (usage unread, nothing held)', async () => {
    const resp = 'z'.repeat(1500);
    const d = new FakeDirector();
    const { out } = await drive(
      [
        reqHeaders(H),
        reqBody(JSON.stringify({ model: 'm' })),
        respHeaders({}),
        respBody(resp.slice(0, 800), false),
        respBody(resp.slice(800), true),
      ],
      limit,
      d,
    );
    expect(out.slice(-2).map((o) => o.streamed)).toEqual([800, 700]);
    expect(d.completions).toHaveLength(1);
  });
});

describe('failures end the stream', () => {
  const throwing: RequestParser = { parse: () => Promise.reject(new RangeError('stack exploded')) };

  it('BUFFERED: a failure after the headers reply gets an ImmediateResponse 500, not silence', async () => {
    const { out, stream, grpcError } = await drive(
      [reqHeaders(H, false, BUF), reqBody('{"model":"m"}', true, BUF)],
      { parser: throwing },
    );
    expect(out).toEqual([
      { phase: 'requestHeaders' },
      { immediate: 500, body: 'inference error: Internal - internal error: stack exploded' },
    ]);
    expect(grpcError).toBeUndefined();
    expect(stream.done).toBe(true);
  });

  it('a failure once the response headers were answered can only be a gRPC error', async () => {
    const { stream } = await drive([reqHeaders(H), reqBody('{"model":"m"}'), respHeaders({})]);
    expect(stream.state).toBe('responding');
    expect(stream.fail('late')).toBe(false);
  });

  it('request headers twice is a protocol error answered with 500', async () => {
    const { out } = await drive([reqHeaders(H), reqHeaders(H)]);
    expect(out).toEqual([
      {
        immediate: 500,
        body: 'inference error: Internal - internal error: request headers in phase body',
      },
    ]);
  });

  it('a throwing director is a 500 and nothing stays in flight', async () => {
    const d = new FakeDirector();
    const { out } = await drive([reqHeaders(H), reqBody('{"model":"boom"}')], {}, d);
    expect(out).toEqual([{ immediate: 500, body: 'inference error: Internal - director failed: boom' }]);
    expect(d.completions).toEqual([]);
  });
});

describe('phases and completion', () => {
  it('done once the response completed (the service then ends the stream with OK)', async () => {
    const d = new FakeDirector();
    const { stream } = await drive(
      [reqHeaders(H), reqBody('{"model":"m"}'), respHeaders({}), respBody('{}', true)],
      {},
      d,
    );
    expect(stream.state).toBe('done');
    stream.close();
    expect(d.completions.map((c) => c.status)).toEqual([200]);
  });

  it('trailers before the body ends finish the request; still routed afterwards', async () => {
    const { out, stream } = await drive([reqHeaders(H), reqBody('{"model":"m"}', false), reqTrailers()]);
    expect(out.map((o) => o.phase)).toEqual(['requestHeaders', 'requestBody', 'requestTrailers']);
    expect(stream.state).toBe('routed');
  });

  it('closed while the body is parsed: no decision, no completion', async () => {
    let release!: () => void;
    const parser: RequestParser = {
      parse: (p, b) =>
        new Promise((resolve) => {
          release = () => resolve(parseRequestBody(p, b));
        }),
    };
    const d = new FakeDirector();
    const s = new ExtProcStream({ director: d, parser }, () => {});
    await s.handle(reqHeaders(H));
    const pending = s.handle(reqBody('{"model":"m"}'));
    await new Promise((r) => setImmediate(r));
    s.close();
    release();
    await pending;
    expect(d.inputs).toEqual([]);
    expect(d.completions).toEqual([]);
  });

  it('closed while the director decides: the late decision is completed at once (499), exactly once', async () => {
    let resolve!: (d: Decision) => void;
    const d = new FakeDirector();
    d.decide = (input: RequestInput) => {
      d.inputs.push(input);
      return new Promise<Decision>((r) => (resolve = r));
    };
    const sent: unknown[] = [];
    const s = new ExtProcStream({ director: d }, (r) => sent.push(r));
    await s.handle(reqHeaders(H));
    const pending = s.handle(reqBody('{"model":"m"}'));
    await new Promise((r) => setImmediate(r));
    s.close();
    resolve({
      kind: 'route',
      endpoints: ['10.0.0.1:8000'],
      incomingModel: 'm',
      targetModel: 'm',
      priority: 0,
    });
    await pending;
    s.close();
    expect(sent).toEqual([]);
    expect(d.completions.map((c) => [c.status, c.stream === d.inputs[0].stream])).toEqual([[499, true]]);
  });

  it('an ImmediateResponse after routing completes the request with its status', async () => {
    const d = new FakeDirector();
    const s = new ExtProcStream({ director: d }, () => {});
    await s.handle(reqHeaders(H));
    await s.handle(reqBody('{"model":"m"}'));
    expect(s.fail('late failure')).toBe(true);
    s.close();
    expect(d.completions.map((c) => c.status)).toEqual([500]);
  });
});
