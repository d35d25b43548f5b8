// The response half of one ext_proc stream: status and served endpoint from the response headers, SSE chunks
// passed on at once (model name rewritten back), JSON bodies buffered only when the name must be rewritten,
// usage read either way, and the director's completion hook run exactly once. Never holds more than maxBodyBytes:
// a response it would have to buffer beyond that (to rewrite the model name) is answered with 413.

import type {
  ProcessingRequest,
  ProcessingResponse,
} from '../../../generated/envoy/service/ext_proc/v3/external_processor';
import type { Director, StreamToken } from '../types';
import { chunkedBody, commonResponse, headerRecord, readServed, trailersResponse } from './messages';
import { ModelRewriter, SseProcessor, parseJsonUsage, type Usage } from './response';

export interface ResponseSideOptions {
  /** Absent when nothing was routed: the response passes through and no completion is reported. */
  director?: Director;
  stream: StreamToken;
  requestId: string;
  started: number;
  now: () => number;
  incomingModel?: string;
  targetModel?: string;
  /** BUFFERED response body mode: one body message, answered with a whole-body mutation. */
  buffered: boolean;
  /** Cap on what is kept for usage parsing / rewriting. */
  maxBodyBytes: number;
  /** Response header to set to the served endpoint (Director.servedEndpointHeader). */
  servedEndpointHeader?: string;
  /** Ends the request with an ImmediateResponse (the stream completes this side with `status`). */
  reject(status: number, message: string): void;
}

type Send = (r: ProcessingResponse) => void;

export class ResponseSide {
  private status = 0;
  private served: string | undefined;
  private streaming = false;
  private sse: SseProcessor | undefined;
  private readonly rewriter: ModelRewriter | undefined;
  private chunks: Buffer[] = [];
  private size = 0;
  private usage: Usage | undefined;
  private completed = false;
  private bodyEnded = false;
  private dropped = false;

  constructor(private readonly o: ResponseSideOptions) {
    const { incomingModel: incoming, targetModel: target } = o;
    this.rewriter =
      incoming && target && incoming !== target ? new ModelRewriter(target, incoming) : undefined;
  }

  async handle(req: ProcessingRequest, send: Send): Promise<void> {
    this.served = readServed(req) ?? this.served;
    const r = req.request;
    if (r?.$case === 'responseHeaders') {
      const h = headerRecord(r.value.headers);
      this.status = Number(h[':status'] ?? 0);
      this.streaming = (h['content-type'] ?? '').includes('text/event-stream');
      if (this.streaming) this.sse = new SseProcessor(this.rewriter);
      const report = this.o.servedEndpointHeader;
      send(
        commonResponse(
          'responseHeaders',
          report && this.served && this.o.director ? { headers: { [report]: this.served } } : {},
        ),
      );
      if (r.value.endOfStream) this.complete();
    } else if (r?.$case === 'responseBody') {
      this.onBody(r.value.body, r.value.endOfStream, send);
    } else if (r?.$case === 'responseTrailers') {
      if (!this.bodyEnded && !this.o.buffered) this.onBody(Buffer.alloc(0), false, send, true);
      send(trailersResponse('responseTrailers'));
      this.complete();
    }
  }

  /** True once the response ended (or the outcome was reported): nothing more is expected on this stream. */
  get finished(): boolean {
    return this.completed;
  }

  /**
   * Reports the outcome to the director once: `fallbackStatus` when no response status was seen, or always when
   * `replaced` (an ImmediateResponse took the response's place).
   */
  complete(fallbackStatus?: number, replaced = false): void {
    if (this.completed) return;
    this.completed = true;
    if (!this.o.director) return;
    this.o.director.complete({
      stream: this.o.stream,
      requestId: this.o.requestId,
      status: (replaced ? fallbackStatus : this.status || fallbackStatus) || 0,
      servedEndpoint: this.served,
      promptTokens: this.usage?.promptTokens,
      completionTokens: this.usage?.completionTokens,
      cachedTokens: this.usage?.cachedTokens,
      durationSeconds: (this.o.now() - this.o.started) / 1000,
      streaming: this.streaming,
    });
  }

  /** flush: trailers arrived, so whatever is held goes out now without end_of_stream. */
  private onBody(body: Buffer, eos: boolean, send: Send, flush = false): void {
    if (this.bodyEnded) return;
    if (eos) this.bodyEnded = true;
    if (this.o.buffered) {
      // One message with the whole body: parse usage, rewrite, reply with the whole body when it changed.
      if (this.rewriter && body.length > this.o.maxBodyBytes) return this.tooLarge();
      this.usage = this.sse ? this.sseUsage(body) : parseJsonUsage(body);
      const out = this.rewriter ? this.rewriter.apply(body) : body;
      send(commonResponse('responseBody', out !== body ? { body: out } : {}));
      if (eos) this.complete();
      return;
    }
    if (this.sse) {
      const out = this.sse.push(body, eos || flush);
      if (out.length || eos)
        send(commonResponse('responseBody', { streamed: { body: out, endOfStream: eos } }));
      if (eos || flush) this.usage = this.sse.usage;
      if (eos) this.complete();
      return;
    }
    if (!this.keep(body)) return this.tooLarge();
    if (!this.rewriter) {
      // Nothing to rewrite: pass each chunk on at once, keep a copy for usage.
      if (body.length || eos) send(commonResponse('responseBody', { streamed: { body, endOfStream: eos } }));
    }
    if (!eos && !flush) return;
    const whole = Buffer.concat(this.chunks, this.size);
    if (!this.dropped) this.usage = parseJsonUsage(whole);
    if (this.rewriter) for (const r of chunkedBody('responseBody', this.rewriter.apply(whole), eos)) send(r);
    this.chunks = [];
    this.size = 0;
    if (eos) this.complete();
  }

  /** Keeps a copy for usage (and the rewrite); false when a rewrite would need more than maxBodyBytes. */
  private keep(body: Buffer): boolean {
    if (this.size + body.length > this.o.maxBodyBytes) {
      if (this.rewriter) return false;
      this.dropped = true; // usage is unreadable from a partial body; pass the rest through
      this.chunks = [];
      this.size = 0;
      return true;
    }
    if (!this.dropped) {
      this.chunks.push(body);
      this.size += body.length;
    }
    return true;
  }

  private tooLarge(): void {
    this.chunks = [];
    this.o.reject(
      413,
      `response body is larger than the ${this.o.maxBodyBytes}-byte limit (--max-body-bytes) the model name is rewritten within`,
    );
  }

  private sseUsage(body: Buffer): Usage | undefined {
    const p = new SseProcessor();
    p.push(body, true);
    return p.usage;
  }
}
