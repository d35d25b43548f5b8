// Drives one generated ExtProcCase over a real gRPC Process stream the way Envoy does (wait for the headers reply
// in BUFFERED mode, stream chunks in FULL_DUPLEX_STREAMED, then the response side) and classifies how it ended.
// Every wait is bounded: a reply that does not come within `boundMs` is a hang.

import type { ClientDuplexStream } from '@grpc/grpc-js';
import type {
  ExternalProcessorClient,
  ProcessingRequest,
  ProcessingResponse,
} from '../../generated/envoy/service/ext_proc/v3/external_processor';
import { ProcessingMode_BodySendMode as BodyMode } from '../../generated/envoy/extensions/filters/http/ext_proc/v3/processing_mode';
import type { ExtProcCase, Outcome } from './extproc-gen';

export const ALLOWED_STATUSES = [400, 413, 429, 500, 503];
const DESTINATION = 'x-gateway-destination-endpoint';

export interface CaseResult {
  outcome: Outcome;
  /** Why a hang or bad reply was classified so (which wait timed out, what was wrong). */
  detail?: string;
  ms: number;
}

type Call = ClientDuplexStream<ProcessingRequest, ProcessingResponse>;

function base(c: ExtProcCase, first: boolean): Omit<ProcessingRequest, 'request'> {
  const filterMetadata: Record<string, Record<string, unknown>> = {};
  if (first && c.subset !== undefined)
    filterMetadata['envoy.lb.subset_hint'] = { 'x-gateway-destination-endpoint-subset': c.subset };
  const B = BodyMode.BUFFERED;
  return {
    metadataContext: { filterMetadata, typedFilterMetadata: {} },
    attributes: {},
    observabilityMode: false,
    protocolConfig:
      first && c.buffered
        ? { requestBodyMode: B, responseBodyMode: B, sendBodyWithoutWaitingForHeaderResponse: false }
        : undefined,
  };
}

const headerMap = (h: Record<string, string>) => ({
  headers: Object.entries(h).map(([key, v]) => ({ key, value: '', rawValue: Buffer.from(v) })),
});

const httpBody = (body: Buffer, endOfStream: boolean) => ({
  body,
  endOfStream,
  endOfStreamWithoutMessage: false,
  grpcMessageCompressed: false,
});

/** The request side as Envoy would send it. */
function requestMessages(c: ExtProcCase): ProcessingRequest[] {
  const out: ProcessingRequest[] = [
    {
      ...base(c, true),
      request: {
        $case: 'requestHeaders',
        value: { headers: headerMap(c.headers), attributes: {}, endOfStream: c.headersEos },
      },
    },
  ];
  if (c.headersEos) return out;
  const cuts = c.buffered ? [] : c.cuts;
  let at = 0;
  for (const end of [...cuts, c.body.length]) {
    const last = end === c.body.length;
    out.push({
      ...base(c, false),
      request: { $case: 'requestBody', value: httpBody(c.body.subarray(at, end), last && !c.trailers) },
    });
    at = end;
  }
  if (c.trailers) out.push({ ...base(c, false), request: { $case: 'requestTrailers', value: {} } });
  return out;
}

class Replies {
  readonly got: ProcessingResponse[] = [];
  status?: { code: number; details: string };
  private wake?: () => void;

  constructor(call: Call) {
    call.on('data', (r: ProcessingResponse) => {
      this.got.push(r);
      this.wake?.();
    });
    call.on('status', (s: { code: number; details: string }) => {
      this.status = s;
      this.wake?.();
    });
    call.on('error', () => undefined); // the status event carries it
  }

