// The worker task: parse a request body and (optionally) hash its prefix blocks. Plain data in and out, so it
// runs the same in a worker thread and inline; the body arrives as a transferred ArrayBuffer.

import { blockHashes } from '../prefix/hash';
import { parseRequestBody } from '../extproc/parse';
import type { ParsedRequest } from '../types';

export interface HashParams {
  /** Bytes per block (blockSizeTokens × 4). */
  blockChars: number;
  maxBlocks: number;
}

export interface ParseTask {
  path: string | undefined;
  /** A copy of the body the worker owns (transferred, not cloned). */
  body: ArrayBuffer;
  hash?: HashParams;
}

export type ParseTaskResult =
  | {
      ok: true;
      api: string;
      model: string;
      stream: boolean;
      body: Record<string, unknown>;
      prefixInput: Uint8Array;
      prefixHashes?: BigUint64Array;
      /** The seed of prefixHashes: the incoming model + cache_salt. */
      prefixHashesModel?: string;
      /** The block parameters prefixHashes were computed with (task.hash). */
      prefixHashesParams?: HashParams;
    }
  | { ok: false; message: string };

/** The hash seed for a model, as the director computes it (target model + the request's cache_salt). */
export function hashSeed(model: string, body: Record<string, unknown>): string {
  const salt = body.cache_salt;
  return typeof salt === 'string' && salt !== '' ? model + salt : model;
}

export function runParseTask(task: ParseTask): ParseTaskResult {
  const r = parseRequestBody(task.path, new Uint8Array(task.body));
  if (!r.ok) return r;
  const p = r.parsed;
  const seed = hashSeed(p.model, p.body);
  const prefixHashes = task.hash
    ? blockHashes(seed, p.prefixInput, task.hash.blockChars, task.hash.maxBlocks)
    : undefined;
  return {
    ok: true,
    api: p.api,
    model: p.model,
    stream: p.stream,
    body: p.body,
    prefixInput: p.prefixInput,
    prefixHashes,
    prefixHashesModel: prefixHashes ? seed : undefined,
    prefixHashesParams: prefixHashes ? task.hash : undefined,
  };
}

export function toParsed(r: Extract<ParseTaskResult, { ok: true }>): ParsedRequest {
  return { api: r.api, model: r.model, stream: r.stream, body: r.body, prefixInput: r.prefixInput };
}
