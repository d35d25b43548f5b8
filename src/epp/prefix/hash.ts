// The approximate prefix cache's block hashes (reference EPP, approximateprefix/hashing.go):
//   h0 = xxh64(targetModel ‖ cacheSalt?)      h_i = xxh64(block_i ‖ LE_uint64(h_{i-1}))
// over blocks of `blockChars` bytes, the final partial block included, at most `maxBlocks` blocks, and nothing at
// all for an input shorter than one block. Only the hasher instance is module state, so a worker can call this too.

import { instantiateXxh64, type Xxh64Wasm } from './xxh64-wasm';

/** Blocks are blockSizeTokens × 4 characters (the reference EPP's characters-per-token estimate). */
export const CHARS_PER_TOKEN = 4;

let wasm: Xxh64Wasm | undefined;
let bytes = new Uint8Array(0);
const encoder = new TextEncoder();

function hasher(): Xxh64Wasm {
  if (!wasm) {
    wasm = instantiateXxh64();
    bytes = new Uint8Array(wasm.memory.buffer);
  }
  return wasm;
}

/** Compiles the hashing module. Synchronous compilation is allowed in Node; this exists so callers can warm up. */
export function initPrefixHashing(): Promise<void> {
  hasher();
  return Promise.resolve();
}

function ensureMemory(w: Xxh64Wasm, size: number): void {
  if (w.memory.buffer.byteLength < size) {
    w.memory.grow(Math.ceil((size - w.memory.buffer.byteLength) / 65536));
  }
  if (bytes.buffer !== w.memory.buffer) bytes = new Uint8Array(w.memory.buffer);
}

const align8 = (n: number) => (n + 7) & ~7;

/**
 * The chained block hashes h_1..h_n of `input` for `model` (the target model, with any cache salt appended).
 * Returns an empty array when the input is shorter than one block.
 */
export function blockHashes(
  model: string,
  input: Uint8Array,
  blockChars: number,
  maxBlocks: number,
): BigUint64Array {
  if (blockChars <= 0 || maxBlocks <= 0 || input.length < blockChars) return new BigUint64Array(0);
  const len = Math.min(input.length, blockChars * maxBlocks);
  const n = Math.ceil(len / blockChars);
  const w = hasher();
  const outPtr = 0;
  const scratchPtr = align8(n * 8);
  const dataPtr = align8(scratchPtr + blockChars + 8);
  // UTF-8 needs at most 3 bytes per UTF-16 unit.
  ensureMemory(w, dataPtr + Math.max(len, model.length * 3));
  const modelLen = encoder.encodeInto(model, bytes.subarray(dataPtr)).written;
  const seed = w.xxh64(dataPtr, modelLen);
  bytes.set(len === input.length ? input : input.subarray(0, len), dataPtr);
  w.chain(dataPtr, len, blockChars, seed, outPtr, scratchPtr);
  return new BigUint64Array(w.memory.buffer.slice(outPtr, outPtr + n * 8));
}

/** XXH64 (seed 0) of arbitrary bytes, for tests and diagnostics. */
export function xxh64(data: Uint8Array): bigint {
  const w = hasher();
  ensureMemory(w, data.length);
  bytes.set(data, 0);
  return BigInt.asUintN(64, w.xxh64(0, data.length));
}
