// The real stack: `infergate sim` model servers on 127.0.0.x, the real EPP (buildCore from resource files: file
// datastore, scraper, default EndpointPickerConfig, director) behind a real Envoy compiled by our compiler.
// Requests land on the pod the EPP named; a long shared prefix sticks to one pod; a saturated pool sheds
// priority < 0 with 429 and serves priority >= 0; FailOpen/FailClose with an EPP stopped; SSE with the model name
// rewritten back.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseText } from '../../src/api/load';
import { buildCore, startEpp, type RunningEpp } from '../../src/cli/epp';
import { compile, formatViolation, staticBootstrap } from '../../src/compiler';
import { renderBootstrap } from '../../src/compiler/output';
import { startSimFleet, type SimFleet } from '../../src/sim';
import { freePort, startEnvoy, tmpDir, type RunningEnvoy } from '../support/envoy';
import { DOC, gatewayWithClass, inferencePool, localEpp, readyPod } from '../../src/util/manifests';
import { waitFor } from '../../src/util/wait';

jest.setTimeout(60_000);

const MODEL = 'stack-model';
const POD_IPS = ['127.0.0.61', '127.0.0.62', '127.0.0.63'];
const INTER_TOKEN_MS = 10;
const KV_BLOCKS = 400;
const TESTING_CONFIG = path.join(__dirname, '..', 'e2e', 'fixtures', 'epp-config', 'testing-filter.yaml');
const ROUTE_HEADER = 'x-stack-route'; // which pool (and so which EPP and failure mode) a request goes to // 400 × 16 tokens × 4 chars ≈ 25.6 KB of prompt per pod

interface Ports {
  listen: number;
  admin: number;
  epp: number;
  sideEpp: number;
  sim: number;
}

