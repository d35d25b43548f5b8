// The ext_proc service definition the EPP serves, with a faster response serializer for the one message that
// carries bulk bytes: a streamed body chunk (FULL_DUPLEX_STREAMED request or response body sent back to Envoy).
// The generated encoder copies a 62 KB chunk about seven times (growing its buffer, a memmove per nesting level
// whose length prefix is wider than one byte, the final slice, Buffer.from); this writes the five nested headers
// and copies the body once, byte for byte what the generated encoder produces. Every other message goes through
// the generated encoder.

import type { ServiceDefinition } from '@grpc/grpc-js';
import {
  ExternalProcessorService,
  ProcessingResponse,
} from '../../../generated/envoy/service/ext_proc/v3/external_processor';

// Field tags (field number << 3 | wire type): ProcessingResponse.request_body = 3 and response_body = 4,
// BodyResponse.response = 1, CommonResponse.body_mutation = 3, BodyMutation.streamed_response = 3,
// StreamedBodyResponse.body = 1 (length-delimited), end_of_stream = 2, end_of_stream_without_message = 3,
// grpc_message_compressed = 4 (varint).
const TAG_REQUEST_BODY = 26;
const TAG_RESPONSE_BODY = 34;
const TAG_MESSAGE_1 = 10;
const TAG_MESSAGE_3 = 26;
const TAG_BOOL_2 = 16;
const TAG_BOOL_3 = 24;
const TAG_BOOL_4 = 32;

const varintBytes = (n: number) =>
  n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;

function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[at++] = n;
  return at;
}

function writeTrue(buf: Buffer, at: number, tag: number): number {
  buf[at] = tag;
  buf[at + 1] = 1;
  return at + 2;
}

/** The streamed chunk if the response is nothing but one (else undefined: the generated encoder's case). */
function streamedOnly(r: ProcessingResponse) {
  const c = r.response?.$case;
  if (c !== 'requestBody' && c !== 'responseBody') return undefined;
  if (r.dynamicMetadata !== undefined || r.modeOverride !== undefined || r.requestDrain) return undefined;
  if (r.overrideMessageTimeout !== undefined) return undefined;
  const common = r.response!.value.response;
  if (!common || common.status !== 0 || common.headerMutation || common.trailers || common.clearRouteCache)
    return undefined;
  const m = common.bodyMutation?.mutation;
  if (m?.$case !== 'streamedResponse') return undefined;
  return { tag: c === 'requestBody' ? TAG_REQUEST_BODY : TAG_RESPONSE_BODY, chunk: m.value };
}

/** ProcessingResponse → bytes; identical to `ProcessingResponse.encode(r).finish()`. */
export function serializeProcessingResponse(r: ProcessingResponse): Buffer {
  const fast = streamedOnly(r);
  if (!fast) return Buffer.from(ProcessingResponse.encode(r).finish());
  const { tag, chunk } = fast;
  const body = chunk.body;
  // StreamedBodyResponse, then each enclosing message: its tag, its length, its content.
  let inner = body.length > 0 ? 1 + varintBytes(body.length) + body.length : 0;
  if (chunk.endOfStream) inner += 2;
  if (chunk.endOfStreamWithoutMessage) inner += 2;
  if (chunk.grpcMessageCompressed) inner += 2;
  const mutation = 1 + varintBytes(inner) + inner; // BodyMutation.streamed_response
  const common = 1 + varintBytes(mutation) + mutation; // CommonResponse.body_mutation
  const bodyResponse = 1 + varintBytes(common) + common; // BodyResponse.response
  const total = 1 + varintBytes(bodyResponse) + bodyResponse; // ProcessingResponse.request_body|response_body
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  out[at++] = tag;
  at = writeVarint(out, at, bodyResponse);
  out[at++] = TAG_MESSAGE_1;
  at = writeVarint(out, at, common);
  out[at++] = TAG_MESSAGE_3;
  at = writeVarint(out, at, mutation);
  out[at++] = TAG_MESSAGE_3;
  at = writeVarint(out, at, inner);
  if (body.length > 0) {
    out[at++] = TAG_MESSAGE_1;
    at = writeVarint(out, at, body.length);
    at += body.copy(out, at);
  }
  if (chunk.endOfStream) at = writeTrue(out, at, TAG_BOOL_2);
  if (chunk.endOfStreamWithoutMessage) at = writeTrue(out, at, TAG_BOOL_3);
  if (chunk.grpcMessageCompressed) writeTrue(out, at, TAG_BOOL_4);
  return out;
}

/** ExternalProcessorService with serializeProcessingResponse as its response serializer. */
export const EXT_PROC_SERVICE: ServiceDefinition = {
  ...ExternalProcessorService,
  process: { ...ExternalProcessorService.process, responseSerialize: serializeProcessingResponse },
} as unknown as ServiceDefinition;
