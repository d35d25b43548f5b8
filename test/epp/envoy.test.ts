// Live: a real Envoy compiled by our compiler, our EPP (in-process, a deterministic director) on a loopback port,
// and echo backends as pool members. Requests land on the pod the EPP named; bodies arrive intact; shed → 429;
// with the EPP down, FailOpen still answers 200 and FailClose answers 5xx.

import { parseText } from '../../src/api/load';
import { compile, formatViolation, staticBootstrap } from '../../src/compiler';
import { renderBootstrap } from '../../src/compiler/output';
import { startEpp, type RunningEpp } from '../../src/cli/epp';
import type { Decision, Director, RequestInput, ResponseInfo } from '../../src/epp/types';
import { DOC, gatewayWithClass, inferencePool, localEpp, readyPod } from '../../src/util/manifests';
import { startBackend, type Backend } from '../support/backend';
import { freePort, startEnvoy, type RunningEnvoy } from '../support/envoy';

/** Picks the pod named by test-epp-endpoint-selection (else the first), sheds model "shed" with 429. */
class PodDirector implements Director {
  completions: ResponseInfo[] = [];
  constructor(private readonly pods: string[]) {}
  async decide(input: RequestInput): Promise<Decision> {
    if (input.parsed.model === 'shed') return { kind: 'reject', status: 429, message: 'system saturated' };
    const sel = input.headers['test-epp-endpoint-selection'];
    const endpoints = sel
      ? sel.split(',').map((ip) => this.pods.find((p) => p.startsWith(ip + ':'))!)
      : [this.pods[0]];
    const model = input.parsed.model;
    return { kind: 'route', endpoints, incomingModel: model, targetModel: model, priority: 0 };
  }
  complete(info: ResponseInfo): void {
    this.completions.push(info);
  }
}

function resources(listenPort: number, pod1: Backend, eppPort: number, deadPort: number): string {
  const pool = (name: string, failureMode: 'FailOpen' | 'FailClose', port: number) =>
    [
      inferencePool(name, {
        app: 'model',
        targetPorts: [pod1.port],
        epp: { service: `${name}-epp`, failureMode },
      }),
      localEpp(`${name}-epp`, port),
    ].join(DOC);
  const routes = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: routes, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /live}}]
    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: live}]
  - matches: [{path: {type: PathPrefix, value: /open}}]
    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: dead-open}]
  - matches: [{path: {type: PathPrefix, value: /close}}]
    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: dead-close}]`;
  return [
    gatewayWithClass('gw', 'default', listenPort),
    routes,
    pool('live', 'FailClose', eppPort),
    pool('dead-open', 'FailOpen', deadPort),
    pool('dead-close', 'FailClose', deadPort),
    readyPod('model-0', 'model', '127.0.0.41'),
    readyPod('model-1', 'model', '127.0.0.42'),
  ].join(DOC);
}

describe('EPP behind a real Envoy', () => {
  const pods: Backend[] = [];
  let envoy: RunningEnvoy;
  let epp: RunningEpp;
  let director: PodDirector;
  let base: string;

  beforeAll(async () => {
    pods.push(await startBackend('pod1', '127.0.0.41'));
    pods.push(await startBackend('pod2', '127.0.0.42', pods[0].port));
    const [listenPort, adminPort, eppPort, deadPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    director = new PodDirector(pods.map((p) => `${p.address}:${p.port}`));
    epp = await startEpp({
      handle: { director, ready: () => true },
      address: '127.0.0.1',
      grpcPort: eppPort,
      workerThreads: 1,
      workerThresholdBytes: 64 * 1024,
    });
    const loaded = parseText(resources(listenPort, pods[0], eppPort, deadPort), 'epp.yaml');
    expect(loaded.problems.filter((p) => p.severity === 'error')).toEqual([]);
    const result = compile(loaded.resources, { mode: 'static', listenAddress: '127.0.0.1' });
    expect(result.violations.map(formatViolation)).toEqual([]);
    const resources0 = result.gateways[0].resources;
    const bootstrap = staticBootstrap(resources0, { gateway: 'default/gw', adminPort });
    envoy = await startEnvoy(renderBootstrap(bootstrap, 'yaml'), adminPort);
    base = `http://127.0.0.1:${listenPort}`;
    // The EPP cluster is health-checked (gRPC health on the ext_proc port): wait until Envoy routes through it.
    for (let i = 0; i < 100; i++) {
      const r = await post('/live/v1/completions', { model: 'm', prompt: 'warm' });
      if (r.status === 200) break;
      await new Promise((res) => setTimeout(res, 100));
    }
  });

  afterAll(async () => {
    await envoy?.stop();
    await epp?.close(100);
    await Promise.all(pods.map((p) => p.close()));
  });

  async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, backend: res.headers.get('x-backend'), text };
  }

  it('requests land on the pod the EPP named', async () => {
    for (const [ip, name] of [
      ['127.0.0.42', 'pod2'],
      ['127.0.0.41', 'pod1'],
      ['127.0.0.42', 'pod2'],
    ]) {
      const r = await post(
        '/live/v1/completions',
        { model: 'm', prompt: 'hi' },
        { 'test-epp-endpoint-selection': ip },
      );
      expect(r).toMatchObject({ status: 200, backend: name });
      const seen = JSON.parse(r.text) as { headers: Record<string, string> };
      expect(seen.headers['x-gateway-destination-endpoint']).toBe(`${ip}:${pods[0].port}`);
    }
  });

  it('a 1 MB body goes through the EPP and arrives intact', async () => {
    const body = JSON.stringify({ model: 'm', prompt: 'z'.repeat(1024 * 1024) });
    const r = await post('/live/v1/completions', body, { 'test-epp-endpoint-selection': '127.0.0.41' });
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.text) as { body: string; backend: string };
    expect(seen.backend).toBe('pod1');
    expect(seen.body).toBe(body);
  });

  it('shed requests get the 429 ImmediateResponse', async () => {
    const r = await post('/live/v1/completions', { model: 'shed', prompt: 'x' });
    expect(r.status).toBe(429);
    expect(r.text).toBe('inference error: ResourceExhausted - system saturated');
  });

  it('bad JSON gets 400', async () => {
    const r = await post('/live/v1/completions', '{"model":');
    expect(r.status).toBe(400);
  });

  it('reports the served endpoint back to the director', async () => {
    await post(
      '/live/v1/completions',
      { model: 'm', prompt: 'x' },
      { 'test-epp-endpoint-selection': '127.0.0.42' },
    );
    const last = director.completions.at(-1)!;
    expect(last.status).toBe(200);
    expect(last.servedEndpoint).toBe(`127.0.0.42:${pods[0].port}`);
  });

  it('FailOpen with the EPP down still answers 200', async () => {
    const r = await post('/open/v1/completions', { model: 'm', prompt: 'x' });
    expect(r.status).toBe(200);
  });

  it('FailClose with the EPP down answers 5xx', async () => {
    const r = await post('/close/v1/completions', { model: 'm', prompt: 'x' });
    expect(r.status).toBeGreaterThanOrEqual(500);
    expect(r.backend).toBeNull();
  });
});
