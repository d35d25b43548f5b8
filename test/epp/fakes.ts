// Test doubles for the ext_proc handler: a deterministic Director, ProcessingRequest builders and a compact
// summary of ProcessingResponses that tables can compare against.

import type {
  ProcessingRequest,
  ProcessingResponse,
} from '../../generated/envoy/service/ext_proc/v3/external_processor';
import { ProcessingMode_BodySendMode } from '../../generated/envoy/extensions/filters/http/ext_proc/v3/processing_mode';
import type { Decision, Director, RequestInput, ResponseInfo } from '../../src/epp/types';
import { ExtProcStream, type HandlerOptions } from '../../src/epp/extproc/stream';

export const PODS = ['10.0.0.1:8000', '10.0.0.2:8000', '10.0.0.3:8000'];

/**
 * Decides by rules a table can read: model "shed" → 429, "filtered" → 429 (all filtered), "boom" → throws;
 * the subset hint filters PODS by IP (or ip:port); test-epp-endpoint-selection names the pick; a rewrite header or
 * the weighted rule for model "weighted" (deterministic: weights [0, 1] → always the second) sets the target.
 */
export class FakeDirector implements Director {
  inputs: RequestInput[] = [];
  completions: ResponseInfo[] = [];
  pods = PODS;

  async decide(input: RequestInput): Promise<Decision> {
    this.inputs.push(input);
    const model = input.parsed.model;
    if (model === 'boom') throw new Error('boom');
    if (model === 'shed')
      return { kind: 'reject', status: 429, message: 'system saturated, sheddable request dropped' };
    let candidates = this.pods;
    if (input.subset) {
      const subset = input.subset;
      candidates = candidates.filter((p) =>
        subset.some((s) => (s.includes(':') ? s === p : p.startsWith(s + ':'))),
      );
    }
    if (candidates.length === 0)
      return { kind: 'reject', status: 503, message: 'failed to find endpoint candidates' };
    if (model === 'filtered')
      return { kind: 'reject', status: 429, message: 'failed to find target endpoint' };
    const selection = input.headers['test-epp-endpoint-selection'];
    const endpoints = selection
      ? selection.split(',').map((s) => (s.includes(':') ? s : `${s}:8000`))
      : [candidates[0]];
    let target = input.headers['x-gateway-model-name-rewrite'] || model;
    if (model === 'weighted')
      target = pickWeighted([
        ['base-a', 0],
        ['base-b', 1],
      ]);
    let body: Uint8Array | undefined;
    if (target !== model && !input.headersOnly) {
      body = Buffer.from(JSON.stringify({ ...input.parsed.body, model: target }));
    }
    return { kind: 'route', endpoints, incomingModel: model, targetModel: target, body, priority: 0 };
  }

  complete(info: ResponseInfo): void {
    this.completions.push(info);
  }
}

function pickWeighted(targets: [string, number][]): string {
  const total = targets.reduce((s, [, w]) => s + w, 0);
  let r = total * 0.5;
  for (const [name, w] of targets) {
    if (r < w) return name;
    r -= w;
  }
  return targets[0][0];
}

const hdrs = (h: Record<string, string>) => ({
  headers: Object.entries(h).map(([key, v]) => ({ key, value: '', rawValue: Buffer.from(v) })),
});

export interface Meta {
  subset?: unknown;
  served?: string;
  buffered?: boolean;
  attributes?: Record<string, Record<string, unknown>>;
}

function base(m: Meta = {}): Omit<ProcessingRequest, 'request'> {
  const filterMetadata: Record<string, Record<string, unknown>> = {};
  if (m.subset !== undefined)
    filterMetadata['envoy.lb.subset_hint'] = { 'x-gateway-destination-endpoint-subset': m.subset };
  if (m.served) filterMetadata['envoy.lb'] = { 'x-gateway-destination-endpoint-served': m.served };
  const B = ProcessingMode_BodySendMode.BUFFERED;
  return {
    metadataContext: { filterMetadata, typedFilterMetadata: {} },
    attributes: m.attributes ?? {},
    observabilityMode: false,
    protocolConfig: m.buffered
      ? { requestBodyMode: B, responseBodyMode: B, sendBodyWithoutWaitingForHeaderResponse: false }
      : undefined,
  };
}

