// One ext_proc stream = one HTTP request, as an explicit state machine (one `phase`, a transition table). Request
// headers are held until the body is complete, then the director decides and the handler replies with the
// destination (header + envoy.lb metadata + clear_route_cache) and streams the body back; the response side
// rewrites the model name back, passes SSE on at once and reads usage. Messages are handled one at a time, in
// order (see server/). Every routed decision is completed exactly once, however the stream ends.

import { randomUUID } from 'node:crypto';
import type {
  ProcessingRequest,
  ProcessingResponse,
} from '../../../generated/envoy/service/ext_proc/v3/external_processor';
import { ProcessingMode_BodySendMode as BodyMode } from '../../../generated/envoy/extensions/filters/http/ext_proc/v3/processing_mode';
import type { Decision, Director, RequestInput, StreamToken } from '../types';
import {
  DESTINATION,
  LB_NAMESPACE,
  chunkedBody,
  commonResponse,
  headerRecord,
  immediateResponse,
  readSubset,
  trailersResponse,
} from './messages';
import { emptyRequest } from './parse';
import { inlineParser, type RequestParser } from './parser';
import { ResponseSide } from './response-side';

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
/** The abort reason of every closed stream: one object, not a DOMException with a stack per request. */
const STREAM_CLOSED = Object.freeze(new Error('ext_proc stream closed'));

export interface HandlerOptions {
  director: Director;
  parser?: RequestParser;
  /** Request bodies above this many bytes get 413 (and response bodies the EPP would have to hold). */
  maxBodyBytes?: number;
  /** Clock in ms (tests pin it). */
  now?: () => number;
  newRequestId?: () => string;
}

type Send = (r: ProcessingResponse) => void;

/**
 * - headers: nothing seen yet.
 * - body: request headers seen; the body is being collected (BUFFERED: the headers were answered with CONTINUE).
 * - deciding: the body is complete; parse and decision under way.
 * - routed: the destination was sent; the response has not started.
 * - responding: the response headers were answered; an ImmediateResponse can no longer replace the response.
 * - done: an ImmediateResponse was sent, the response completed, or the stream closed; later messages are ignored.
 */
export type Phase = 'headers' | 'body' | 'deciding' | 'routed' | 'responding' | 'done';

const NEXT: Record<Phase, readonly Phase[]> = {
  headers: ['body', 'deciding', 'responding', 'done'],
  body: ['deciding', 'responding', 'done'],
  deciding: ['routed', 'done'],
  routed: ['responding', 'done'],
  responding: ['done'],
  done: [],
};

/** A message the current phase cannot take (e.g. request headers twice): the stream ends with a gRPC error. */
export class ProtocolError extends Error {}

export class ExtProcStream {
  private phase: Phase = 'headers';
  /** Identifies this stream to the director (in-flight accounting). */
  private readonly token: StreamToken = {};
  private readonly opts: Required<Omit<HandlerOptions, 'director'>> & { director: Director };
  private headers: Record<string, string> = {};
  private requestId = '';
  private generatedId = false;
  private subset: string[] | undefined;
  private bufferedRequest = false;
  private bufferedResponse = false;
  private chunks: Buffer[] = [];
  private size = 0;
  private started = 0;
  private response: ResponseSide | undefined;
  /** Aborted when the stream closes, so a decision still waiting (e.g. queued by flow control) gives up at once. */
  private readonly abort = new AbortController();

  constructor(
    opts: HandlerOptions,
    private readonly send: Send,
  ) {
    this.opts = {
      parser: inlineParser,
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      now: Date.now,
      newRequestId: randomUUID,
      ...opts,
    };
  }

  /** True once nothing more is expected: the server ends the gRPC stream. */
  get done(): boolean {
    return this.phase === 'done';
  }

  get state(): Phase {
    return this.phase;
  }

  /** Handles one message; resolves when every reply it causes has been sent. */
  async handle(req: ProcessingRequest): Promise<void> {
    if (this.phase === 'done') return;
    if (req.protocolConfig) {
      this.bufferedRequest = isBuffered(req.protocolConfig.requestBodyMode);
      this.bufferedResponse = isBuffered(req.protocolConfig.responseBodyMode);
    }
    const r = req.request;
    switch (r?.$case) {
      case 'requestHeaders':
        if (this.phase !== 'headers') throw new ProtocolError(`request headers in phase ${this.phase}`);
        return this.onRequestHeaders(req, r.value.headers, r.value.endOfStream);
      case 'requestBody':
        return this.onRequestBody(r.value.body, r.value.endOfStream);
      case 'requestTrailers':
        if (this.phase === 'headers' || this.phase === 'body') await this.finishRequest(false);
        if (!this.done) this.send(trailersResponse('requestTrailers'));
        return;
      case 'responseHeaders':
      case 'responseBody':
      case 'responseTrailers':
        return this.onResponse(req);
      default:
        return;
    }
  }

  /** The stream ended (half-close, cancel or error): a routed request that never completed is completed now. */
  close(): void {
    if (this.phase !== 'done') this.to('done');
    this.abort.abort(STREAM_CLOSED);
    this.response?.complete(499);
  }

  /**
   * For a failure the handler did not anticipate: an ImmediateResponse 500 while the protocol still allows one
   * (until the response headers were answered); false when only a gRPC error can end the stream.
   */
  fail(message: string): boolean {
    if (this.phase === 'done' || this.phase === 'responding') return false;
    this.reply(500, message);
    return true;
  }

  private to(next: Phase): void {
    if (!NEXT[this.phase].includes(next))
      throw new Error(`ext_proc stream: no transition ${this.phase} → ${next}`);
    this.phase = next;
  }

