// Builders for the ext_proc ProcessingResponses the handler sends, and readers for what Envoy sends: header maps
// (value or raw_value), the subset hint and the served endpoint. Pure functions over ts-proto types.

import {
  CommonResponse_ResponseStatus,
  type HeaderMutation,
  type ProcessingRequest,
  type ProcessingResponse,
} from '../../../generated/envoy/service/ext_proc/v3/external_processor';
import {
  HeaderValueOption_HeaderAppendAction,
  type HeaderMap,
  type HeaderValueOption,
} from '../../../generated/envoy/config/core/v3/base';

export const DESTINATION = 'x-gateway-destination-endpoint';
export const SERVED = 'x-gateway-destination-endpoint-served';
export const SUBSET = 'x-gateway-destination-endpoint-subset';
export const LB_NAMESPACE = 'envoy.lb';
export const SUBSET_NAMESPACE = 'envoy.lb.subset_hint';
/** The reference EPP's chunk size: under Envoy's 64 KiB per-message limit with a margin. */
export const CHUNK_BYTES = 62000;

/** Lower-case header name → value (multiple values joined with ","). */
export function headerRecord(map: HeaderMap | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of map?.headers ?? []) {
    const key = h.key.toLowerCase();
    const value = h.rawValue && h.rawValue.length > 0 ? h.rawValue.toString('utf8') : h.value;
    out[key] = key in out ? `${out[key]},${value}` : value;
  }
  return out;
}

export function setHeader(key: string, value: string): HeaderValueOption {
  return {
    header: { key, value: '', rawValue: Buffer.from(value) },
    appendAction: HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
    keepEmptyValue: false,
  };
}

export function headerMutation(headers: Record<string, string>, remove: string[] = []): HeaderMutation {
  return { setHeaders: Object.entries(headers).map(([k, v]) => setHeader(k, v)), removeHeaders: remove };
}

type Phase = 'requestHeaders' | 'responseHeaders' | 'requestBody' | 'responseBody';

export interface CommonOptions {
  headers?: Record<string, string>;
  removeHeaders?: string[];
  clearRouteCache?: boolean;
  /** Streamed body chunk (FULL_DUPLEX_STREAMED) … */
  streamed?: { body: Buffer; endOfStream: boolean };
  /** … or a whole replacement body (BUFFERED). */
  body?: Buffer;
  dynamicMetadata?: Record<string, unknown>;
}

/** A HeadersResponse or BodyResponse for the given phase. */
export function commonResponse(phase: Phase, o: CommonOptions = {}): ProcessingResponse {
  const headerMut =
    o.headers || o.removeHeaders ? headerMutation(o.headers ?? {}, o.removeHeaders ?? []) : undefined;
  let bodyMutation;
  if (o.streamed) {
    bodyMutation = {
      mutation: {
        $case: 'streamedResponse' as const,
        value: {
          body: o.streamed.body,
          endOfStream: o.streamed.endOfStream,
          endOfStreamWithoutMessage: false,
          grpcMessageCompressed: false,
        },
      },
    };
  } else if (o.body) {
    bodyMutation = { mutation: { $case: 'body' as const, value: o.body } };
  }
  const response = {
    status: CommonResponse_ResponseStatus.CONTINUE,
    headerMutation: headerMut,
    bodyMutation,
    clearRouteCache: o.clearRouteCache ?? false,
  };
  return {
    response: { $case: phase, value: { response } },
    dynamicMetadata: o.dynamicMetadata,
    requestDrain: false,
  } as ProcessingResponse;
}

/** Streamed body responses of at most CHUNK_BYTES each; the last carries endOfStream. An empty body → one. */
export function chunkedBody(
  phase: 'requestBody' | 'responseBody',
  body: Uint8Array,
  endOfStream: boolean,
  chunkBytes = CHUNK_BYTES,
): ProcessingResponse[] {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const out: ProcessingResponse[] = [];
  for (let off = 0; off < buf.length || out.length === 0; off += chunkBytes) {
    const end = Math.min(off + chunkBytes, buf.length);
    out.push(
      commonResponse(phase, {
        streamed: { body: buf.subarray(off, end), endOfStream: endOfStream && end >= buf.length },
      }),
    );
  }
  return out;
}

const CODE_NAMES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  413: 'PayloadTooLarge',
  429: 'ResourceExhausted',
  500: 'Internal',
  503: 'ServiceUnavailable',
};

/** The reference EPP's error reply: ImmediateResponse with body `inference error: <Code> - <message>`. */
export function immediateResponse(status: number, message: string): ProcessingResponse {
  const text = `inference error: ${CODE_NAMES[status] ?? 'Unknown'} - ${message}`;
  return {
    response: {
      $case: 'immediateResponse',
      value: {
        status: { code: status },
        headers: headerMutation({ 'content-type': 'text/plain; charset=utf-8' }),
        body: Buffer.from(text),
        details: text,
      },
    },
    requestDrain: false,
  };
}

export function trailersResponse(phase: 'requestTrailers' | 'responseTrailers'): ProcessingResponse {
  return { response: { $case: phase, value: {} }, requestDrain: false };
}

function filterMetadata(req: ProcessingRequest, ns: string): Record<string, unknown> | undefined {
  const md = req.metadataContext?.filterMetadata?.[ns];
  return md && typeof md === 'object' ? (md as Record<string, unknown>) : undefined;
}

/** Subset hint: undefined when absent; a list or a comma-separated string of ip or ip:port. */
export function readSubset(req: ProcessingRequest): string[] | undefined {
  const ns = filterMetadata(req, SUBSET_NAMESPACE);
  if (!ns || !(SUBSET in ns)) return undefined;
  return splitList(ns[SUBSET]);
}

/** The endpoint that served the request: envoy.lb metadata, else the upstream.address attribute. */
export function readServed(req: ProcessingRequest): string | undefined {
  const v = filterMetadata(req, LB_NAMESPACE)?.[SERVED];
  if (typeof v === 'string' && v) return v;
  for (const attrs of Object.values(req.attributes ?? {})) {
    const a = attrs?.['upstream.address'];
    if (typeof a === 'string' && a) return a;
  }
  return undefined;
}

export function splitList(v: unknown): string[] {
  const items = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : [];
  return items
    .filter((s): s is string => typeof s === 'string')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
