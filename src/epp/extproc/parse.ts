// Parses an OpenAI-style request body once into the typed ParsedRequest the director sees. Pure: no I/O, so it
// runs the same inline and inside a worker thread.

import type { ParsedRequest } from '../types';

const APIS = ['conversations', 'responses', 'chat/completions', 'completions', 'embeddings'] as const;
const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export type ParseResult = { ok: true; parsed: ParsedRequest } | { ok: false; message: string };

/**
 * Deepest JSON nesting a request body may have. JSON.stringify, structured clone (to and from workers) and the
 * rewrite re-serialisation recurse per level and overflow the stack a few thousand levels down; OpenAI-style
 * requests (tool schemas included) stay far below this.
 */
export const MAX_JSON_DEPTH = 128;

/**
 * Whether `bytes` nests objects/arrays deeper than `limit`, by one pass over the structural bytes: strings are
 * skipped with indexOf (native), so a 1 MB prompt costs microseconds. Assumes nothing about validity: JSON.parse
 * still judges the syntax.
 */
export function nestsDeeperThan(bytes: Uint8Array, limit: number): boolean {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let depth = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === QUOTE) {
      i = closingQuote(b, i);
      if (i < 0) return false;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Index of the quote that closes the string opened at `open` (one preceded by an even run of backslashes), or -1. */
function closingQuote(b: Buffer, open: number): number {
  let j = open;
  for (;;) {
    j = b.indexOf(QUOTE, j + 1);
    if (j < 0) return -1;
    let k = j - 1;
    while (b[k] === BACKSLASH) k--;
    if ((j - k) % 2 === 1) return j;
  }
}

/** Which API a request path names, by suffix (query string ignored); `/v1/completions` when none matches. */
export function apiOfPath(path: string | undefined): string {
  if (!path) return 'completions';
  const q = path.indexOf('?');
  const p = (q >= 0 ? path.slice(0, q) : path).replace(/\/+$/, '');
  for (const api of APIS) if (p.endsWith('/' + api) || p === api) return api;
  return 'completions';
}

/** The request a headers-only call (GET, or a POST without body) stands for: no model, empty prompt. */
export function emptyRequest(path: string | undefined): ParsedRequest {
  return { api: apiOfPath(path), model: '', stream: false, body: {}, prefixInput: EMPTY };
}

/** JSON body bytes → ParsedRequest, or the 400 message the client should see. */
export function parseRequestBody(path: string | undefined, bytes: Uint8Array): ParseResult {
  if (nestsDeeperThan(bytes, MAX_JSON_DEPTH)) {
    return {
      ok: false,
      message: `error parsing request body: JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
    };
  }
  let text: string;
  let value: unknown;
  try {
    text = decoder.decode(bytes);
    value = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      message: `error parsing request body: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, message: 'error parsing request body: not a JSON object' };
  }
  const body = value as Record<string, unknown>;
  const model = body.model;
  if (typeof model !== 'string' || model === '') {
    return { ok: false, message: 'model not found in request body' };
  }
  const api = apiOfPath(path);
  return {
    ok: true,
    parsed: { api, model, stream: body.stream === true, body, prefixInput: prefixInputOf(api, body) },
  };
}

/** The text the prefix cache hashes: the prompt for completions, the JSON of the messages for chat. */
export function prefixInputOf(api: string, body: Record<string, unknown>): Uint8Array {
  let source: unknown;
  if (api === 'chat/completions') source = body.messages;
  else if (api === 'responses' || api === 'embeddings') source = body.input;
  else if (api === 'conversations') source = body.items ?? body.input;
  else source = body.prompt;
  if (source === undefined || source === null) return EMPTY;
  if (typeof source === 'string') return utf8.encode(source);
  if (Array.isArray(source) && source.every((s) => typeof s === 'string'))
    return utf8.encode(source.join(''));
  return utf8.encode(JSON.stringify(source));
}
