// Hermetic tables for the ext_proc handler: ProcessingRequest sequences + a deterministic director → the exact
// ProcessingResponses (summarised). No socket: ExtProcStream is driven directly.

import type { HandlerOptions } from '../../src/epp/extproc/stream';
import type { ProcessingRequest } from '../../generated/envoy/service/ext_proc/v3/external_processor';
import {
  FakeDirector,
  reqBody,
  reqHeaders,
  reqTrailers,
  respBody,
  respHeaders,
  respTrailers,
  run,
  summarize,
  type Summary,
} from './fakes';

const P1 = '10.0.0.1:8000';
const lb = (v: string) => ({ 'envoy.lb': { 'x-gateway-destination-endpoint': v } });
const routed = (dest: string, len: number, extra: Record<string, string> = {}): Summary => ({
  phase: 'requestHeaders',
  set: { 'x-gateway-destination-endpoint': dest, 'content-length': String(len), ...extra },
  clearRouteCache: true,
  metadata: lb(dest),
});
const H = { 'x-request-id': 'r1' };
const completion = (model: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model, prompt: 'hello', ...extra });

interface Case {
  name: string;
  msgs: ProcessingRequest[];
  want: Summary[];
  opts?: Partial<HandlerOptions>;
}

const b1 = completion('m');
const split = completion('m', { prompt: 'a'.repeat(100) });
const sse = (model: string, text: string) =>
  `data: {"id":"x","model":"${model}","choices":[{"text":"${text}"}]}\n\n`;