export function reqHeaders(h: Record<string, string>, eos = false, m?: Meta): ProcessingRequest {
  const headers = { ':method': 'POST', ':path': '/v1/completions', ...h };
  return {
    ...base(m),
    request: { $case: 'requestHeaders', value: { headers: hdrs(headers), attributes: {}, endOfStream: eos } },
  };
}

const body = (b: string | Buffer, eos: boolean) => ({
  body: Buffer.isBuffer(b) ? b : Buffer.from(b),
  endOfStream: eos,
  endOfStreamWithoutMessage: false,
  grpcMessageCompressed: false,
});

export const reqBody = (b: string | Buffer, eos = true, m?: Meta): ProcessingRequest => ({
  ...base(m),
  request: { $case: 'requestBody', value: body(b, eos) },
});

export const respHeaders = (h: Record<string, string>, eos = false, m?: Meta): ProcessingRequest => ({
  ...base(m),
  request: {
    $case: 'responseHeaders',
    value: { headers: hdrs({ ':status': '200', ...h }), attributes: {}, endOfStream: eos },
  },
});

export const respBody = (b: string | Buffer, eos = true, m?: Meta): ProcessingRequest => ({
  ...base(m),
  request: { $case: 'responseBody', value: body(b, eos) },
});

export const reqTrailers = (): ProcessingRequest => ({
  ...base(),
  request: { $case: 'requestTrailers', value: {} },
});
export const respTrailers = (): ProcessingRequest => ({
  ...base(),
  request: { $case: 'responseTrailers', value: {} },
});

export type Summary = Record<string, unknown>;

/** A compact, table-friendly view of one response. Bodies over 80 bytes are shown by length. */
export function summarize(r: ProcessingResponse): Summary {
  const resp = r.response;
  if (!resp) return { empty: true };
  if (resp.$case === 'immediateResponse') {
    return { immediate: resp.value.status?.code, body: resp.value.body.toString() };
  }
  if (resp.$case === 'requestTrailers' || resp.$case === 'responseTrailers') return { phase: resp.$case };
  const c = resp.value.response;
  const out: Summary = { phase: resp.$case };
  const set = c?.headerMutation?.setHeaders ?? [];
  if (set.length) {
    out.set = Object.fromEntries(
      set.map((h) => [h.header!.key, h.header!.rawValue.toString() || h.header!.value]),
    );
  }
  if (c?.clearRouteCache) out.clearRouteCache = true;
  if (r.dynamicMetadata) out.metadata = r.dynamicMetadata;
  const m = c?.bodyMutation?.mutation;
  if (m?.$case === 'streamedResponse') {
    out.streamed = show(m.value.body);
    out.eos = m.value.endOfStream;
  } else if (m?.$case === 'body') {
    out.body = show(m.value);
  }
  return out;
}

function show(b: Buffer): string | number {
  return b.length > 80 ? b.length : b.toString();
}

/** Drives one ExtProcStream through messages with a pinned clock and request-id generator. */
export async function run(
  msgs: ProcessingRequest[],
  opts: Partial<HandlerOptions> = {},
  director = new FakeDirector(),
): Promise<{ out: ProcessingResponse[]; director: FakeDirector; stream: ExtProcStream }> {
  const out: ProcessingResponse[] = [];
  const stream = new ExtProcStream(
    { director, now: () => 1000, newRequestId: () => 'gen-id', ...opts },
    (r) => out.push(r),
  );
  for (const m of msgs) await stream.handle(m);
  return { out, director, stream };
}
