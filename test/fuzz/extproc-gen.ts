// Random ext_proc exchanges: request bodies (valid, wrong types, deep nesting, unicode and invalid UTF-8, non-JSON,
// over the size limit), chunk splits, both body modes, headers (colliding x-request-ids), subset hints,
// cancellations, and a response side. Each case carries the outcomes the protocol allows for it.

import { Rng } from './rng';

/** What one stream ended as; `routed` means a destination that is a pool member (checked by the driver). */
export type Outcome =
  | 'routed'
  | `immediate-${number}`
  | `grpc-${number}`
  | 'cancelled'
  | 'closed-early'
  | 'hang'
  | 'bad-destination'
  | 'bad-reply';

export interface ResponsePlan {
  status: string;
  contentType: string;
  chunks: Buffer[];
  served?: string;
  trailers: boolean;
}

export interface ExtProcCase {
  seq: number;
  kind: string;
  buffered: boolean;
  headers: Record<string, string>;
  headersEos: boolean;
  body: Buffer;
  /** Cut points inside `body` (BUFFERED sends one message whatever the cuts). */
  cuts: number[];
  /** End the request with a trailers message instead of end_of_stream on the last chunk. */
  trailers: boolean;
  subset?: unknown;
  /** Pool members the subset names (undefined: no hint, so any member). */
  subsetMembers?: string[];
  /** Where the client cancels, if it does: after this many request messages, or after the decision. */
  cancelAfter?: number | 'decision' | 'response-headers';
  /** Half-close before the request is complete (the driver expects the EPP to end the stream cleanly). */
  halfCloseAfter?: number;
  response?: ResponsePlan;
  /** The outcomes this input may end in; undefined when several are defensible. */
  expect?: Outcome[];
}

export interface GenContext {
  model: string;
  /** Pool members as ip:port. */
  members: string[];
  maxBodyBytes: number;
}

export const DEEP_DEPTHS = [6000, 20_000, 200_000];
const ROUTED: Outcome[] = ['routed', 'immediate-429'];
const BAD: Outcome[] = ['immediate-400'];