const cases: Case[] = [
  {
    name: 'single-chunk body: headers held until body end, then destination + body echoed',
    msgs: [reqHeaders(H), reqBody(b1)],
    want: [routed(P1, b1.length), { phase: 'requestBody', streamed: b1, eos: true }],
  },
  {
    name: 'body split over three chunks is reassembled and sent back whole',
    msgs: [
      reqHeaders(H),
      reqBody(split.slice(0, 10), false),
      reqBody(split.slice(10, 50), false),
      reqBody(split.slice(50)),
    ],
    want: [routed(P1, split.length), { phase: 'requestBody', streamed: split.length, eos: true }],
  },
  {
    name: 'nothing is sent before the body completes',
    msgs: [reqHeaders(H), reqBody(b1.slice(0, 5), false)],
    want: [],
  },
  {
    name: 'bad JSON → 400',
    msgs: [reqHeaders(H), reqBody('{"model": ')],
    want: [
      {
        immediate: 400,
        body: expect.stringMatching(/^inference error: BadRequest - error parsing request body/),
      },
    ],
  },
  {
    name: 'JSON that is not an object → 400',
    msgs: [reqHeaders(H), reqBody('[1,2]')],
    want: [
      { immediate: 400, body: 'inference error: BadRequest - error parsing request body: not a JSON object' },
    ],
  },
  {
    name: 'missing model → 400',
    msgs: [reqHeaders(H), reqBody('{"prompt":"x"}')],
    want: [{ immediate: 400, body: 'inference error: BadRequest - model not found in request body' }],
  },
  {
    name: 'invalid UTF-8 → 400',
    msgs: [reqHeaders(H), reqBody(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))],
    want: [{ immediate: 400, body: expect.stringContaining('BadRequest') }],
  },
  {
    name: 'subset hint as a list picks inside it',
    msgs: [reqHeaders(H, false, { subset: ['10.0.0.2:8000', '10.0.0.3:8000'] }), reqBody(b1)],
    want: [routed('10.0.0.2:8000', b1.length), { phase: 'requestBody', streamed: b1, eos: true }],
  },
  {
    name: 'subset hint as a comma string of IPs',
    msgs: [reqHeaders(H, false, { subset: '10.0.0.3, 10.0.0.2' }), reqBody(b1)],
    want: [routed('10.0.0.2:8000', b1.length), { phase: 'requestBody', streamed: b1, eos: true }],
  },
  {
    name: 'empty subset list → 503',
    msgs: [reqHeaders(H, false, { subset: [] }), reqBody(b1)],
    want: [
      { immediate: 503, body: 'inference error: ServiceUnavailable - failed to find endpoint candidates' },
    ],
  },
  {
    name: 'empty subset string → 503',
    msgs: [reqHeaders(H, false, { subset: '' }), reqBody(b1)],
    want: [
      { immediate: 503, body: 'inference error: ServiceUnavailable - failed to find endpoint candidates' },
    ],
  },
  {
    name: 'subset of unknown endpoints → 503',
    msgs: [reqHeaders(H, false, { subset: ['192.168.9.9'] }), reqBody(b1)],
    want: [
      { immediate: 503, body: 'inference error: ServiceUnavailable - failed to find endpoint candidates' },
    ],
  },
  {
    name: 'shed → 429',
    msgs: [reqHeaders(H), reqBody(completion('shed'))],
    want: [
      {
        immediate: 429,
        body: 'inference error: ResourceExhausted - system saturated, sheddable request dropped',
      },
    ],
  },
  {
    name: 'every endpoint filtered out → 429',
    msgs: [reqHeaders(H), reqBody(completion('filtered'))],
    want: [{ immediate: 429, body: 'inference error: ResourceExhausted - failed to find target endpoint' }],
  },
  {
    name: 'director throws → 500, process survives',
    msgs: [reqHeaders(H), reqBody(completion('boom'))],
    want: [{ immediate: 500, body: 'inference error: Internal - director failed: boom' }],
  },
  {
    name: 'test-epp-endpoint-selection names a comma list: header and metadata carry it alike',
    msgs: [reqHeaders({ ...H, 'test-epp-endpoint-selection': '10.0.0.3,10.0.0.1' }), reqBody(b1)],
    want: [
      routed('10.0.0.3:8000,10.0.0.1:8000', b1.length),
      { phase: 'requestBody', streamed: b1, eos: true },
    ],
  },
  {
    name: 'rewrite header: body re-serialised with the target, Content-Length fixed',
    msgs: [reqHeaders({ ...H, 'x-gateway-model-name-rewrite': 'llama-long-name' }), reqBody(completion('m'))],
    want: [
      routed(P1, completion('llama-long-name').length),
      { phase: 'requestBody', streamed: completion('llama-long-name'), eos: true },
    ],
  },
  {
    name: 'weighted rewrite (weights 0/1) always picks the weighted target',
    msgs: [reqHeaders(H), reqBody(completion('weighted'))],
    want: [
      routed(P1, completion('base-b').length),
      { phase: 'requestBody', streamed: completion('base-b'), eos: true },
    ],
  },
  {
    name: 'unmodified body is forwarded byte for byte (odd spacing kept)',
    msgs: [reqHeaders(H), reqBody('{ "model" :"m",   "prompt":"x" }')],
    want: [routed(P1, 32), { phase: 'requestBody', streamed: '{ "model" :"m",   "prompt":"x" }', eos: true }],
  },
  {
    name: 'headers-only request routes at once with an empty prompt',
    msgs: [reqHeaders({ ...H, ':method': 'GET', ':path': '/v1/models' }, true)],
    want: [
      {
        phase: 'requestHeaders',
        set: { 'x-gateway-destination-endpoint': P1 },
        clearRouteCache: true,
        metadata: lb(P1),
      },
    ],
  },
  {
    name: 'x-request-id generated when absent',
    msgs: [reqHeaders({}), reqBody(b1)],
    want: [
      routed(P1, b1.length, { 'x-request-id': 'gen-id' }),
      { phase: 'requestBody', streamed: b1, eos: true },
    ],
  },
  {
    name: 'oversized body → 413 and later messages ignored',
    opts: { maxBodyBytes: 64 },
    msgs: [reqHeaders(H), reqBody('x'.repeat(40), false), reqBody('x'.repeat(40), false), reqBody('x')],
    want: [
      {
        immediate: 413,
        body: 'inference error: PayloadTooLarge - request body is larger than the 64-byte limit (--max-body-bytes)',
      },
    ],
  },
  {
    name: 'BUFFERED: headers answered at once, destination and body on the body reply',
    msgs: [reqHeaders(H, false, { buffered: true }), reqBody(b1, true)],
    want: [
      { phase: 'requestHeaders' },
      {
        phase: 'requestBody',
        set: { 'x-gateway-destination-endpoint': P1, 'content-length': String(b1.length) },
        clearRouteCache: true,
        metadata: lb(P1),
      },
    ],
  },
  {
    name: 'BUFFERED with rewrite: whole replacement body',
    msgs: [
      reqHeaders({ ...H, 'x-gateway-model-name-rewrite': 't' }, false, { buffered: true }),
      reqBody(b1, true),
    ],
    want: [
      { phase: 'requestHeaders' },
      {
        phase: 'requestBody',
        set: { 'x-gateway-destination-endpoint': P1, 'content-length': String(completion('t').length) },
        clearRouteCache: true,
        metadata: lb(P1),
        body: completion('t'),
      },
    ],
  },
  {
    name: 'request trailers end the body: streamed without end_of_stream, then a trailers reply',
    msgs: [reqHeaders(H), reqBody(b1, false), reqTrailers()],
    want: [
      routed(P1, b1.length),
      { phase: 'requestBody', streamed: b1, eos: false },
      { phase: 'requestTrailers' },
    ],
  },
  {
    name: 'SSE response: each chunk passed on at once with the model name rewritten back',
    msgs: [
      reqHeaders({ ...H, 'x-gateway-model-name-rewrite': 'target' }),
      reqBody(completion('m', { stream: true })),
      respHeaders({ 'content-type': 'text/event-stream' }),
      respBody(sse('target', 'a'), false),
      respBody(sse('target', 'b'), false),
      respBody('data: [DONE]\n\n', true),
    ],
    want: [
      expect.objectContaining({ phase: 'requestHeaders' }),
      expect.objectContaining({ phase: 'requestBody', eos: true }),
      { phase: 'responseHeaders' },
      { phase: 'responseBody', streamed: sse('m', 'a'), eos: false },
      { phase: 'responseBody', streamed: sse('m', 'b'), eos: false },
      { phase: 'responseBody', streamed: 'data: [DONE]\n\n', eos: true },
    ],
  },
  {
    name: 'SSE: a partial line waits for its newline',
    msgs: [
      reqHeaders(H),
      reqBody(b1),
      respHeaders({ 'content-type': 'text/event-stream' }),
      respBody('data: {"a":', false),
      respBody('1}\n\n', true),
    ],
    want: [
      expect.objectContaining({ phase: 'requestHeaders' }),
      expect.objectContaining({ phase: 'requestBody' }),
      { phase: 'responseHeaders' },
      { phase: 'responseBody', streamed: 'data: {"a":1}\n\n', eos: true },
    ],
  },
  {
    name: 'JSON response with rewrite: buffered, model rewritten back (with a space after the colon too)',
    msgs: [
      reqHeaders({ ...H, 'x-gateway-model-name-rewrite': 't' }),
      reqBody(b1),
      respHeaders({ 'content-type': 'application/json' }),
      respBody('{"model": "t",', false),
      respBody('"x":1}', true),
    ],
    want: [
      expect.objectContaining({ phase: 'requestHeaders' }),
      expect.objectContaining({ phase: 'requestBody' }),
      { phase: 'responseHeaders' },
      { phase: 'responseBody', streamed: '{"model": "m","x":1}', eos: true },
    ],
  },
  {
    name: 'JSON response without rewrite: chunks pass through at once',
    msgs: [reqHeaders(H), reqBody(b1), respHeaders({}), respBody('{"a":', false), respBody('1}', true)],
    want: [
      expect.objectContaining({ phase: 'requestHeaders' }),
      expect.objectContaining({ phase: 'requestBody' }),
      { phase: 'responseHeaders' },
      { phase: 'responseBody', streamed: '{"a":', eos: false },
      { phase: 'responseBody', streamed: '1}', eos: true },
    ],
  },
  {
    name: 'BUFFERED response with rewrite: one whole-body reply',
    msgs: [
      reqHeaders({ ...H, 'x-gateway-model-name-rewrite': 't' }, false, { buffered: true }),
      reqBody(b1),
      respHeaders({}),
      respBody('{"model":"t"}', true),
    ],
    want: [
      { phase: 'requestHeaders' },
      expect.objectContaining({ phase: 'requestBody' }),
      { phase: 'responseHeaders' },
      { phase: 'responseBody', body: '{"model":"m"}' },
    ],
  },
  {
    name: 'response trailers get a trailers reply',
    msgs: [reqHeaders(H), reqBody(b1), respHeaders({}), respBody('{}', false), respTrailers()],
    want: [
      expect.objectContaining({ phase: 'requestHeaders' }),
      expect.objectContaining({ phase: 'requestBody' }),
      { phase: 'responseHeaders' },
      { phase: 'responseBody', streamed: '{}', eos: false },
      { phase: 'responseTrailers' },
    ],
  },
];

describe('ext_proc handler tables', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { out } = await run(c.msgs, c.opts);
    expect(out.map(summarize)).toEqual(c.want);
  });
});

describe('servedEndpointHeader (header-based-testing-filter parameter)', () => {
  const served = { served: '10.0.0.2:8000' };
  const director = () =>
    Object.assign(new FakeDirector(), { servedEndpointHeader: 'x-conformance-test-served-endpoint' });

  it('sets the header to the served endpoint from envoy.lb metadata on the response headers', async () => {
    const { out } = await run([reqHeaders(H), reqBody(b1), respHeaders({}, false, served)], {}, director());
    expect(summarize(out[2])).toEqual({
      phase: 'responseHeaders',
      set: { 'x-conformance-test-served-endpoint': '10.0.0.2:8000' },
    });
  });

  it('sets nothing when no served endpoint was reported, or when the director asks for no header', async () => {
    const a = await run([reqHeaders(H), reqBody(b1), respHeaders({})], {}, director());
    expect(summarize(a.out[2])).toEqual({ phase: 'responseHeaders' });
    const b = await run([reqHeaders(H), reqBody(b1), respHeaders({}, false, served)]);
    expect(summarize(b.out[2])).toEqual({ phase: 'responseHeaders' });
  });
});