  private async onRequestHeaders(
    req: ProcessingRequest,
    map: Parameters<typeof headerRecord>[0],
    eos: boolean,
  ) {
    this.started = this.opts.now();
    this.headers = headerRecord(map);
    this.generatedId = !this.headers['x-request-id'];
    this.requestId = this.headers['x-request-id'] || this.opts.newRequestId();
    this.subset = readSubset(req);
    if (eos) {
      // Headers-only (GET, or an empty POST): pick now, with no model and an empty prompt.
      this.to('deciding');
      return this.route(await this.decide(this.headersOnlyInput()), undefined, true);
    }
    this.to('body');
    // BUFFERED: Envoy waits for this reply before it sends the body; the destination goes on the body reply.
    if (this.bufferedRequest) this.send(commonResponse('requestHeaders'));
  }

  private async onRequestBody(body: Buffer, eos: boolean) {
    if (this.phase === 'headers') this.to('body');
    if (this.phase !== 'body') return;
    this.size += body.length;
    if (this.size > this.opts.maxBodyBytes) {
      this.chunks = [];
      return this.reply(
        413,
        `request body is larger than the ${this.opts.maxBodyBytes}-byte limit (--max-body-bytes)`,
      );
    }
    if (body.length) this.chunks.push(body);
    if (eos) await this.finishRequest(true);
  }

  private async finishRequest(endOfStream: boolean) {
    this.to('deciding');
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    if (body.length === 0) return this.route(await this.decide(this.headersOnlyInput()), body, endOfStream);
    const outcome = await this.opts.parser.parse(this.headers[':path'], body);
    if (this.phase !== 'deciding') return; // closed while parsing
    if (!outcome.ok) return this.reply(400, outcome.message);
    const input = this.input(outcome.parsed);
    input.bodyBytes = body.length;
    if (outcome.prefixHashes) {
      input.prefixHashes = outcome.prefixHashes;
      input.prefixHashesModel = outcome.prefixHashesModel ?? outcome.parsed.model;
      input.prefixHashesParams = outcome.prefixHashesParams;
    }
    return this.route(await this.decide(input), body, endOfStream);
  }

  private headersOnlyInput(): RequestInput {
    const input = this.input(emptyRequest(this.headers[':path']));
    input.headersOnly = true;
    return input;
  }

  private input(parsed: RequestInput['parsed']): RequestInput {
    const path =
      this.headers[':path'] ?? this.headers['x-original-path'] ?? this.headers['x-forwarded-path'] ?? '';
    const { token: stream, requestId, headers, subset } = this;
    return { stream, requestId, headers, path, parsed, subset, signal: this.abort.signal };
  }

  private async decide(input: RequestInput): Promise<Decision> {
    try {
      return await this.opts.director.decide(input);
    } catch (err) {
      return { kind: 'reject', status: 500, message: `director failed: ${(err as Error).message}` };
    }
  }

  private route(decision: Decision, original: Buffer | undefined, endOfStream: boolean): void {
    if (decision.kind === 'reject') return this.reply(decision.status, decision.message);
    // The response side owns the completion from here on, so every exit below (or a throw) still completes it.
    this.response = this.newResponseSide(decision);
    if (this.phase !== 'deciding') return this.response.complete(499); // closed while deciding
    if (decision.endpoints.length === 0) return this.reply(503, 'no endpoint picked');
    const destination = decision.endpoints.join(',');
    const body = decision.body ? toBuffer(decision.body) : original;
    const headers: Record<string, string> = { ...decision.headers, [DESTINATION]: destination };
    if (body !== undefined) headers['content-length'] = String(body.length);
    if (this.generatedId) headers['x-request-id'] = this.requestId;
    const mutation = {
      headers,
      clearRouteCache: true,
      dynamicMetadata: { [LB_NAMESPACE]: { [DESTINATION]: destination } },
    };
    this.to('routed');
    if (this.bufferedRequest && original !== undefined) {
      // The headers were answered with CONTINUE; the destination rides on the single body reply.
      const changed = decision.body !== undefined;
      this.send(commonResponse('requestBody', { ...mutation, body: changed ? body : undefined }));
      return;
    }
    this.send(commonResponse('requestHeaders', mutation));
    if (body === undefined) return;
    for (const r of chunkedBody('requestBody', body, endOfStream)) this.send(r);
  }

  private newResponseSide(decision?: Extract<Decision, { kind: 'route' }>): ResponseSide {
    return new ResponseSide({
      director: decision && this.opts.director,
      stream: this.token,
      requestId: this.requestId,
      started: this.started,
      now: this.opts.now,
      incomingModel: decision?.incomingModel,
      targetModel: decision?.targetModel,
      buffered: this.bufferedResponse,
      maxBodyBytes: this.opts.maxBodyBytes,
      servedEndpointHeader: this.opts.director.servedEndpointHeader,
      reject: (status, message) => this.reply(status, message),
    });
  }

  private async onResponse(req: ProcessingRequest): Promise<void> {
    if (this.phase === 'deciding') throw new ProtocolError('response before the request was decided');
    // A response without a routed request (the request phase was skipped): pass through, complete nothing.
    this.response ??= this.newResponseSide();
    if (this.phase !== 'responding') this.to('responding');
    await this.response.handle(req, this.send);
    if (this.response.finished && this.phase === 'responding') this.to('done');
  }

  /** Ends the request with an ImmediateResponse; a routed request completes with that status. */
  private reply(status: number, message: string): void {
    if (this.phase === 'done') return;
    this.to('done');
    this.send(immediateResponse(status, message));
    this.response?.complete(status, true);
  }
}

function isBuffered(mode: BodyMode): boolean {
  return mode === BodyMode.BUFFERED || mode === BodyMode.BUFFERED_PARTIAL;
}

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
