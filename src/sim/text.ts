// Deterministic pseudo-randomness and the simulator's notion of tokens: about `charsPerToken` characters each.

import { createHash } from 'node:crypto';

/** mulberry32: a tiny seeded generator; plenty for fault draws and word choice. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed derived from strings, so a request's output depends only on the seed and its own content. */
export function seedOf(...parts: (string | number)[]): number {
  return createHash('sha1').update(parts.join('\u0000')).digest().readUInt32LE(0);
}

export function countTokens(text: string, charsPerToken: number): number {
  return Math.ceil(text.length / charsPerToken);
}

/**
 * Chain hashes of the prompt's full blocks (a partial tail block is never cached, as in vLLM):
 * h0 = H(model), h_i = H(h_{i-1} ‖ block_i). Equal prefixes give equal leading hashes.
 */
export function blockHashes(model: string, text: string, blockChars: number): string[] {
  const hashes: string[] = [];
  let prev = createHash('sha1').update(model).digest('hex');
  for (let end = blockChars; end <= text.length; end += blockChars) {
    prev = createHash('sha1')
      .update(prev)
      .update(text.slice(end - blockChars, end))
      .digest('hex');
    hashes.push(prev);
  }
  return hashes;
}

const WORDS = (
  'the a model token cache block prefix router gateway envoy request stream latency queue batch adapter ' +
  'inference decode prefill kernel tensor weight layer attention head vector score pool endpoint picker ' +
  'metric sample signal answer question context window reply simple quick brown fox jumps over lazy dog'
).split(' ');

/**
 * The output tokens, each with a leading space: `count` seeded random words, or in echo mode the first `count`
 * words of `echoText` (fewer when it is shorter, which ends the request with finish_reason "stop").
 */
export function outputTokens(
  mode: 'random' | 'echo',
  echoText: string,
  count: number,
  seed: number,
): string[] {
  if (mode === 'echo') {
    const words = echoText.split(/\s+/).filter(Boolean);
    const echoed = words.slice(0, count).map((w) => ' ' + w);
    return echoed.length ? echoed : [' ']; // an engine always emits at least one token
  }
  const out: string[] = [];
  const next = prng(seed);
  for (let i = 0; i < count; i++) out.push(' ' + WORDS[Math.floor(next() * WORDS.length)]);
  return out;
}
