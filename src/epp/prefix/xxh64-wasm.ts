// XXH64 (seed 0) and the prefix-cache hash chain as a tiny WebAssembly module, assembled here from readable
// instructions. One call hashes a whole chain: 256 blocks of a 16 KB prompt cost a few microseconds, where a
// per-block call into a hashing library costs ~50 µs (JS↔WASM and BigInt boundary per block) and plain JS ~400 µs.

const I32 = 0x7f;
const I64 = 0x7e;
// prettier-ignore
const OP = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, call: 0x10,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i64Load: 0x29, i64Load8u: 0x31, i64Load32u: 0x35, i64Store: 0x37,
  i32Const: 0x41, i64Const: 0x42,
  i32GtU: 0x4b, i32LeU: 0x4d, i32GeU: 0x4f, i32Add: 0x6a, i32Sub: 0x6b,
  i64Add: 0x7c, i64Mul: 0x7e, i64Xor: 0x85, i64ShrU: 0x88, i64Rotl: 0x89, i64ExtendI32U: 0xad,
} as const;
const VOID = 0x40;

const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;
const MASK = (1n << 64n) - 1n;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(v: bigint): number[] {
  let n = BigInt.asIntN(64, v);
  const out: number[] = [];
  for (;;) {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    if ((n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const get = (i: number) => [OP.localGet, ...uleb(i)];
const set = (i: number) => [OP.localSet, ...uleb(i)];
const i64 = (v: bigint) => [OP.i64Const, ...sleb(v & MASK)];
const i32 = (v: number) => [OP.i32Const, ...sleb(BigInt(v))];
/** memarg: alignment hint log2, offset. Unaligned access is legal in WASM; the hint only guides codegen. */
const mem = (op: number, offset = 0, align = 0) => [op, align, ...uleb(offset)];

/** Stack: [acc, lane] → rotl(acc + lane*P2, 31) * P1 */
const round = () => [...i64(P2), OP.i64Mul, OP.i64Add, ...i64(31n), OP.i64Rotl, ...i64(P1), OP.i64Mul];

// xxh64(ptr i32, len i32) → i64. Locals: 2 end, 3 limit (i32); 4..7 v1..v4, 8 h (i64).
// prettier-ignore
function xxh64Body(): number[] {
  const [ptr, len, end, limit, v1, v2, v3, v4, h] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const lane = (v: number, off: number) => [...get(v), ...get(ptr), ...mem(OP.i64Load, off), ...round(), ...set(v)];
  const merge = (v: number) => [
    ...get(h), ...i64(0n), ...get(v), ...round(), OP.i64Xor, ...i64(P1), OP.i64Mul, ...i64(P4), OP.i64Add, ...set(h),
  ];
  const rot = (v: number, r: bigint) => [...get(v), ...i64(r), OP.i64Rotl];
  return [
    ...get(ptr), ...get(len), OP.i32Add, ...set(end),
    ...get(len), ...i32(32), OP.i32GeU, OP.if, VOID,
      ...get(end), ...i32(32), OP.i32Sub, ...set(limit),
      ...i64(P1 + P2), ...set(v1), ...i64(P2), ...set(v2), ...i64(0n), ...set(v3), ...i64(-P1), ...set(v4),
      OP.loop, VOID,
        ...lane(v1, 0), ...lane(v2, 8), ...lane(v3, 16), ...lane(v4, 24),
        ...get(ptr), ...i32(32), OP.i32Add, ...set(ptr),
        ...get(ptr), ...get(limit), OP.i32LeU, OP.brIf, 0,
      OP.end,
      ...rot(v1, 1n), ...rot(v2, 7n), OP.i64Add, ...rot(v3, 12n), OP.i64Add, ...rot(v4, 18n), OP.i64Add, ...set(h),
      ...merge(v1), ...merge(v2), ...merge(v3), ...merge(v4),
    OP.else,
      ...i64(P5), ...set(h),
    OP.end,
    ...get(h), ...get(len), OP.i64ExtendI32U, OP.i64Add, ...set(h),
    // 8-byte lanes
    OP.block, VOID, OP.loop, VOID,
      ...get(ptr), ...i32(8), OP.i32Add, ...get(end), OP.i32GtU, OP.brIf, 1,
      ...get(h), ...i64(0n), ...get(ptr), ...mem(OP.i64Load), ...round(), OP.i64Xor,
      ...i64(27n), OP.i64Rotl, ...i64(P1), OP.i64Mul, ...i64(P4), OP.i64Add, ...set(h),
      ...get(ptr), ...i32(8), OP.i32Add, ...set(ptr),
      OP.br, 0,
    OP.end, OP.end,
    // one 4-byte lane
    ...get(ptr), ...i32(4), OP.i32Add, ...get(end), OP.i32LeU, OP.if, VOID,
      ...get(h), ...get(ptr), ...mem(OP.i64Load32u), ...i64(P1), OP.i64Mul, OP.i64Xor,
      ...i64(23n), OP.i64Rotl, ...i64(P2), OP.i64Mul, ...i64(P3), OP.i64Add, ...set(h),
      ...get(ptr), ...i32(4), OP.i32Add, ...set(ptr),
    OP.end,
    // bytes
    OP.block, VOID, OP.loop, VOID,
      ...get(ptr), ...get(end), OP.i32GeU, OP.brIf, 1,
      ...get(h), ...get(ptr), ...mem(OP.i64Load8u), ...i64(P5), OP.i64Mul, OP.i64Xor,
      ...i64(11n), OP.i64Rotl, ...i64(P1), OP.i64Mul, ...set(h),
      ...get(ptr), ...i32(1), OP.i32Add, ...set(ptr),
      OP.br, 0,
    OP.end, OP.end,
    // avalanche
    ...get(h), ...get(h), ...i64(33n), OP.i64ShrU, OP.i64Xor, ...i64(P2), OP.i64Mul, ...set(h),
    ...get(h), ...get(h), ...i64(29n), OP.i64ShrU, OP.i64Xor, ...i64(P3), OP.i64Mul, ...set(h),
    ...get(h), ...get(h), ...i64(32n), OP.i64ShrU, OP.i64Xor,
    OP.end,
  ];
}

// chain(in i32, len i32, blockChars i32, seed i64, out i32, scratch i32). Locals: 6 start, 7 n (i32); 8 prev (i64).
// prettier-ignore
function chainBody(): number[] {
  const [input, len, blockChars, seed, out, scratch, start, n, prev] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  return [
    ...get(seed), ...set(prev),
    OP.block, VOID, OP.loop, VOID,
      ...get(start), ...get(len), OP.i32GeU, OP.brIf, 1,
      ...get(len), ...get(start), OP.i32Sub, OP.localTee, n, ...get(blockChars), OP.i32GtU, OP.if, VOID,
        ...get(blockChars), ...set(n),
      OP.end,
      // memory.copy(scratch, in + start, n); then the previous hash, little-endian, right after the block
      ...get(scratch), ...get(input), ...get(start), OP.i32Add, ...get(n), 0xfc, 10, 0, 0,
      ...get(scratch), ...get(n), OP.i32Add, ...get(prev), ...mem(OP.i64Store),
      ...get(scratch), ...get(n), ...i32(8), OP.i32Add, OP.call, 0, ...set(prev),
      ...get(out), ...get(prev), ...mem(OP.i64Store, 0, 3),
      ...get(out), ...i32(8), OP.i32Add, ...set(out),
      ...get(start), ...get(blockChars), OP.i32Add, ...set(start),
      OP.br, 0,
    OP.end, OP.end,
    OP.end,
  ];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}
function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}
function str(s: string): number[] {
  return vec([...Buffer.from(s)].map((b) => [b]));
}
function code(locals: [number, number][], body: number[]): number[] {
  const fn = [...vec(locals.map(([count, type]) => [...uleb(count), type])), ...body];
  return [...uleb(fn.length), ...fn];
}

// prettier-ignore
export function assembleXxh64Module(): Uint8Array {
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([
      [0x60, ...vec([[I32], [I32]]), ...vec([[I64]])],
      [0x60, ...vec([[I32], [I32], [I32], [I64], [I32], [I32]]), ...vec([])],
    ])),
    ...section(3, vec([[0], [1]])),
    ...section(5, vec([[0x00, 1]])),
    ...section(7, vec([
      [...str('memory'), 0x02, 0],
      [...str('xxh64'), 0x00, 0],
      [...str('chain'), 0x00, 1],
    ])),
    ...section(10, vec([
      code([[2, I32], [5, I64]], xxh64Body()),
      code([[2, I32], [1, I64]], chainBody()),
    ])),
  ]);
}

// The project compiles without lib.dom, so the few WebAssembly types used here are declared locally.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

export interface Xxh64Wasm {
  memory: WasmMemory;
  /** XXH64 (seed 0) of memory[ptr, ptr+len). */
  xxh64(ptr: number, len: number): bigint;
  /** Writes ceil(len/blockChars) chained hashes (u64 LE) at `out`; `scratch` needs blockChars+8 bytes. */
  chain(input: number, len: number, blockChars: number, seed: bigint, out: number, scratch: number): void;
}

export function instantiateXxh64(): Xxh64Wasm {
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const instance = new wasm.Instance(new wasm.Module(assembleXxh64Module()));
  return instance.exports as Xxh64Wasm;
}
