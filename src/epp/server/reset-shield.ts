// Keeps a peer's RST_STREAM frames away from nghttp2's rapid-reset guard. Envoy resets every ext_proc stream when
// its request completes, and nghttp2 (whose limit Node 20 cannot tune) answers the 1,001st reset on a connection
// (then 33/s) with GOAWAY(INTERNAL_ERROR), refusing the streams in flight. The shield sits between the socket
// and Node's HTTP/2 session: each reset reaches nghttp2 as an empty END_STREAM DATA frame, which it does not count
// (or as nothing when the peer had already ended the stream), and the server then resets the stream itself with
// CANCEL, so the call ends as cancelled exactly as before (CANCEL: Node makes no Error object for it, one per
// request otherwise). Node's session writes through this shield in batches: one socket write per flush.

import * as http2 from 'node:http2';
import type * as net from 'node:net';
import { Duplex } from 'node:stream';

const PREFACE_BYTES = 24;
const FRAME_HEADER_BYTES = 9;
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const END_STREAM = 0x1;
/** The code the server resets a peer-reset stream with: NGHTTP2_CANCEL, which Node does not turn into an Error. */
export const SHIELD_RESET_CODE = http2.constants.NGHTTP2_CANCEL;
/** Below this many bytes, a batch of frames is copied into one buffer; above it, written as a vector. */
const COALESCE_BYTES = 16 * 1024;

/**
 * Splits the client's byte stream into frames (payloads pass through without copying) and rewrites RST_STREAM.
 * Pure: no socket, so the rewriting is tested byte for byte.
 */
export class ResetRewriter {
  private preface = PREFACE_BYTES;
  private header = Buffer.alloc(0);
  private payloadLeft = 0;
  private rst: { id: number; bytes: Buffer } | undefined;
  /** Streams whose request side the peer ended (END_STREAM seen) and that were not reset since. */
  private readonly ended = new Set<number>();
  private resets: [id: number, code: number][] = [];
  rewritten = 0;

  /** A stream closed on the server: no reset will follow that needs its request-side state. */
  forget(id: number): void {
    this.ended.delete(id);
  }

  /** The bytes to hand to nghttp2 for this chunk, and the resets it carried ([stream id, error code]). */
  push(chunk: Buffer): { out: Buffer[]; resets: [number, number][] } {
    const out: Buffer[] = [];
    // A chunk with no reset and no frame header cut at its edges passes whole: one hand-over to nghttp2, not one
    // per frame (a 220 KB body arrives as ~14 DATA frames).
    const carriedIn = this.header.length > 0 || this.rst !== undefined;
    const rewrittenBefore = this.rewritten;
    let at = 0;
    if (this.preface > 0) {
      const n = Math.min(this.preface, chunk.length);
      out.push(chunk.subarray(0, n));
      this.preface -= n;
      at = n;
    }
    while (at < chunk.length) {
      if (this.rst) {
        const n = Math.min(4 - this.rst.bytes.length, chunk.length - at);
        this.rst.bytes = Buffer.concat([this.rst.bytes, chunk.subarray(at, at + n)]);
        at += n;
        if (this.rst.bytes.length === 4) this.onRst(out);
      } else if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, chunk.length - at);
        out.push(chunk.subarray(at, at + n));
        this.payloadLeft -= n;
        at += n;
      } else {
        const n = Math.min(FRAME_HEADER_BYTES - this.header.length, chunk.length - at);
        this.header = Buffer.concat([this.header, chunk.subarray(at, at + n)]);
        at += n;
        if (this.header.length === FRAME_HEADER_BYTES) this.onHeader(out);
      }
    }
    const resets = this.resets;
    this.resets = [];
    const carriedOut = this.header.length > 0 || this.rst !== undefined;
    if (!carriedIn && !carriedOut && this.rewritten === rewrittenBefore) return { out: [chunk], resets };
    return { out, resets };
  }

  private onHeader(out: Buffer[]): void {
    const h = this.header;
    this.header = Buffer.alloc(0);
    const length = h.readUIntBE(0, 3);
    const type = h[3];
    const id = h.readUInt32BE(5) & 0x7fffffff;
    if (type === RST_STREAM && length === 4 && id !== 0) {
      this.rst = { id, bytes: Buffer.alloc(0) };
      return;
    }
    if ((type === DATA || type === HEADERS) && h[4] & END_STREAM) this.ended.add(id);
    out.push(h);
    this.payloadLeft = length;
  }

  private onRst(out: Buffer[]): void {
    const { id, bytes } = this.rst!;
    this.rst = undefined;
    this.rewritten++;
    // An END_STREAM on a stream the peer already ended would be a stream error; there, the reset just goes.
    if (!this.ended.delete(id)) out.push(endStreamFrame(id));
    this.resets.push([id, bytes.readUInt32BE(0)]);
  }
}

function endStreamFrame(id: number): Buffer {
  const f = Buffer.alloc(FRAME_HEADER_BYTES);
  f[3] = DATA;
  f[4] = END_STREAM;
  f.writeUInt32BE(id, 5);
  return f;
}

