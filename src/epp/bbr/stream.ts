// Body-based router, one ext_proc stream: copies the body's `model` into X-Gateway-Model-Name (and the base model
// of a LoRA adapter into X-Gateway-Base-Model-Name) with clear_route_cache, so routes can match on it; the body
// is echoed back unchanged in 62,000-byte chunks. A body without a model passes through with no header.

import type {
  ProcessingRequest,
  ProcessingResponse,
} from '../../../generated/envoy/service/ext_proc/v3/external_processor';
import { ProcessingMode_BodySendMode as BodyMode } from '../../../generated/envoy/extensions/filters/http/ext_proc/v3/processing_mode';
import { chunkedBody, commonResponse, immediateResponse, trailersResponse } from '../extproc/messages';
import { DEFAULT_MAX_BODY_BYTES } from '../extproc/stream';
import type { StreamHandler } from '../server/extproc-service';
import type { BaseModelOf } from './adapters';

export const MODEL_HEADER = 'x-gateway-model-name';
export const BASE_MODEL_HEADER = 'x-gateway-base-model-name';

export interface BbrOptions {
  baseModelOf?: BaseModelOf;
  maxBodyBytes?: number;
}

export class BbrStream implements StreamHandler {
  done = false;
  private chunks: Buffer[] = [];
  private size = 0;
  private buffered = false;
  private bodyDone = false;

  constructor(
    private readonly o: BbrOptions,
    private readonly send: (r: ProcessingResponse) => void,
  ) {}

  async handle(req: ProcessingRequest): Promise<void> {
    if (this.done) return;
    if (req.protocolConfig) this.buffered = req.protocolConfig.requestBodyMode === BodyMode.BUFFERED;
    const r = req.request;
    switch (r?.$case) {
      case 'requestHeaders':
        if (r.value.endOfStream || this.buffered) this.send(commonResponse('requestHeaders'));
        return;
      case 'requestBody': {
        if (this.bodyDone) return;
        this.size += r.value.body.length;
        const limit = this.o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
        if (this.size > limit) {
          this.done = true;
          this.send(
            immediateResponse(413, `request body is larger than the ${limit}-byte limit (--max-body-bytes)`),
          );
          return;
        }
        this.chunks.push(r.value.body);
        if (r.value.endOfStream) this.finish(true);
        return;
      }
      case 'requestTrailers':
        if (!this.bodyDone) this.finish(false);
        this.send(trailersResponse('requestTrailers'));
        return;
      case 'responseHeaders':
        this.send(commonResponse('responseHeaders'));
        return;
      case 'responseBody':
        if (this.buffered) this.send(commonResponse('responseBody'));
        else
          this.send(
            commonResponse('responseBody', {
              streamed: { body: r.value.body, endOfStream: r.value.endOfStream },
            }),
          );
        return;
      case 'responseTrailers':
        this.send(trailersResponse('responseTrailers'));
        return;
      default:
        return;
    }
  }

  fail(message: string): boolean {
    if (this.done || this.bodyDone) return false;
    this.done = true;
    this.send(immediateResponse(500, message));
    return true;
  }

  close(): void {}

  private finish(endOfStream: boolean): void {
    this.bodyDone = true;
    const body = Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    const model = modelOf(body);
    const headers: Record<string, string> = { 'content-length': String(body.length) };
    if (model) {
      headers[MODEL_HEADER] = model;
      const base = this.o.baseModelOf?.get(model);
      if (base) headers[BASE_MODEL_HEADER] = base;
    }
    const phase = this.buffered ? 'requestBody' : 'requestHeaders';
    this.send(commonResponse(phase, { headers, clearRouteCache: model !== undefined }));
    if (!this.buffered) for (const c of chunkedBody('requestBody', body, endOfStream)) this.send(c);
  }
}

function modelOf(body: Buffer): string | undefined {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    const m = v && typeof v === 'object' ? (v as Record<string, unknown>).model : undefined;
    return typeof m === 'string' && m ? m : undefined;
  } catch {
    return undefined;
  }
}
