// In-flight accounting over real gRPC (infergate epp's server, the real director with the burst-safe profile):
// requests held open together spread over the endpoints, and every ending — a 200 response, an error status, a
// client cancel (499) — releases what the inflight-load-producer counted, back to 0 with director.inFlight().

import * as fs from 'node:fs';
import * as path from 'node:path';
import { credentials, type ClientDuplexStream, type StatusObject } from '@grpc/grpc-js';
import {
  ExternalProcessorClient,
  type ProcessingRequest,
  type ProcessingResponse,
} from '../../generated/envoy/service/ext_proc/v3/external_processor';
import { startEpp, type RunningEpp } from '../../src/cli/epp';
import { parseEndpointPickerConfig } from '../../src/epp/config/loader';
import { createDirector, type EppDirector } from '../../src/epp/director';
import { DESTINATION } from '../../src/epp/extproc/messages';
import { EppMetrics } from '../../src/epp/observability/metrics';
import { INFLIGHT_LOAD, type InFlightLoadSource } from '../../src/epp/plugins/inflight-load-producer';
import { waitFor } from '../../src/util/wait';
import { datastoreWith, metrics } from './core/fixtures';
import { reqBody, reqHeaders, respBody, respHeaders, summarize } from './fakes';

jest.setTimeout(60_000);

const BURST_CONFIG = fs.readFileSync(
  path.join(__dirname, '..', '..', 'examples', 'epp-config', 'burst-safe.yaml'),
  'utf8',
);

interface Open {
  destination: Promise<string>;
  status: Promise<StatusObject>;
  write(m: ProcessingRequest): void;
  cancel(): void;
}

/** One ext_proc stream: sends the request, resolves `destination` with the endpoint the EPP picked. */
function open(port: number, prompt: string): Open {
  const client = new ExternalProcessorClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const call: ClientDuplexStream<ProcessingRequest, ProcessingResponse> = client.process();
  let picked: (d: string) => void = () => {};
  const destination = new Promise<string>((resolve, reject) => {
    picked = resolve;
    setTimeout(() => reject(new Error('no destination within 10 s')), 10_000).unref();
  });
  call.on('data', (r: ProcessingResponse) => {
    const set = summarize(r).set as Record<string, string> | undefined;
    const d = set?.[DESTINATION];
    if (d) picked(d);
  });
  call.on('error', () => {});
  const status = new Promise<StatusObject>((resolve) =>
    call.on('status', (s: StatusObject) => {
      client.close();
      resolve(s);
    }),
  );
  call.write(reqHeaders({ 'x-request-id': 'burst' }));
  call.write(reqBody(JSON.stringify({ model: 'm', prompt, max_tokens: 16 })));
  return { destination, status, write: (m) => call.write(m), cancel: () => call.cancel() };
}

describe('in-flight accounting through the ext_proc server', () => {
  let epp: RunningEpp;
  let director: EppDirector;
  let producer: InFlightLoadSource;
  beforeAll(async () => {
    const ds = datastoreWith(4);
    for (const e of ds.endpoints()) e.metrics = metrics({ updateTime: Date.now() + 3_600_000 });
    const m = new EppMetrics();
    director = createDirector({ datastore: ds, config: parseEndpointPickerConfig(BURST_CONFIG), metrics: m });
    producer = director.built.byKind(INFLIGHT_LOAD)[0];
    epp = await startEpp({
      handle: { director, ready: () => true, registry: m.registry },
      address: '127.0.0.1',
      grpcPort: 0,
      workerThreads: 0,
    });
  });
  afterAll(() => epp?.close(100));

  it('12 requests held open spread 3 per endpoint; 200, 500 and cancel endings all release them', async () => {
    const streams = Array.from({ length: 12 }, (_, i) => open(epp.grpcPort, `request ${i} `.repeat(30)));
    const destinations = await Promise.all(streams.map((s) => s.destination));
    const per = new Map<string, number>();
    for (const d of destinations) per.set(d, (per.get(d) ?? 0) + 1);
    expect([...per.values()]).toEqual([3, 3, 3, 3]);
    expect(producer.totals()).toMatchObject({ requests: 12, trackedRequests: 12 });
    expect(director.inFlight()).toBe(12);

    streams.forEach((s, i) => {
      if (i % 3 === 0) {
        s.write(respHeaders({ 'content-type': 'application/json' }));
        s.write(respBody('{"usage":{"prompt_tokens":1,"completion_tokens":1}}', true));
      } else if (i % 3 === 1) {
        s.write(respHeaders({ ':status': '500', 'content-type': 'application/json' }));
        s.write(respBody('{"error":"boom"}', true));
      } else s.cancel();
    });
    await Promise.all(streams.map((s) => s.status));
    await waitFor('in-flight back to 0', async () => (director.inFlight() === 0 ? true : undefined), {
      timeoutMs: 10_000,
      everyMs: 20,
    });
    expect(producer.totals()).toMatchObject({ requests: 0, tokens: 0, trackedRequests: 0 });
  });
});
