// The protocol over real gRPC: the server on a loopback port, a grpc-js client opening Process streams, the
// health service per service name (on the health port and on the ext_proc port), and TLS.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import {
  ExternalProcessorClient,
  type ProcessingRequest,
  type ProcessingResponse,
} from '../../generated/envoy/service/ext_proc/v3/external_processor';
import { ExtProcStream } from '../../src/epp/extproc/stream';
import {
  HealthClient,
  checkHealth,
  ServingStatus,
  type HealthListResponse,
} from '../../src/epp/server/health';
import { serve, type RunningServer } from '../../src/epp/server/server';
import { selfSignedKeyPair } from '../../src/epp/server/tls';
import { FakeDirector, reqBody, reqHeaders, respBody, respHeaders, summarize } from './fakes';

function exchange(
  port: number,
  msgs: ProcessingRequest[],
  creds: ChannelCredentials = credentials.createInsecure(),
  host = '127.0.0.1',
) {
  const client = new ExternalProcessorClient(`${host}:${port}`, creds);
  const call = client.process();
  const out: ProcessingResponse[] = [];
  return new Promise<{ out: ProcessingResponse[]; error?: Error }>((resolve) => {
    call.on('data', (r: ProcessingResponse) => out.push(r));
    call.on('end', () => {
      client.close();
      resolve({ out });
    });
    call.on('error', (error: Error) => {
      client.close();
      resolve({ out, error });
    });
    for (const m of msgs) call.write(m);
    call.end();
  });
}

const check = (port: number, service: string) => checkHealth(`127.0.0.1:${port}`, service);

describe('EPP over real gRPC', () => {
  const director = new FakeDirector();
  let ready = false;
  let server: RunningServer;

  beforeAll(async () => {
    server = await serve({
      newStream: (send) => new ExtProcStream({ director }, send),
      address: '127.0.0.1',
      grpcPort: 0,
      healthPort: 0,
      metricsPort: 0,
      ready: () => ready,
    });
  });
  afterAll(() => server.close(100));

  it('answers a full request/response exchange in order', async () => {
    const body = JSON.stringify({ model: 'm', prompt: 'p' });
    const { out, error } = await exchange(server.grpcPort, [
      reqHeaders({ 'x-request-id': 'g1' }),
      reqBody(body.slice(0, 5), false),
      reqBody(body.slice(5)),
      respHeaders({ 'content-type': 'application/json' }, false, { served: '10.0.0.1:8000' }),
      respBody('{"usage":{"prompt_tokens":1,"completion_tokens":2}}'),
    ]);
    expect(error).toBeUndefined();
    expect(out.map(summarize)).toEqual([
      {
        phase: 'requestHeaders',
        set: { 'x-gateway-destination-endpoint': '10.0.0.1:8000', 'content-length': String(body.length) },
        clearRouteCache: true,
        metadata: { 'envoy.lb': { 'x-gateway-destination-endpoint': '10.0.0.1:8000' } },
      },
      { phase: 'requestBody', streamed: body, eos: true },
      { phase: 'responseHeaders' },
      { phase: 'responseBody', streamed: '{"usage":{"prompt_tokens":1,"completion_tokens":2}}', eos: true },
    ]);
    expect(director.completions.at(-1)).toMatchObject({
      requestId: 'g1',
      servedEndpoint: '10.0.0.1:8000',
      completionTokens: 2,
    });
  });

  it('answers bad JSON with an ImmediateResponse 400 and keeps serving', async () => {
    const { out } = await exchange(server.grpcPort, [reqHeaders({}), reqBody('{nope')]);
    expect(out.map(summarize)).toEqual([
      { immediate: 400, body: expect.stringContaining('inference error: BadRequest') },
    ]);
    const again = await exchange(server.grpcPort, [reqHeaders({}), reqBody('{"model":"m"}')]);
    expect(again.out).toHaveLength(2);
  });

  it('health: NOT_SERVING until ready, then SERVING for every EPP service name, on both ports', async () => {
    expect(await check(server.healthPort!, 'readiness')).toBe(ServingStatus.NOT_SERVING);
    ready = true;
    for (const name of ['', 'liveness', 'readiness', 'envoy.service.ext_proc.v3.ExternalProcessor']) {
      expect(await check(server.healthPort!, name)).toBe(ServingStatus.SERVING);
      expect(await check(server.grpcPort, name)).toBe(ServingStatus.SERVING);
    }
  });

  it('health: List reports the four services', async () => {
    const client = new HealthClient(`127.0.0.1:${server.healthPort}`, credentials.createInsecure());
    const res = await new Promise<HealthListResponse>((resolve, reject) =>
      client.makeUnaryRequest(
        '/grpc.health.v1.Health/List',
        HealthClient.service.list.requestSerialize,
        HealthClient.service.list.responseDeserialize,
        {},
        (err, r) => (client.close(), err ? reject(err) : resolve(r as HealthListResponse)),
      ),
    );
    expect(Object.keys(res.statuses).sort()).toEqual([
      '',
      'envoy.service.ext_proc.v3.ExternalProcessor',
      'liveness',
      'readiness',
    ]);
  });

  it('serves /metrics', async () => {
    const res = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${server.metricsPort}/other`)).status).toBe(404);
  });
});

describe('EPP over TLS', () => {
  it('serves ext_proc with a certificate from --cert-path (made by openssl)', async () => {
    const pair = selfSignedKeyPair();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-cert-'));
    fs.writeFileSync(path.join(dir, 'tls.crt'), pair.cert);
    fs.writeFileSync(path.join(dir, 'tls.key'), pair.key);
    const server = await serve({
      newStream: (send) => new ExtProcStream({ director: new FakeDirector() }, send),
      address: '127.0.0.1',
      grpcPort: 0,
      secure: true,
      certPath: dir,
      ready: () => true,
    });
    try {
      const creds = credentials.createSsl(pair.cert);
      const { out, error } = await exchange(server.grpcPort, [reqHeaders({}, true)], creds, 'localhost');
      expect(error).toBeUndefined();
      expect(out.map(summarize)[0]).toMatchObject({ phase: 'requestHeaders', clearRouteCache: true });
      const plain = await exchange(server.grpcPort, [reqHeaders({}, true)]);
      expect(plain.error).toBeDefined();
    } finally {
      await server.close(100);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('generates a self-signed certificate with --secure-serving alone', async () => {
    const server = await serve({
      newStream: (send) => new ExtProcStream({ director: new FakeDirector() }, send),
      address: '127.0.0.1',
      grpcPort: 0,
      secure: true,
      ready: () => true,
    });
    try {
      const creds = credentials.createSsl(null, null, null, {
        checkServerIdentity: () => undefined,
        rejectUnauthorized: false,
      });
      const { out } = await exchange(server.grpcPort, [reqHeaders({}, true)], creds, 'localhost');
      expect(out).toHaveLength(1);
    } finally {
      await server.close(100);
    }
  });
});
