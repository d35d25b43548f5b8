// One ext_proc stream = one HTTP request. A state machine over ProcessingRequests: request headers are held
// until the body is complete, then the director decides and the handler replies with the destination (header +
// envoy.lb metadata + clear_route_cache) and streams the body back; the response side rewrites the model name
// back, passes SSE on at once and reads usage. Messages are handled one at a time, in order (see server/).

import { randomUUID } from 'node:crypto';
import type {
  ProcessingRequest,
  ProcessingResponse,
} from '../../../generated/envoy/service/ext_proc/v3/external_processor';
import { ProcessingMode_BodySendMode as BodyMode } from '../../../generated/envoy/extensions/filters/http/ext_proc/v3/processing_mode';
import type { Decision, Director, RequestInput } from '../types';
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

export interface HandlerOptions {
  director: Director;
  parser?: RequestParser;
  /** Request bodies above this many bytes get 413. */
  maxBodyBytes?: number;
  /** Clock in ms (tests pin it). */
  now?: () => number;
  newRequestId?: () => string;
}

type Send = (r: ProcessingResponse) => void;

export class ExtProcStream {
  /** True once an ImmediateResponse was sent: Envoy ends the request, later messages are ignored. */
  done = false;
  private readonly opts: Required<Omit<HandlerOptions, 'director'>> & { director: Director };
  private headers: Record<string, string> = {};
  private requestId = '';
  private generatedId = false;
  private subset: string[] | undefined;
  private bufferedRequest = false;
  private bufferedResponse = false;
  private headersAnswered = false;
  private chunks: Buffer[] = [];
  private size = 0;
  private bodyDone = false;
  private started = 0;
  private response: ResponseSide | undefined;

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

  /** Handles one message; resolves when every reply it causes has been sent. */
  async handle(req: ProcessingRequest): Promise<void> {
    if (this.done) return;
    if (req.protocolConfig) {
      this.bufferedRequest = isBuffered(req.protocolConfig.requestBodyMode);
      this.bufferedResponse = isBuffered(req.protocolConfig.responseBodyMode);
    }
    const r = req.request;
    switch (r?.$case) {
      case 'requestHeaders':
        return this.onRequestHeaders(req, r.value.headers, r.value.endOfStream);
      case 'requestBody':
        return this.onRequestBody(r.value.body, r.value.endOfStream);
      case 'requestTrailers':
        if (!this.bodyDone) await this.finishRequest(false);
        if (!this.done) this.send(trailersResponse('requestTrailers'));
        return;
      case 'responseHeaders':
      case 'responseBody':
      case 'responseTrailers':
        return this.responseSide().handle(req, this.send);
      default:
        return;
    }
  }

  /** The stream ended (half-close, cancel or error): a routed request that never completed is completed now. */
  close(): void {
    this.response?.complete(499);
  }

  /** For a failure the handler did not anticipate: a 500 if Envoy still waits for a decision, else false. */
  fail(message: string): boolean {
    if (this.done || this.headersAnswered) return false;
    this.reply(immediateResponse(500, message));
    return true;
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
      this.bodyDone = true;
      const input = this.input(emptyRequest(this.headers[':path']));
      input.headersOnly = true;
      return this.route(await this.decide(input), undefined, true);
    }
    if (this.bufferedRequest) {
      // BUFFERED: Envoy waits for this reply before it sends the body; the destination goes on the body reply.
      this.headersAnswered = true;
      this.send(commonResponse('requestHeaders'));
    }
  }

  private async onRequestBody(body: Buffer, eos: boolean) {
    if (this.bodyDone) return;
    this.size += body.length;
    if (this.size > this.opts.maxBodyBytes) {
      this.reply(
        immediateResponse(
          413,
          `request body is larger than the ${this.opts.maxBodyBytes}-byte limit (--max-body-bytes)`,
        ),
      );
      return;
    }
    if (body.length) this.chunks.push(body);
    if (eos) await this.finishRequest(true);
  }

  private async finishRequest(endOfStream: boolean) {
    this.bodyDone = true;
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    if (body.length === 0) {
      const input = this.input(emptyRequest(this.headers[':path']));
      input.headersOnly = true;
      return this.route(await this.decide(input), body, endOfStream);
    }
    const outcome = await this.opts.parser.parse(this.headers[':path'], body);
    if (!outcome.ok) return this.reply(immediateResponse(400, outcome.message));
    const input = this.input(outcome.parsed);
    if (outcome.prefixHashes) {
      input.prefixHashes = outcome.prefixHashes;
      input.prefixHashesModel = outcome.prefixHashesModel ?? outcome.parsed.model;
      input.prefixHashesParams = outcome.prefixHashesParams;
    }
    return this.route(await this.decide(input), body, endOfStream);
  }

  private input(parsed: RequestInput['parsed']): RequestInput {
    const path =
      this.headers[':path'] ?? this.headers['x-original-path'] ?? this.headers['x-forwarded-path'] ?? '';
    return { requestId: this.requestId, headers: this.headers, path, parsed, subset: this.subset };
  }

  private async decide(input: RequestInput): Promise<Decision> {
    try {
      return await this.opts.director.decide(input);
    } catch (err) {
      return { kind: 'reject', status: 500, message: `director failed: ${(err as Error).message}` };
    }
  }

  private route(decision: Decision, original: Buffer | undefined, endOfStream: boolean): void {
    if (decision.kind === 'reject') return this.reply(immediateResponse(decision.status, decision.message));
    if (decision.endpoints.length === 0) return this.reply(immediateResponse(503, 'no endpoint picked'));
    const destination = decision.endpoints.join(',');
    const body = decision.body ? toBuffer(decision.body) : original;
    const headers: Record<string, string> = { [DESTINATION]: destination };
    if (body !== undefined) headers['content-length'] = String(body.length);
    if (this.generatedId) headers['x-request-id'] = this.requestId;
    const mutation = {
      headers,
      clearRouteCache: true,
      dynamicMetadata: { [LB_NAMESPACE]: { [DESTINATION]: destination } },
    };
    this.response = new ResponseSide({
      director: this.opts.director,
      requestId: this.requestId,
      started: this.started,
      now: this.opts.now,
      incomingModel: decision.incomingModel,
      targetModel: decision.targetModel,
      buffered: this.bufferedResponse,
      maxBodyBytes: this.opts.maxBodyBytes,
    });
    if (this.bufferedRequest && this.headersAnswered) {
      const changed = decision.body !== undefined;
      this.send(commonResponse('requestBody', { ...mutation, body: changed ? body : undefined }));
      return;
    }
    this.headersAnswered = true;
    this.send(commonResponse('requestHeaders', mutation));
    if (body === undefined) return;
    if (this.bufferedRequest) {
      if (decision.body) this.send(commonResponse('requestBody', { body }));
      else this.send(commonResponse('requestBody'));
      return;
    }
    for (const r of chunkedBody('requestBody', body, endOfStream)) this.send(r);
  }

  private reply(r: ProcessingResponse): void {
    this.done = true;
    this.send(r);
  }

  private responseSide(): ResponseSide {
    // A response without a routed request (e.g. the director never ran): pass through, complete nothing.
    this.response ??= new ResponseSide({
      requestId: this.requestId,
      started: this.started,
      now: this.opts.now,
      buffered: this.bufferedResponse,
      maxBodyBytes: this.opts.maxBodyBytes,
    });
    return this.response;
  }
}

function isBuffered(mode: BodyMode): boolean {
  return mode === BodyMode.BUFFERED || mode === BodyMode.BUFFERED_PARTIAL;
}

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
