// Live: a real Envoy started from a compiled static bootstrap routes HTTP to local backends by path, header and
// weight, and an InferencePool route with no Endpoint Picker running answers from a pool member under FailOpen
// and with a 5xx under FailClose.

import { parseText } from '../../src/api/load';
import { compile, formatViolation, staticBootstrap } from '../../src/compiler';
import { renderBootstrap } from '../../src/compiler/output';
import {
  DOC,
  gatewayWithClass,
  inferencePool,
  localEpp,
  localService,
  readyPod,
} from '../../src/util/manifests';
import { startBackend, type Backend } from '../support/backend';
import { freePort, startEnvoy, type RunningEnvoy } from '../support/envoy';

function resources(listenPort: number, b: Record<string, Backend>, deadEppPort: number): string {
  const pool = (name: string, mode: 'FailOpen' | 'FailClose') =>
    [
      inferencePool(name, {
        app: 'model',
        targetPorts: [b.pod1.port],
        epp: { service: `${name}-epp`, failureMode: mode },
      }),
      localEpp(`${name}-epp`, deadEppPort),
    ].join(DOC);
  const routes = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: routes, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /app}}]
    backendRefs: [{name: svc-a, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /app}, headers: [{name: x-variant, value: b}]}]
    backendRefs: [{name: svc-b, port: 80}]
  - matches: [{path: {type: Exact, value: /split}}]
    backendRefs: [{name: svc-a, port: 80, weight: 70}, {name: svc-b, port: 80, weight: 30}]
  - matches: [{path: {type: PathPrefix, value: /open}}]
    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool-open}]
  - matches: [{path: {type: PathPrefix, value: /close}}]
    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool-close}]`;
  return [
    gatewayWithClass('gw', 'default', listenPort),
    routes,
    localService('svc-a', 80, [b.a.address], b.a.port),
    localService('svc-b', 80, [b.b.address], b.b.port),
    pool('pool-open', 'FailOpen'),
    pool('pool-close', 'FailClose'),
    readyPod('model-0', 'model', b.pod1.address),
    readyPod('model-1', 'model', b.pod2.address),
  ].join(DOC);
}

describe('compiled static bootstrap on a real Envoy', () => {
  const backends: Record<string, Backend> = {};
  let envoy: RunningEnvoy;
  let base: string;

  beforeAll(async () => {
    backends.a = await startBackend('a', '127.0.0.21');
    backends.b = await startBackend('b', '127.0.0.22');
    // Pool members share one port on two addresses, like pods behind one targetPort.
    backends.pod1 = await startBackend('pod1', '127.0.0.31');
    backends.pod2 = await startBackend('pod2', '127.0.0.32', backends.pod1.port);
    const [listenPort, adminPort, deadEppPort] = [await freePort(), await freePort(), await freePort()];
    const loaded = parseText(resources(listenPort, backends, deadEppPort), 'routing.yaml');
    expect(loaded.problems.filter((p) => p.severity === 'error')).toEqual([]);
    const result = compile(loaded.resources, { mode: 'static', listenAddress: '127.0.0.1' });
    expect(result.violations.map(formatViolation)).toEqual([]);
    expect(result.gateways).toHaveLength(1);
    const bootstrap = staticBootstrap(result.gateways[0].resources, { gateway: 'default/gw', adminPort });
    envoy = await startEnvoy(renderBootstrap(bootstrap, 'yaml'), adminPort);
    base = `http://127.0.0.1:${listenPort}`;
  });

  afterAll(async () => {
    await envoy?.stop();
    await Promise.all(Object.values(backends).map((b) => b.close()));
  });

  async function get(path: string, headers: Record<string, string> = {}, body?: string) {
    const res = await fetch(base + path, { headers, method: body === undefined ? 'GET' : 'POST', body });
    const text = await res.text();
    return { status: res.status, backend: res.headers.get('x-backend'), text };
  }

  it('routes by path prefix', async () => {
    expect(await get('/app/x')).toMatchObject({ status: 200, backend: 'a' });
    // A prefix matches whole segments only.
    expect((await get('/apple')).status).toBe(404);
  });

  it('routes by header: more header matches win over the same path', async () => {
    expect(await get('/app/x', { 'x-variant': 'b' })).toMatchObject({ status: 200, backend: 'b' });
    expect(await get('/app/x', { 'x-variant': 'c' })).toMatchObject({ status: 200, backend: 'a' });
  });

  it('splits by weight within tolerance (70/30 over 400 requests)', async () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < 400; i++) {
      const r = await get('/split');
      expect(r.status).toBe(200);
      counts[r.backend!] = (counts[r.backend!] ?? 0) + 1;
    }
    // Binomial(400, 0.7): sd ≈ 9.2; ±40 is over 4 sd.
    expect(counts.a).toBeGreaterThan(240);
    expect(counts.a).toBeLessThan(320);
    expect(counts.a + counts.b).toBe(400);
  });

  const completion = JSON.stringify({ model: 'm', prompt: 'hello '.repeat(2000), max_tokens: 8 });

  it('FailOpen: with the EPP down a pool member still answers, bodies included', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const r = await get('/open/v1/completions', { 'content-type': 'application/json' }, completion);
      expect(r.status).toBe(200);
      seen.add(r.backend!);
    }
    expect([...seen].every((b) => b === 'pod1' || b === 'pod2')).toBe(true);
  });

  it('FailClose: with the EPP down the gateway answers 5xx', async () => {
    const r = await get('/close/v1/completions', { 'content-type': 'application/json' }, completion);
    expect(r.status).toBeGreaterThanOrEqual(500);
    expect(r.backend).toBeNull();
  });

  it('a client cannot steer to a host with x-gateway-destination-endpoint', async () => {
    // The header names a non-member; it is stripped before ext_proc and override_host only picks members.
    const r = await get('/open/v1/completions', {
      'x-gateway-destination-endpoint': `127.0.0.21:${backends.a.port}`,
    });
    expect(r.status).toBe(200);
    expect(['pod1', 'pod2']).toContain(r.backend);
    expect(JSON.parse(r.text).headers['x-gateway-destination-endpoint']).toBeUndefined();
  });
});
