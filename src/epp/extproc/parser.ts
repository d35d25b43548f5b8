// Where request bodies are parsed: the RequestParser seam between the ext_proc handler and the worker pool.
// The inline parser runs on the event loop; src/epp/workers provides one that offloads large bodies.

import type { ParsedRequest } from '../types';
import { parseRequestBody } from './parse';

export type ParseOutcome =
  | {
      ok: true;
      parsed: ParsedRequest;
      /** Prefix block hashes of parsed.prefixInput, when computed off-thread. */
      prefixHashes?: BigUint64Array;
      /** The model (+ cache_salt) prefixHashes were seeded with. */
      prefixHashesModel?: string;
      /** The block parameters prefixHashes were computed with. */
      prefixHashesParams?: { blockChars: number; maxBlocks: number };
    }
  | { ok: false; message: string };

export interface RequestParser {
  /** Parses a complete body. Never rejects for bad input (that is `ok: false`); rejects only on infrastructure failure. */
  parse(path: string | undefined, body: Buffer): Promise<ParseOutcome>;
}

export const inlineParser: RequestParser = {
  parse: (path, body) => Promise.resolve(parseRequestBody(path, body)),
};
