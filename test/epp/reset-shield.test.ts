// The byte-level rewriting of reset-shield.ts: a peer's RST_STREAM reaches nghttp2 as an empty END_STREAM DATA
// frame (or not at all when the peer had ended the stream), everything else passes unchanged, across any split.

import { EventEmitter } from 'node:events';
import type * as net from 'node:net';
import { ResetRewriter, ResetShield } from '../../src/epp/server/reset-shield';

const frame = (type: number, flags: number, id: number, payload = Buffer.alloc(0)) => {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, payload]);
};
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const rst = (id: number, code: number) => frame(3, 0, id, Buffer.from([0, 0, 0, code]));

function run(input: Buffer, splitEvery: number) {
  const r = new ResetRewriter();
  const out: Buffer[] = [];
  const resets: [number, number][] = [];
  for (let i = 0; i < input.length; i += splitEvery) {
    const got = r.push(input.subarray(i, i + splitEvery));
    out.push(...got.out);
    resets.push(...got.resets);
  }
  return { bytes: Buffer.concat(out), resets, rewritten: r.rewritten };
}

describe('ResetRewriter', () => {
  const headers = frame(1, 0x4, 1, Buffer.from([0x82, 0x86, 0x84]));
  const data = frame(0, 0, 1, Buffer.from('hello'));
  const ended = frame(0, 0x1, 3, Buffer.from('bye'));
  const input = Buffer.concat([
    PREFACE,
    frame(4, 0, 0),
    headers,
    data,
    rst(1, 2),
    ended,
    rst(3, 8),
    rst(0, 1),
  ]);
  const expected = Buffer.concat([PREFACE, frame(4, 0, 0), headers, data, frame(0, 0x1, 1), ended]);

  it.each([1, 2, 5, 9, 13, 1000])('rewrites resets, split every %i bytes', (split) => {
    const r = run(input, split);
    // A reset of stream 0 is a connection error nghttp2 must still see; it is not a stream reset.
    expect(r.bytes.equals(Buffer.concat([expected, rst(0, 1)]))).toBe(true);
    expect(r.resets).toEqual([
      [1, 2],
      [3, 8],
    ]);
    expect(r.rewritten).toBe(2);
  });

  it('a stream ended and then forgotten gets an END_STREAM for a late reset, which nghttp2 ignores', () => {
    const r = new ResetRewriter();
    r.push(Buffer.concat([PREFACE, ended]));
    r.forget(3);
    expect(r.push(rst(3, 2)).out).toEqual([frame(0, 0x1, 3)]);
  });
});

describe('ResetShield', () => {
  it('turns Nagle off on the real socket (Node sets it only on sockets it is handed itself)', () => {
    const calls: unknown[] = [];
    const socket = Object.assign(new EventEmitter(), {
      setNoDelay: (v?: boolean) => calls.push(v),
    }) as unknown as net.Socket;
    new ResetShield(socket);
    expect(calls).toEqual([true]);
  });
});