/**
 * The socket as Node's HTTP/2 session sees it: the client's bytes through a ResetRewriter, writes unchanged. Once
 * Node has read the bytes before a reset (pushed synchronously into its session), `onReset` closes the stream.
 */
export class ResetShield extends Duplex {
  readonly rewriter = new ResetRewriter();
  onReset: (id: number, code: number) => void = () => undefined;

  constructor(readonly socket: net.Socket) {
    super({ allowHalfOpen: false });
    // Node's session, handed this Duplex instead of the socket, never sets TCP_NODELAY on the real one: with Nagle
    // on, each small reply waited for the peer's delayed ACK (~40 ms, twice per ext_proc request). Set it here.
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      const { out, resets } = this.rewriter.push(d);
      let more = true;
      for (const b of out) more = this.push(b) && more;
      for (const [id, code] of resets) this.onReset(id, code);
      if (!more) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }
  // What Node's session and grpc-js read from their socket.
  get remoteAddress() {
    return this.socket.remoteAddress;
  }
  get remotePort() {
    return this.socket.remotePort;
  }
  get remoteFamily() {
    return this.socket.remoteFamily;
  }
  get localAddress() {
    return this.socket.localAddress;
  }
  get localPort() {
    return this.socket.localPort;
  }
  get alpnProtocol(): unknown {
    return (this.socket as unknown as { alpnProtocol?: unknown }).alpnProtocol;
  }
  get encrypted(): unknown {
    return (this.socket as unknown as { encrypted?: unknown }).encrypted;
  }
  getPeerCertificate(detailed?: boolean): unknown {
    const tls = this.socket as unknown as { getPeerCertificate?: (d?: boolean) => unknown };
    return tls.getPeerCertificate?.(detailed);
  }
  setTimeout(ms: number, cb?: () => void): this {
    this.socket.setTimeout(ms, cb);
    return this;
  }
  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.socket.setKeepAlive(enable, delay);
    return this;
  }
  ref(): this {
    this.socket.ref();
    return this;
  }
  unref(): this {
    this.socket.unref();
    return this;
  }

  override _read(): void {
    this.socket.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.socket.write(chunk, cb);
  }
  // Node's session hands over each flush as several corked writes (frame headers, payloads): one socket write
  // (one syscall) for all of them instead of one each.
  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    cb: (err?: Error | null) => void,
  ): void {
    let bytes = 0;
    for (const c of chunks) bytes += c.chunk.length;
    if (bytes <= COALESCE_BYTES) {
      this.socket.write(
        Buffer.concat(
          chunks.map((c) => c.chunk),
          bytes,
        ),
        cb,
      );
      return;
    }
    this.socket.cork();
    for (let i = 0; i < chunks.length - 1; i++) this.socket.write(chunks[i].chunk);
    this.socket.write(chunks[chunks.length - 1].chunk, cb);
    this.socket.uncork();
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end(cb);
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy(err ?? undefined);
    cb(err);
  }
}

/**
 * Puts a ResetShield under every session of an HTTP/2 server by wrapping the listener Node installed for new
 * connections ('connection' for h2c, 'secureConnection' for TLS). Returns false if that listener is not found.
 */
export function shieldServer(h2: http2.Http2Server | http2.Http2SecureServer, secure: boolean): boolean {
  const event = secure ? 'secureConnection' : 'connection';
  const node = h2.listeners(event).find((f) => f.name === 'connectionListener') as
    ((this: unknown, socket: Duplex) => void) | undefined;
  if (!node) return false;
  h2.removeListener(event, node);
  let shield: ResetShield | undefined;
  h2.prependListener('session', (session: http2.ServerHttp2Session) => {
    if (shield) closeResetStreams(session, shield);
  });
  h2.on(event, (socket: net.Socket) => {
    shield = new ResetShield(socket);
    try {
      node.call(h2, shield);
    } finally {
      shield = undefined;
    }
  });
  return true;
}

/**
 * The server resets each stream the peer reset (grpc-js then cancels the call), with CANCEL whatever the peer's
 * code: the peer has closed the stream already and ignores it, and any other code would make Node build an
 * ERR_HTTP2_STREAM_ERROR (with its stack) per request.
 */
function closeResetStreams(session: http2.ServerHttp2Session, shield: ResetShield): void {
  const streams = new Map<number, http2.ServerHttp2Stream>();
  const early = new Map<number, number>();
  let highest = 0;
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    const id = stream.id ?? 0;
    highest = Math.max(highest, id);
    streams.set(id, stream);
    stream.once('close', () => {
      streams.delete(id);
      shield.rewriter.forget(id);
    });
    const code = early.get(id);
    if (code !== undefined) {
      early.delete(id);
      stream.close(code);
    }
  });
  shield.onReset = (id) => {
    const stream = streams.get(id);
    if (stream) stream.close(SHIELD_RESET_CODE);
    // Not read by Node yet (its HEADERS still queued): closed when it appears. Below `highest`: already closed.
    else if (id > highest) early.set(id, SHIELD_RESET_CODE);
  };
}