  /** Resolves with the first reply from index `from` that `pred` accepts, 'ended' if the stream ended, or 'timeout'. */
  async next(
    from: number,
    pred: (r: ProcessingResponse) => boolean,
    boundMs: number,
  ): Promise<ProcessingResponse | 'ended' | 'timeout'> {
    const deadline = Date.now() + boundMs;
    for (;;) {
      for (let i = from; i < this.got.length; i++) if (pred(this.got[i])) return this.got[i];
      if (this.status) return 'ended';
      const left = deadline - Date.now();
      if (left <= 0) return 'timeout';
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  async ended(boundMs: number): Promise<boolean> {
    return (await this.next(this.got.length, () => false, boundMs)) === 'ended';
  }
}

const isImmediate = (r: ProcessingResponse) => r.response?.$case === 'immediateResponse';

function destinationOf(r: ProcessingResponse): { header?: string; metadata?: string } | undefined {
  const resp = r.response;
  if (!resp || (resp.$case !== 'requestHeaders' && resp.$case !== 'requestBody')) return undefined;
  const set = resp.value.response?.headerMutation?.setHeaders ?? [];
  const h = set.find((x) => x.header?.key.toLowerCase() === DESTINATION)?.header;
  const header = h ? h.rawValue.toString() || h.value : undefined;
  const lb = r.dynamicMetadata?.['envoy.lb'] as Record<string, unknown> | undefined;
  const metadata = typeof lb?.[DESTINATION] === 'string' ? (lb[DESTINATION] as string) : undefined;
  return header === undefined && metadata === undefined ? undefined : { header, metadata };
}

function checkDestination(d: { header?: string; metadata?: string }, c: ExtProcCase, members: string[]) {
  if (d.header !== d.metadata) return `header ${d.header} != metadata ${d.metadata}`;
  const allowed = c.subsetMembers && c.subsetMembers.length ? c.subsetMembers : members;
  const bad = d.header!.split(',').filter((e) => !allowed.includes(e.trim()));
  return bad.length ? `destination ${bad.join(',')} is not among ${allowed.join(',')}` : undefined;
}

/** Runs one case on a fresh stream of `client`; never rejects. */
export async function driveCase(
  client: ExternalProcessorClient,
  c: ExtProcCase,
  members: string[],
  boundMs: number,
): Promise<CaseResult> {
  const t0 = Date.now();
  const call = client.process();
  const replies = new Replies(call);
  const done = (outcome: Outcome, detail?: string): CaseResult => {
    if (!replies.status) call.cancel();
    return { outcome, detail, ms: Date.now() - t0 };
  };
  const endOf = async (outcome: Outcome): Promise<CaseResult> => {
    call.end();
    return (await replies.ended(boundMs)) ? done(outcome) : done('hang', `stream not ended after ${outcome}`);
  };
  const ended = () => {
    const s = replies.status!;
    return done(s.code === 0 ? 'closed-early' : `grpc-${s.code}`, s.details);
  };
  // grpc-js's client never resets a stream it cancels in the same tick as writes that are still being handed to
  // the transport (measured: 999 of 1,000 such streams stayed open on a plain Node HTTP/2 server), which would look
  // like requests the EPP holds forever. Envoy resets; so cancel only once the last write reached the transport.
  let flushed: Promise<void> = Promise.resolve();
  const write = (m: ProcessingRequest) => {
    flushed = new Promise((resolve) => call.write(m, () => resolve()));
  };
  const cancel = async () => {
    await flushed;
    call.cancel();
    return done('cancelled');
  };

  const msgs = requestMessages(c);
  let sent = 0;
  const isDecision = (r: ProcessingResponse) => isImmediate(r) || destinationOf(r) !== undefined;
  for (const m of msgs) {
    if (c.cancelAfter === sent) return cancel();
    if (c.halfCloseAfter === sent) {
      call.end();
      if (!(await replies.ended(boundMs)))
        return done('hang', `not ended after a half-close at message ${sent}`);
      const imm = replies.got.find(isImmediate);
      return imm ? done(immediateOutcome(imm)) : ended();
    }
    write(m);
    sent++;
    if (sent === 1 && c.buffered && !c.headersEos) {
      // Envoy sends a BUFFERED body only after the headers reply.
      const r = await replies.next(0, () => true, boundMs);
      if (r === 'timeout') return done('hang', 'no reply to BUFFERED request headers');
      if (r === 'ended') return ended();
      if (isImmediate(r)) return endOf(immediateOutcome(r));
    }
  }
  if (c.cancelAfter === sent) return cancel();
  const d = await replies.next(0, isDecision, boundMs);
  if (d === 'timeout') return done('hang', 'no decision after the whole request');
  if (d === 'ended') return ended();
  const decision = d;
  if (isImmediate(decision)) return endOf(immediateOutcome(decision));
  const bad = checkDestination(destinationOf(decision)!, c, members);
  if (bad) return done('bad-destination', bad);
  if (!c.buffered && !c.headersEos && c.body.length > 0) {
    // FULL_DUPLEX_STREAMED: Envoy waits for the body to come back before it forwards anything.
    const want = c.trailers
      ? (r: ProcessingResponse) => r.response?.$case === 'requestTrailers'
      : (r: ProcessingResponse) => streamedEos(r, 'requestBody');
    const echo = await replies.next(0, want, boundMs);
    if (echo === 'timeout') return done('hang', 'request body not echoed to its end');
    if (echo === 'ended') return ended();
  }
  if (c.cancelAfter === 'decision') return cancel();
  if (c.response) {
    const r = await driveResponse(call, replies, c, boundMs);
    if (r === 'cancel') return cancel();
    if (r) return done(r.startsWith('ended') ? 'bad-reply' : 'hang', r);
  }
  return endOf('routed');
}

function immediateOutcome(r: ProcessingResponse): Outcome {
  const v = r.response?.$case === 'immediateResponse' ? r.response.value : undefined;
  return `immediate-${v?.status?.code ?? 0}`;
}

function streamedEos(r: ProcessingResponse, phase: 'requestBody' | 'responseBody'): boolean {
  if (r.response?.$case !== phase) return false;
  const m = r.response.value.response?.bodyMutation?.mutation;
  return m?.$case === 'streamedResponse' && m.value.endOfStream;
}

/** The response side; returns undefined when every reply came, 'cancel' to cancel, or what was missing. */
async function driveResponse(
  call: Call,
  replies: Replies,
  c: ExtProcCase,
  boundMs: number,
): Promise<string | 'cancel' | undefined> {
  const p = c.response!;
  const filterMetadata: Record<string, Record<string, unknown>> = {};
  if (p.served) filterMetadata['envoy.lb'] = { 'x-gateway-destination-endpoint-served': p.served };
  const meta = { ...base(c, false), metadataContext: { filterMetadata, typedFilterMetadata: {} } };
  let from = replies.got.length;
  call.write({
    ...meta,
    request: {
      $case: 'responseHeaders',
      value: {
        headers: headerMap({ ':status': p.status, 'content-type': p.contentType }),
        attributes: {},
        endOfStream: false,
      },
    },
  });
  const h = await replies.next(
    from,
    (r) => r.response?.$case === 'responseHeaders' || isImmediate(r),
    boundMs,
  );
  if (h === 'timeout') return 'no reply to response headers';
  if (h === 'ended') return `ended before the response headers reply (${replies.status?.code})`;
  if (c.cancelAfter === 'response-headers') return 'cancel';
  from = replies.got.length;
  // BUFFERED: Envoy sends the whole response body as one message.
  const chunks = c.buffered ? [Buffer.concat(p.chunks)] : p.chunks;
  chunks.forEach((b, i) => {
    const last = i === chunks.length - 1 && !p.trailers;
    call.write({ ...meta, request: { $case: 'responseBody', value: httpBody(b, last) } });
  });
  if (p.trailers) call.write({ ...meta, request: { $case: 'responseTrailers', value: {} } });
  const want = p.trailers
    ? (r: ProcessingResponse) => r.response?.$case === 'responseTrailers'
    : c.buffered
      ? (r: ProcessingResponse) => r.response?.$case === 'responseBody'
      : (r: ProcessingResponse) => streamedEos(r, 'responseBody');
  const b = await replies.next(from, want, boundMs);
  if (b === 'timeout')
    return p.trailers ? 'no reply to response trailers' : 'response body not answered to its end';
  if (b === 'ended') return `ended before the response body reply (${replies.status?.code})`;
  return undefined;
}