function resourcesYaml(p: Ports): string {
  const pool = (name: string, failureMode: 'FailOpen' | 'FailClose', service: string) =>
    inferencePool(name, { app: 'stack-sim', targetPorts: [p.sim], epp: { service, failureMode } });
  const objective = (name: string, priority: number) => `apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: ${name}, namespace: default}
spec: {priority: ${priority}, poolRef: {name: main}}`;
  const rule = (route: string, poolName: string) => `
  - matches: [{headers: [{name: ${ROUTE_HEADER}, value: ${route}}]}]
    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: ${poolName}}]`;
  const routes = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: routes, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:${rule('main', 'main')}${rule('open', 'side-open')}${rule('close', 'side-close')}`;
  return [
    gatewayWithClass('gw', 'default', p.listen),
    routes,
    pool('main', 'FailClose', 'main-epp'),
    pool('side-open', 'FailOpen', 'side-epp'),
    pool('side-close', 'FailClose', 'side-epp'),
    localEpp('main-epp', p.epp),
    localEpp('side-epp', p.sideEpp),
    ...POD_IPS.map((ip, i) => readyPod(`sim-${i}`, 'stack-sim', ip)),
    objective('critical', 10),
    objective('sheddable', -1),
  ].join(DOC);
}

interface Reply {
  status: number;
  pod: string | null;
  text: string;
  ms: number;
}

function poll<T>(
  what: string,
  deadlineMs: number,
  probe: () => Promise<T | undefined>,
  everyMs = 50,
): Promise<T> {
  return waitFor(what, probe, { timeoutMs: deadlineMs, everyMs });
}

/** A prompt of about `chars` characters that starts with `seed` (so prefixes differ from the first block). */
function prompt(seed: string, chars: number): string {
  const unit = `${seed} is a system prompt about the gateway. `;
  return unit.repeat(Math.ceil(chars / unit.length)).slice(0, chars);
}

describe('the real stack: sims + EPP (buildCore) + Envoy', () => {
  let fleet: SimFleet;
  let envoy: RunningEnvoy;
  let epp: RunningEpp;
  let sideEpp: RunningEpp | undefined;
  let base: string;
  let eppMetricsPort: number;
  let simPort: number;
  let podKey: (i: number) => string;

  beforeAll(async () => {
    const simOptions = {
      model: MODEL,
      mode: 'echo' as const,
      ttftOverheadMs: 1,
      prefillMsPerToken: 0.001,
      interTokenMs: INTER_TOKEN_MS,
      itlBatchSlope: 0,
      kvBlocks: KV_BLOCKS,
    };
    const first = await startSimFleet([`${POD_IPS[0]}:0`], simOptions);
    simPort = first.servers[0].port;
    const rest = await startSimFleet(
      POD_IPS.slice(1).map((ip) => `${ip}:${simPort}`),
      { ...simOptions, seed: 1 },
    );
    fleet = {
      servers: [...first.servers, ...rest.servers],
      close: async () => {
        await Promise.all([first.close(), rest.close()]);
      },
    };
    podKey = (i) => `${POD_IPS[i]}:${simPort}`;

    const ports: Ports = {
      listen: await freePort(),
      admin: await freePort(),
      epp: await freePort(),
      sideEpp: await freePort(),
      sim: simPort,
    };
    const yaml = resourcesYaml(ports);
    const dir = tmpDir('stack');
    fs.writeFileSync(path.join(dir, 'resources.yaml'), yaml);

    // The main EPP opts in to test-epp-endpoint-selection; the side EPP runs the default config, which ignores it.
    const core = await buildCore({
      pool: 'main',
      namespace: 'default',
      paths: [dir],
      configFile: TESTING_CONFIG,
    });
    expect(core.ready()).toBe(true);
    epp = await startEpp({
      handle: core,
      address: '127.0.0.1',
      grpcPort: ports.epp,
      metricsPort: 0,
      workerThreads: 1,
    });
    eppMetricsPort = epp.metricsPort!;
    const sideCore = await buildCore({ pool: 'side-open', namespace: 'default', paths: [dir] });
    sideEpp = await startEpp({
      handle: sideCore,
      address: '127.0.0.1',
      grpcPort: ports.sideEpp,
      workerThreads: 1,
    });

    const loaded = parseText(yaml, 'stack.yaml');
    expect(loaded.problems.filter((p) => p.severity === 'error')).toEqual([]);
    const result = compile(loaded.resources, { mode: 'static', listenAddress: '127.0.0.1' });
    expect(result.violations.map(formatViolation)).toEqual([]);
    const bootstrap = staticBootstrap(result.gateways[0].resources, {
      gateway: 'default/gw',
      adminPort: ports.admin,
    });
    envoy = await startEnvoy(renderBootstrap(bootstrap, 'yaml'), ports.admin);
    base = `http://127.0.0.1:${ports.listen}`;

    // Envoy health-checks the EPP clusters and the EPP needs its first scrape: wait until every route answers.
    for (const route of ['main', 'open', 'close']) {
      await poll(`${route} through the EPP`, 15_000, async () => {
        const r = await post(route, { model: MODEL, prompt: 'warm up', max_tokens: 1 });
        if (r.status !== 200) throw new Error(`${r.status} ${r.text.slice(0, 300)}`);
        return r;
      });
    }
  }, 45_000);

  afterAll(async () => {
    await envoy?.stop();
    await epp?.close(100);
    await sideEpp?.close(100);
    await fleet?.close();
  });

  async function post(
    route: string,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    const t = Date.now();
    const res = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [ROUTE_HEADER]: route, ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    return { status: res.status, pod: res.headers.get('x-infergate-sim'), text, ms: Date.now() - t };
  }

  async function eppGauge(name: string): Promise<number | undefined> {
    const text = await (await fetch(`http://127.0.0.1:${eppMetricsPort}/metrics`)).text();
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+|NaN)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  }

  async function idle(): Promise<void> {
    await poll('the sims to drain', 10_000, async () =>
      fleet.servers.every((s) => s.stats().running === 0 && s.stats().waiting === 0) ? true : undefined,
    );
  }

  it('requests land on the pod the EPP named: one, two and all pods', async () => {
    for (const i of [1, 0, 2, 1]) {
      const r = await post(
        'main',
        { model: MODEL, prompt: `one pod ${i}`, max_tokens: 2 },
        { 'test-epp-endpoint-selection': POD_IPS[i] },
      );
      expect(r).toMatchObject({ status: 200, pod: podKey(i) });
    }
    const two = [POD_IPS[0], POD_IPS[2]];
    const seenTwo = new Set<string | null>();
    for (let n = 0; n < 8; n++) {
      const r = await post(
        'main',
        { model: MODEL, prompt: `two pods ${n}`, max_tokens: 2 },
        { 'test-epp-endpoint-selection': two.join(',') },
      );
      expect(r.status).toBe(200);
      seenTwo.add(r.pod);
    }
    expect([...seenTwo].every((p) => p === podKey(0) || p === podKey(2))).toBe(true);
    const seenAll = new Set<string | null>();
    for (let n = 0; n < 6; n++) {
      const r = await post(
        'main',
        { model: MODEL, prompt: `all pods ${n}`, max_tokens: 2 },
        { 'test-epp-endpoint-selection': POD_IPS.join(',') },
      );
      expect(r.status).toBe(200);
      seenAll.add(r.pod);
    }
    for (const p of seenAll) expect(POD_IPS.map((_, i) => podKey(i))).toContain(p);
    // A selection outside the pool filters every candidate out: 429 from the EPP, no pod.
    const none = await post(
      'main',
      { model: MODEL, prompt: 'nowhere', max_tokens: 2 },
      { 'test-epp-endpoint-selection': '127.0.0.99' },
    );
    expect(none).toMatchObject({ status: 429, pod: null });
  });

  it('with the default config a client header cannot pin a pod', async () => {
    await idle();
    const pods = new Set<string | null>();
    for (let n = 0; n < 15; n++) {
      const r = await post(
        'open',
        { model: MODEL, prompt: `pin attempt ${n}`, max_tokens: 1 },
        { 'test-epp-endpoint-selection': POD_IPS[0] },
      );
      expect(r.status).toBe(200);
      pods.add(r.pod);
    }
    // Three equally idle pods and a random tie-break: all 15 on the named pod has probability 3^-15.
    expect(pods.size).toBeGreaterThan(1);
  });

  it('the same 16 KB prefix keeps landing on one pod; different prefixes spread', async () => {
    await idle();
    const system = prompt('affinity', 16 * 1024);
    const pods: (string | null)[] = [];
    for (let n = 0; n < 12; n++) {
      const r = await post('main', {
        model: MODEL,
        prompt: `${system}\nuser question number ${n}: why?`,
        max_tokens: 1,
      });
      expect(r.status).toBe(200);
      pods.push(r.pod);
    }
    expect(new Set(pods).size).toBe(1);

    const spread = new Set<string | null>();
    for (let n = 0; n < 9; n++) {
      const r = await post('main', {
        model: MODEL,
        prompt: `${prompt(`spread-${n}`, 16 * 1024)}\nquestion`,
        max_tokens: 1,
      });
      expect(r.status).toBe(200);
      spread.add(r.pod);
    }
    expect(spread.size).toBeGreaterThanOrEqual(2);
  });

  it('a saturated pool sheds priority < 0 with 429 and serves priority >= 0', async () => {
    await idle();
    // One long request per pod holds ~87% of its KV cache (prompt + max_tokens reserved up front): every pod is
    // over the detector's 0.8 KV threshold, so the pool's saturation is >= 1.
    const holdTokens = 150;
    const promptChars = Math.floor((0.87 * KV_BLOCKS * 16 - holdTokens) * 4);
    const hold = POD_IPS.map((ip, i) =>
      post(
        'main',
        { model: MODEL, prompt: prompt(`hold-${i}`, promptChars), max_tokens: holdTokens },
        { 'test-epp-endpoint-selection': ip, 'x-gateway-inference-objective': 'critical' },
      ),
    );
    try {
      await poll('the EPP to see the pool saturated', 30_000, async () => {
        const kv = await eppGauge('inference_pool_average_kv_cache_utilization');
        return kv !== undefined && kv > 0.8 ? kv : undefined;
      });
      const shed = await post(
        'main',
        { model: MODEL, prompt: 'may I?', max_tokens: 2 },
        { 'x-gateway-inference-objective': 'sheddable' },
      );
      expect(shed.status).toBe(429);
      expect(shed.pod).toBeNull();
      console.log(`epp stack: sheddable request answered 429 in ${shed.ms} ms`);
      const critical = await post(
        'main',
        { model: MODEL, prompt: 'I must', max_tokens: 2 },
        { 'x-gateway-inference-objective': 'critical' },
      );
      expect(critical.status).toBe(200);
      expect(critical.pod).not.toBeNull();
      // Still saturated: the critical request did not wait for the long ones.
      expect(fleet.servers.every((s) => s.stats().running >= 1)).toBe(true);
    } finally {
      const held = await Promise.all(hold);
      expect(held.map((r) => r.status)).toEqual([200, 200, 200]);
    }
    // Once the long requests finish, sheddable traffic is served again.
    await poll('sheddable traffic to be admitted again', 30_000, async () => {
      const r = await post(
        'main',
        { model: MODEL, prompt: 'now?', max_tokens: 1 },
        { 'x-gateway-inference-objective': 'sheddable' },
      );
      return r.status === 200 ? r : undefined;
    });
  });

  it('streams SSE through Envoy and the EPP, with the model name rewritten back', async () => {
    const res = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [ROUTE_HEADER]: 'main',
        'x-gateway-model-name-rewrite': MODEL,
      },
      body: JSON.stringify({
        model: 'alias-model',
        prompt: 'one two three four five six seven eight nine ten eleven twelve',
        max_tokens: 12,
        stream: true,
      }),
      signal: AbortSignal.timeout(15_000),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    const arrivals: number[] = [];
    let text = '';
    for (let reads = 0; reads < 1000; reads++) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push(Date.now());
      text += decoder.decode(value, { stream: true });
    }
    const events = text
      .split('\n\n')
      .map((e) => e.trim())
      .filter((e) => e.startsWith('data: '))
      .map((e) => e.slice('data: '.length));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { model: string; choices: unknown[] });
    expect(chunks.length).toBeGreaterThanOrEqual(12);
    for (const c of chunks) expect(c.model).toBe('alias-model');
    expect(text).not.toContain(`"model":"${MODEL}"`);
    // Tokens are passed on as they come (12 tokens × 10 ms), not buffered into one write.
    expect(arrivals.length).toBeGreaterThan(3);
    expect(arrivals.at(-1)! - arrivals[0]).toBeGreaterThanOrEqual(5 * INTER_TOKEN_MS);
  });

  it('with its EPP stopped, FailOpen still answers 200 with the body and FailClose answers 5xx at once', async () => {
    const words = 'fail open keeps the request body intact';
    const body = { model: MODEL, prompt: words, max_tokens: 16 };
    expect((await post('open', body)).status).toBe(200);
    expect((await post('close', body)).status).toBe(200);
    // A stopping EPP first reports NOT_SERVING while it still answers (as `infergate epp` does on SIGTERM);
    // Envoy's health checks (1 s interval) take it out of rotation, and from then on opening the ext_proc stream
    // fails before any body chunk is sent, which is when FULL_DUPLEX_STREAMED can still fail open. Requests
    // keep flowing during the drain and none may fail.
    const closing = sideEpp!.close(100, 3000);
    sideEpp = undefined;
    const failures: number[] = [];
    const drainEnd = Date.now() + 3500;
    while (Date.now() < drainEnd) {
      const r = await post('open', body);
      if (r.status !== 200) failures.push(r.status);
      await new Promise((res) => setTimeout(res, 50));
    }
    await closing;
    expect(failures).toEqual([]);
    for (let n = 0; n < 5; n++) {
      const open = await post('open', body);
      expect(open.status).toBe(200);
      expect(open.pod).not.toBeNull();
      const echoed = JSON.parse(open.text) as { choices: { text: string }[] };
      expect(echoed.choices[0].text.trim()).toBe(words);
      const close = await post('close', body);
      expect(close.status).toBeGreaterThanOrEqual(500);
      expect(close.pod).toBeNull();
    }
    // The main pool's EPP is untouched.
    const main = await post('main', { model: MODEL, prompt: 'still here', max_tokens: 1 });
    expect(main.status).toBe(200);
  });
});
