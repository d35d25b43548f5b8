// The fast response serializer (src/epp/server/extproc-codec.ts) against the generated encoder, byte for byte:
// streamed body chunks of sizes around every varint width, every flag, both directions, and messages that must
// take the generated path (anything besides the chunk).

import {
  ProcessingResponse,
  type BodyResponse,
} from '../../generated/envoy/service/ext_proc/v3/external_processor';
import { commonResponse } from '../../src/epp/extproc/messages';
import { serializeProcessingResponse } from '../../src/epp/server/extproc-codec';

const chunk = (
  size: number,
  flags: Partial<{
    endOfStream: boolean;
    endOfStreamWithoutMessage: boolean;
    grpcMessageCompressed: boolean;
  }> = {},
) => ({
  body: Buffer.alloc(size, 0x61 + (size % 26)),
  endOfStream: false,
  endOfStreamWithoutMessage: false,
  grpcMessageCompressed: false,
  ...flags,
});
const streamed = (dir: 'requestBody' | 'responseBody', c: ReturnType<typeof chunk>): ProcessingResponse => ({
  response: {
    $case: dir,
    value: {
      response: {
        status: 0,
        clearRouteCache: false,
        bodyMutation: { mutation: { $case: 'streamedResponse', value: c } },
      },
    },
  },
  requestDrain: false,
});

describe('serializeProcessingResponse', () => {
  const sizes = [0, 1, 100, 120, 127, 128, 16_370, 16_384, 62_000, 2_097_140, 2_097_152];
  it.each(sizes.flatMap((n) => [['requestBody', n] as const, ['responseBody', n] as const]))(
    '%s chunk of %i bytes equals the generated encoding',
    (dir, n) => {
      const r = streamed(dir, chunk(n, { endOfStream: n % 2 === 0 }));
      expect(serializeProcessingResponse(r).equals(Buffer.from(ProcessingResponse.encode(r).finish()))).toBe(
        true,
      );
    },
  );

  it.each([
    [{ endOfStream: true }],
    [{ endOfStreamWithoutMessage: true }],
    [{ grpcMessageCompressed: true }],
    [{ endOfStream: true, endOfStreamWithoutMessage: true, grpcMessageCompressed: true }],
  ])('flags %j', (flags) => {
    const r = streamed('requestBody', chunk(300, flags));
    expect(serializeProcessingResponse(r).equals(Buffer.from(ProcessingResponse.encode(r).finish()))).toBe(
      true,
    );
  });

  const others: [string, ProcessingResponse][] = [
    [
      'headers with a mutation',
      commonResponse('requestHeaders', { headers: { a: 'b' }, clearRouteCache: true }),
    ],
    [
      'a chunk with headers',
      commonResponse('requestBody', {
        headers: { a: 'b' },
        streamed: { body: Buffer.from('x'), endOfStream: true },
      }),
    ],
    [
      'a chunk with metadata',
      { ...streamed('requestBody', chunk(10)), dynamicMetadata: { 'envoy.lb': { k: 'v' } } },
    ],
    ['a chunk with a drain', { ...streamed('responseBody', chunk(10)), requestDrain: true }],
    ['a whole body', commonResponse('requestBody', { body: Buffer.from('{}') })],
    ['an empty body response', { response: { $case: 'requestBody', value: {} }, requestDrain: false }],
  ];
  it.each(others)('%s: the generated encoding', (_name, r) => {
    expect(serializeProcessingResponse(r).equals(Buffer.from(ProcessingResponse.encode(r).finish()))).toBe(
      true,
    );
  });

  it('round-trips through the generated decoder', () => {
    const c = chunk(70_000, { endOfStream: true });
    const back = ProcessingResponse.decode(serializeProcessingResponse(streamed('responseBody', c)));
    expect(back.response?.$case).toBe('responseBody');
    const m = (back.response?.value as BodyResponse).response?.bodyMutation?.mutation;
    expect(m?.$case).toBe('streamedResponse');
    const value = m?.$case === 'streamedResponse' ? m.value : undefined;
    expect(value?.endOfStream).toBe(true);
    expect(Buffer.from(value!.body).equals(c.body)).toBe(true);
  });
});