interface Body {
  kind: string;
  body: Buffer;
  expect?: Outcome[];
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

function nested(open: string, close: string, depth: number, inner: string): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

function wrongValue(r: Rng): unknown {
  return r.pick<unknown>([42, -1.5e308, null, true, [], {}, ['a', 1], { text: 'x' }, '', [{ role: 1 }]]);
}

function genBody(r: Rng, c: GenContext, model: string): Body {
  const prompt = () => r.text(r.chance(0.3) ? r.int(64, 3000) : r.int(0, 120));
  const kind = r.weighted({
    completion: 30,
    chat: 15,
    wrongModel: 6,
    missingModel: 3,
    wrongPrompt: 5,
    wrongMessages: 5,
    deepMessages: 2,
    deepPrompt: 2,
    deepExtra: 2,
    shallowNest: 3,
    notJson: 6,
    bytes: 4,
    truncated: 4,
    topLevel: 3,
    invalidUtf8: 5,
    unicodeKeys: 3,
    large: 0.15,
    overLimit: 0.08,
  });
  switch (kind) {
    case 'completion':
      return { kind, body: json({ model, prompt: prompt(), max_tokens: r.int(1, 64) }), expect: ROUTED };
    case 'chat': {
      const messages = Array.from({ length: r.int(1, 6) }, () => ({
        role: r.pick(['system', 'user', 'assistant']),
        content: prompt(),
      }));
      return { kind, body: json({ model, messages, stream: r.chance(0.5) }), expect: ROUTED };
    }
    case 'wrongModel':
      return { kind, body: json({ model: wrongValue(r), prompt: prompt() }), expect: BAD };
    case 'missingModel':
      return { kind, body: json({ prompt: prompt() }), expect: BAD };
    case 'wrongPrompt':
      return { kind, body: json({ model, prompt: wrongValue(r) }) };
    case 'wrongMessages':
      return { kind, body: json({ model, messages: wrongValue(r) }) };
    case 'deepMessages': {
      const d = r.pick(DEEP_DEPTHS);
      const b = `{"model":${JSON.stringify(model)},"messages":${nested('[', ']', d, '{"role":"user","content":"x"}')}}`;
      return { kind, body: Buffer.from(b), expect: BAD };
    }
    case 'deepPrompt': {
      const d = r.pick(DEEP_DEPTHS);
      return {
        kind,
        body: Buffer.from(`{"model":${JSON.stringify(model)},"prompt":${nested('[', ']', d, '"x"')}}`),
        expect: BAD,
      };
    }
    case 'deepExtra': {
      const d = r.pick(DEEP_DEPTHS);
      const extra = nested('{"a":', '}', d, '1');
      return {
        kind,
        body: Buffer.from(`{"model":${JSON.stringify(model)},"prompt":"hello","extra":${extra}}`),
        expect: BAD,
      };
    }
    case 'shallowNest': {
      const d = r.int(2, 40);
      return { kind, body: Buffer.from(`{"model":"${model}","prompt":"p","x":${nested('[', ']', d, '1')}}`) };
    }
    case 'notJson':
      return { kind, body: Buffer.from(r.text(r.int(1, 400))), expect: BAD };
    case 'bytes':
      return { kind, body: r.bytes(r.int(1, 2000)) };
    case 'truncated': {
      const b = JSON.stringify({ model, prompt: prompt() });
      return { kind, body: Buffer.from(b.slice(0, r.int(1, b.length - 1))), expect: BAD };
    }
    case 'topLevel':
      return {
        kind,
        body: json(r.pick<unknown>([[1, 2], 'model', 7, null, true, [{ model }]])),
        expect: BAD,
      };
    case 'invalidUtf8': {
      const b = Buffer.from(JSON.stringify({ model, prompt: `${prompt()}@@${prompt()}` }));
      const at = b.indexOf('@@');
      b[at] = r.pick([0xff, 0xc3, 0xed, 0x80]);
      b[at + 1] = r.pick([0xfe, 0x28, 0xa0, 0xbf]);
      return { kind, body: b };
    }
    case 'unicodeKeys': {
      const o: Record<string, unknown> = { model, prompt: prompt() };
      for (let i = 0; i < r.int(1, 20); i++) o[r.text(r.int(1, 12))] = r.text(r.int(0, 30));
      o.model = model;
      return { kind, body: json(o), expect: ROUTED };
    }
    case 'large': // over the inline threshold (1 MiB): the worker path
      return {
        kind,
        body: json({ model, prompt: 'large prompt '.repeat(Math.ceil(r.int(1_100_000, 1_400_000) / 13)) }),
        expect: ROUTED,
      };
    case 'overLimit':
    default: {
      const n = c.maxBodyBytes + r.int(1, 256 * 1024);
      const b = Buffer.alloc(n, 0x61);
      Buffer.from(`{"model":"${model}","prompt":"`).copy(b);
      return { kind: 'overLimit', body: b, expect: ['immediate-413'] };
    }
  }
}

const ID_POOL = ['fuzz-a', 'fuzz-b', 'fuzz-c'];

function genHeaders(r: Rng, c: GenContext): Record<string, string> {
  const h: Record<string, string> = {
    ':method': r.chance(0.95) ? 'POST' : r.pick(['GET', 'PUT', 'DELETE', '']),
    ':path': r.pick(['/v1/completions', '/v1/chat/completions', '/v1/responses', '/', '/x?y=z', '']),
    ':authority': 'fuzz',
  };
  if (r.chance(0.9)) h['content-type'] = r.pick(['application/json', 'text/plain', '']);
  // Colliding request ids across concurrent streams: the in-flight state must be keyed by the stream.
  if (r.chance(0.5)) h['x-request-id'] = r.chance(0.7) ? r.pick(ID_POOL) : r.text(r.int(0, 40));
  if (r.chance(0.2)) h['x-gateway-inference-objective'] = r.pick(['critical', 'sheddable', r.text(8)]);
  if (r.chance(0.1)) h['x-gateway-inference-fairness-id'] = r.text(r.int(0, 16));
  if (r.chance(0.05)) h['x-gateway-model-name-rewrite'] = r.pick([c.model, r.text(10)]);
  if (r.chance(0.05)) h['x-gateway-destination-endpoint'] = r.pick(['10.9.9.9:80', c.members[0]]);
  // A client must not be able to steer: a pod outside the pool here must never come back as a destination.
  if (r.chance(0.03)) h['test-epp-endpoint-selection'] = r.pick(['10.9.9.9', '10.9.9.9:80', c.members[0]]);
  for (let i = 0; i < r.int(0, 4); i++) h[`x-fuzz-${r.int(0, 999)}`] = r.text(r.int(0, 60));
  return h;
}

function genSubset(r: Rng, c: GenContext): Pick<ExtProcCase, 'subset' | 'subsetMembers'> {
  const ip = (m: string) => m.slice(0, m.lastIndexOf(':'));
  switch (r.weighted({ none: 75, members: 10, csv: 4, empty: 3, foreign: 4, garbage: 4 })) {
    case 'members': {
      const picked = c.members.filter(() => r.chance(0.5));
      const list = picked.length ? picked : [c.members[0]];
      return { subset: r.chance(0.5) ? list : list.map(ip), subsetMembers: list };
    }
    case 'csv': {
      const list = [c.members[r.int(0, c.members.length - 1)]];
      return { subset: list.join(','), subsetMembers: list };
    }
    case 'empty':
      return { subset: [], subsetMembers: [] };
    case 'foreign':
      return { subset: ['10.99.0.1:8000', '10.99.0.2'], subsetMembers: [] };
    case 'garbage':
      return { subset: r.pick<unknown>([42, { a: 1 }, [1, 2], [null], true]) };
    default:
      return {};
  }
}

function genResponse(r: Rng, c: GenContext, buffered: boolean): ResponsePlan {
  const sse = r.chance(0.4);
  const chunks: Buffer[] = [];
  if (sse) {
    for (let i = 0; i < r.int(1, 8); i++)
      chunks.push(Buffer.from(`data: {"model":"${c.model}","choices":[{"text":"${r.text(3)}"}]}\n\n`));
    if (r.chance(0.5))
      chunks.push(Buffer.from('data: {"usage":{"prompt_tokens":3,"completion_tokens":5}}\n\n'));
    chunks.push(Buffer.from('data: [DONE]\n\n'));
  } else {
    const body = r.chance(0.7)
      ? JSON.stringify({
          model: c.model,
          usage: { prompt_tokens: r.int(0, 9), completion_tokens: r.int(0, 9) },
        })
      : r.text(r.int(0, 200));
    const b = Buffer.from(body);
    const cut = buffered ? b.length : r.int(0, b.length);
    chunks.push(b.subarray(0, cut));
    if (cut < b.length) chunks.push(b.subarray(cut));
  }
  return {
    status: r.pick(['200', '200', '200', '500', '429', 'abc']),
    contentType: sse ? 'text/event-stream' : r.pick(['application/json', 'text/plain']),
    chunks,
    served: r.chance(0.7) ? c.members[0] : r.chance(0.5) ? r.text(10) : undefined,
    trailers: r.chance(0.1),
  };
}

function cutsFor(r: Rng, n: number): number[] {
  if (n === 0 || r.chance(0.4)) return [];
  const k = r.int(1, Math.min(12, n));
  const cuts = new Set<number>();
  for (let i = 0; i < k; i++) cuts.add(r.int(0, n));
  return [...cuts].sort((a, b) => a - b);
}

export function generateCase(r: Rng, c: GenContext, seq: number): ExtProcCase {
  const buffered = r.chance(0.35);
  const headers = genHeaders(r, c);
  const model = r.chance(0.9) ? c.model : r.text(r.int(1, 24));
  const headersEos = r.chance(0.06);
  const b = headersEos
    ? { kind: 'headersOnly', body: Buffer.alloc(0), expect: ROUTED }
    : genBody(r, c, model);
  const cuts = buffered ? [] : cutsFor(r, b.body.length);
  const s = genSubset(r, c);
  let expect = b.expect;
  if (s.subsetMembers && s.subsetMembers.length === 0) {
    // No eligible endpoint: 503, unless the body was already refused (the parse comes first).
    expect = expect === BAD ? ['immediate-400', 'immediate-503'] : expect ? ['immediate-503'] : undefined;
  }
  // A hint of the wrong type (a number, a map, a list of non-strings) may be read as "no eligible endpoint" (503) or
  // ignored (routed): both are defensible.
  if (s.subset !== undefined && s.subsetMembers === undefined) expect = undefined;
  if (b.kind === 'overLimit') expect = ['immediate-413'];
  const messages = 1 + (headersEos ? 0 : cuts.length + 1);
  const c1: ExtProcCase = {
    seq,
    kind: b.kind,
    buffered,
    headers,
    headersEos,
    body: b.body,
    cuts,
    trailers: !headersEos && !buffered && r.chance(0.05),
    ...s,
    expect,
  };
  const end = r.weighted({ full: 80, cancel: 12, halfClose: 4 });
  if (end === 'cancel') {
    c1.cancelAfter = r.chance(0.5) ? r.int(0, messages) : r.pick(['decision', 'response-headers'] as const);
  } else if (end === 'halfClose' && messages > 1) {
    c1.halfCloseAfter = r.int(1, messages - 1);
  }
  if (c1.cancelAfter !== 'decision' && r.chance(0.7)) c1.response = genResponse(r, c, buffered);
  if (c1.cancelAfter === 'response-headers' && !c1.response) c1.cancelAfter = 'decision';
  return c1;
}
