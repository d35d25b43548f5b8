// Every ext_proc stream ends, over real gRPC: a client that never half-closes still sees an answer and a status
// (never a hang); a failure after the headers reply is an ImmediateResponse or gRPC INTERNAL; deep JSON is 400
// inline and through the worker; bodies over --max-body-bytes are 413 (one BUFFERED message or streamed chunks)
// while a 9 MiB BUFFERED body under the default limit is routed; accounting returns to baseline with overlapping
// same-id streams and cancellations.

import { credentials, status as grpcStatus, type StatusObject } from '@grpc/grpc-js';
import {
  ExternalProcessorClient,
  type ProcessingRequest,
  type ProcessingResponse,
} from '../../generated/envoy/service/ext_proc/v3/external_processor';
import { startEpp, type RunningEpp } from '../../src/cli/epp';
import { loadEndpointPickerConfig } from '../../src/epp/config/loader';
import { createDirector, type EppDirector } from '../../src/epp/director';
import type { RequestParser } from '../../src/epp/extproc/parser';
import { ExtProcStream } from '../../src/epp/extproc/stream';
import { EppMetrics } from '../../src/epp/observability/metrics';
import { serve, type RunningServer } from '../../src/epp/server/server';
import { waitFor } from '../../src/util/wait';
import { datastoreWith, metrics } from './core/fixtures';
import { FakeDirector, reqBody, reqHeaders, respBody, respHeaders, summarize, type Summary } from './fakes';

jest.setTimeout(60_000);

interface Outcome {
  out: Summary[];
  status: StatusObject;
}

/**
 * Sends `msgs` on one Process stream and waits for the server to end it. `halfClose: false` leaves the client
 * side open, as Envoy does while it waits: only the server can end the stream then. Rejects after `deadlineMs`
 * (a hang).
 */
function exchange(
  port: number,
  msgs: ProcessingRequest[],
  o: { halfClose?: boolean; deadlineMs?: number; cancelAfter?: number } = {},
): Promise<Outcome> {
  const client = new ExternalProcessorClient(`127.0.0.1:${port}`, credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
  });
  const call = client.process();
  const out: Summary[] = [];
  return new Promise<Outcome>((resolve, reject) => {
    const timer = setTimeout(() => {
      call.cancel();
      client.close();
      reject(new Error(`stream still open after ${o.deadlineMs ?? 10_000} ms (${out.length} replies)`));
    }, o.deadlineMs ?? 10_000);
    call.on('data', (r: ProcessingResponse) => {
      out.push(summarize(r));
      if (o.cancelAfter !== undefined && out.length >= o.cancelAfter) call.cancel();
    });
    call.on('error', () => {});
    call.on('status', (status: StatusObject) => {
      clearTimeout(timer);
      client.close();
      resolve({ out, status });
    });
    for (const m of msgs) call.write(m);
    if (o.halfClose) call.end();
  });
}

const H = { 'x-request-id': 'same-id' };
const BUF = { buffered: true };
const json = (o: unknown) => JSON.stringify(o);
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('transport: a failure the handler cannot answer is a gRPC INTERNAL status', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serve({
      newStream: () => ({
        done: false,
        handle: () => Promise.reject(new Error('response side exploded')),
        fail: () => false,
        close: () => {},
      }),
      address: '127.0.0.1',
      grpcPort: 0,
      ready: () => true,
    });
  });
  afterAll(() => server.close(100));

  it('the client sees INTERNAL with the cause, without half-closing', async () => {
    const { status } = await exchange(server.grpcPort, [reqHeaders({})]);
    expect(status.code).toBe(grpcStatus.INTERNAL);
    expect(status.details).toBe('response side exploded');
  });
});

describe('ExtProcStream over gRPC: failures after the headers reply', () => {
  let server: RunningServer;
  const throwing: RequestParser = {
    parse: () => Promise.reject(new RangeError('Maximum call stack size exceeded')),
  };
  beforeAll(async () => {
    server = await serve({
      newStream: (send) => new ExtProcStream({ director: new FakeDirector(), parser: throwing }, send),
      address: '127.0.0.1',
      grpcPort: 0,
      ready: () => true,
    });
  });
  afterAll(() => server.close(100));

  it('BUFFERED, the parser throws: CONTINUE, then ImmediateResponse 500, then the stream ends OK', async () => {
    const { out, status } = await exchange(server.grpcPort, [
      reqHeaders(H, false, BUF),
      reqBody(json({ model: 'm' }), true, BUF),
    ]);
    expect(out).toEqual([
      { phase: 'requestHeaders' },
      {
        immediate: 500,
        body: 'inference error: Internal - internal error: Maximum call stack size exceeded',
      },
    ]);
    expect(status.code).toBe(grpcStatus.OK);
  });
});

function core(): { director: EppDirector; metrics: EppMetrics } {
  const ds = datastoreWith(3, (rs) =>
    rs.inferenceModelRewrites.push({
      apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
      kind: 'InferenceModelRewrite',
      metadata: { name: 'alias', namespace: 'default' },
      spec: {
        poolRef: { name: 'pool' },
        rules: [{ matches: [{ model: { value: 'alias' } }], targets: [{ modelRewrite: 'm' }] }],
      },
    }),
  );
  for (const e of ds.endpoints()) e.metrics = metrics({ updateTime: Date.now() + 3_600_000 });
  const m = new EppMetrics();
  return {
    director: createDirector({ datastore: ds, config: loadEndpointPickerConfig(), metrics: m }),
    metrics: m,
  };
}

