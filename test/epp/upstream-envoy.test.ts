// Drop-in check: an Envoy configured the way the upstream project configured Envoy for its reference EPP (an
// ORIGINAL_DST cluster following x-gateway-destination-endpoint, FULL_DUPLEX_STREAMED ext_proc, the EPP over TLS
// without verification — test/testdata/epp/upstream-style-envoy.yaml, nothing from our compiler) pointed at
// `infergate epp` with --secure-serving routes every request where the EPP says, with the real decision core.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildCore, startEpp, type RunningEpp } from '../../src/cli/epp';
import { DOC, inferencePool, readyPod } from '../../src/util/manifests';
import { startBackend, type Backend } from '../support/backend';
import { freePort, startEnvoy, tmpDir, type RunningEnvoy } from '../support/envoy';

const PODS = ['127.0.0.81', '127.0.0.82', '127.0.0.83'];

describe('infergate epp behind an upstream-style Envoy configuration', () => {
  const backends: Backend[] = [];
  let epp: RunningEpp;
  let envoy: RunningEnvoy;
  let base: string;

  beforeAll(async () => {
    backends.push(await startBackend('pod0', PODS[0]));
    for (let i = 1; i < PODS.length; i++)
      backends.push(await startBackend(`pod${i}`, PODS[i], backends[0].port));
    const port = backends[0].port;
    const dir = tmpDir('upstream-epp');
    fs.writeFileSync(
      path.join(dir, 'pool.yaml'),
      [
        inferencePool('pool', { app: 'model', targetPorts: [port] }),
        ...PODS.map((ip, i) => readyPod(`model-${i}`, 'model', ip)),
      ].join(DOC),
    );
    const [eppPort, listenPort, adminPort] = [await freePort(), await freePort(), await freePort()];
    epp = await startEpp({
      handle: await buildCore({
        pool: 'pool',
        namespace: 'default',
        paths: [dir],
        configFile: path.join(__dirname, '..', 'e2e', 'fixtures', 'epp-config', 'testing-filter.yaml'),
      }),
      address: '127.0.0.1',
      grpcPort: eppPort,
      secure: true,
      workerThreads: 1,
    });
    const template = fs.readFileSync(
      path.join(__dirname, '..', 'testdata', 'epp', 'upstream-style-envoy.yaml'),
      'utf8',
    );
    const config = template
      .replace('${ADMIN_PORT}', String(adminPort))
      .replace('${LISTEN_PORT}', String(listenPort))
      .replace('${EPP_PORT}', String(eppPort));
    envoy = await startEnvoy(config, adminPort);
    base = `http://127.0.0.1:${listenPort}`;
  }, 30_000);

  afterAll(async () => {
    await envoy?.stop();
    await epp?.close(100);
    await Promise.all(backends.map((b) => b.close()));
  });

  const post = async (headers: Record<string, string>, prompt = 'hello') => {
    const res = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'm', prompt, max_tokens: 4 }),
    });
    const text = await res.text();
    return { status: res.status, backend: res.headers.get('x-backend'), text };
  };

  it('lands on the pod the EPP names (test-epp-endpoint-selection), over TLS, for every pod', async () => {
    for (let i = 0; i < PODS.length; i++) {
      for (let n = 0; n < 3; n++) {
        const r = await post({ 'test-epp-endpoint-selection': PODS[i] });
        expect(r.status).toBe(200);
        expect(r.backend).toBe(`pod${i}`);
        // The body reaches the model server intact, and the destination the EPP chose is the one Envoy used.
        const seen = JSON.parse(r.text) as { body: string; headers: Record<string, string> };
        expect(JSON.parse(seen.body).prompt).toBe('hello');
        expect(seen.headers['x-gateway-destination-endpoint']).toBe(`${PODS[i]}:${backends[0].port}`);
      }
    }
  });

  it('without a selection the scheduler picks a pool member', async () => {
    const seen = new Set<string>();
    for (let n = 0; n < 6; n++) {
      const r = await post({}, `prompt ${n} `.repeat(40));
      expect(r.status).toBe(200);
      seen.add(r.backend!);
    }
    expect([...seen].every((b) => /^pod[0-2]$/.test(b))).toBe(true);
  });

  it('1,200 requests in a row, 8 at a time, all succeed', async () => {
    // This Envoy (unlike a compiled one, which rotates EPP connections every 500 requests) keeps one connection to
    // the EPP for all of them: past the 1,000 resets where nghttp2's rapid-reset guard would act without the
    // EPP's reset shield (sustained load: upstream-envoy-load.test.ts).
    const statuses = new Map<number, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 1200) {
          next++;
          const r = await post({ 'test-epp-endpoint-selection': PODS[next % PODS.length] });
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        }
      }),
    );
    expect(Object.fromEntries(statuses)).toEqual({ 200: 1200 });
  }, 60_000);

  it('a body without a model gets the 400 immediate response', async () => {
    const res = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'no model' }),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('inference error: BadRequest');
  });
});