async function running(m: EppMetrics): Promise<number> {
  const g = (await m.registry.getMetricsAsJSON()).find(
    (x) => x.name === 'inference_objective_running_requests',
  );
  return (g?.values ?? []).reduce((s, v) => s + v.value, 0);
}
async function requests(m: EppMetrics): Promise<number> {
  const c = (await m.registry.getMetricsAsJSON()).find((x) => x.name === 'inference_objective_request_total');
  return (c?.values ?? []).reduce((s, v) => s + v.value, 0);
}

describe('infergate epp (startEpp, real director, worker parser)', () => {
  let epp: RunningEpp;
  let small: RunningEpp;
  let big: ReturnType<typeof core>;
  let smallCore: ReturnType<typeof core>;
  beforeAll(async () => {
    big = core();
    smallCore = core();
    epp = await startEpp({
      handle: { director: big.director, ready: () => true, registry: big.metrics.registry },
      address: '127.0.0.1',
      grpcPort: 0,
      workerThreads: 1,
    });
    small = await startEpp({
      handle: { director: smallCore.director, ready: () => true, registry: smallCore.metrics.registry },
      address: '127.0.0.1',
      grpcPort: 0,
      workerThreads: 0,
      maxBodyBytes: 2 * 1024 * 1024,
    });
  });
  afterAll(async () => {
    await epp?.close(100);
    await small?.close(100);
  });

  const deep400 = expect.objectContaining({
    immediate: 400,
    body: expect.stringContaining('JSON nested deeper than 128 levels'),
  });

  it.each([
    ['messages 6,000 deep (inline)', json({ model: 'm' }).slice(0, -1) + `,"messages":${nested(6000)}}`],
    ['prompt 20,000 deep (inline)', json({ model: 'alias' }).slice(0, -1) + `,"prompt":${nested(20000)}}`],
    [
      'an extra field 200,000 deep in a 1.2 MB body (worker)',
      json({ model: 'alias', prompt: 'p'.repeat(800_000) }).slice(0, -1) + `,"x":${nested(200000)}}`,
    ],
  ])('%s → 400 in both body modes, nothing left in flight', async (_name, body) => {
    expect(Buffer.byteLength(body)).toBeGreaterThan(0);
    for (const meta of [undefined, BUF]) {
      const { out, status } = await exchange(epp.grpcPort, [
        reqHeaders(H, false, meta),
        reqBody(body, true, meta),
      ]);
      expect(out.at(-1)).toEqual(deep400);
      expect(status.code).toBe(grpcStatus.OK);
    }
    expect(await running(big.metrics)).toBe(0);
    expect(big.director.inFlight()).toBe(0);
  });

  it('a 9 MiB BUFFERED body under the default limit is routed, not refused by gRPC', async () => {
    const body = json({ model: 'm', prompt: 'q'.repeat(9 * 1024 * 1024) });
    const { out, status } = await exchange(
      epp.grpcPort,
      [reqHeaders(H, false, BUF), reqBody(body, true, BUF), respHeaders({}), respBody('{}', true)],
      { deadlineMs: 30_000 },
    );
    expect(out[0]).toEqual({ phase: 'requestHeaders' });
    expect(out[1]).toMatchObject({ phase: 'requestBody', clearRouteCache: true });
    expect(status.code).toBe(grpcStatus.OK);
  });

  it('over --max-body-bytes (2 MiB): one BUFFERED message and streamed chunks both get 413', async () => {
    const body = Buffer.from(json({ model: 'm', prompt: 'r'.repeat(2.5 * 1024 * 1024) }));
    const buffered = await exchange(small.grpcPort, [reqHeaders(H, false, BUF), reqBody(body, true, BUF)]);
    expect(buffered.out).toEqual([{ phase: 'requestHeaders' }, expect.objectContaining({ immediate: 413 })]);
    expect(buffered.status.code).toBe(grpcStatus.OK);
    const chunks: ProcessingRequest[] = [reqHeaders(H)];
    for (let i = 0; i < body.length; i += 62_000) chunks.push(reqBody(body.subarray(i, i + 62_000), false));
    const streamed = await exchange(small.grpcPort, chunks);
    expect(streamed.out).toEqual([expect.objectContaining({ immediate: 413 })]);
    expect(String(streamed.out[0].body)).toContain('2097152-byte limit');
    expect(streamed.status.code).toBe(grpcStatus.OK);
  });

  it('ten overlapping streams sharing one x-request-id: ten counted, running back to 0', async () => {
    const before = await requests(big.metrics);
    const body = json({ model: 'm', prompt: 'same id' });
    const all = await Promise.all(
      Array.from({ length: 10 }, () =>
        exchange(epp.grpcPort, [
          reqHeaders(H),
          reqBody(body),
          respHeaders({ 'content-type': 'application/json' }),
          respBody('{"usage":{"prompt_tokens":1}}', true),
        ]),
      ),
    );
    for (const r of all) expect(r.status.code).toBe(grpcStatus.OK);
    expect(await requests(big.metrics)).toBe(before + 10);
    expect(await running(big.metrics)).toBe(0);
  });

  it('streams cancelled mid-request (routed, or still sending the body) release what they held', async () => {
    const body = json({ model: 'alias', prompt: 'cancel me' });
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0
          ? exchange(epp.grpcPort, [reqHeaders(H), reqBody(body)], { cancelAfter: 1 })
          : exchange(epp.grpcPort, [reqHeaders(H), reqBody(body.slice(0, 5), false)], {
              deadlineMs: 300,
            }).catch(() => undefined),
      ),
    );
    await waitFor(
      'running_requests back to 0',
      async () => (big.director.inFlight() === 0 ? true : undefined),
      {
        timeoutMs: 10_000,
        everyMs: 20,
      },
    );
    expect(await running(big.metrics)).toBe(0);
  });
});
