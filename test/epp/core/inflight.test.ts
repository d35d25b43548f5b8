// In-flight accounting: inflight-load-producer (counted inline at decision time, released once at completion,
// dropped with its endpoint), token-load-scorer and active-request-scorer, their binding in the config builder, and
// bursts of simultaneous decisions over endpoints whose scraped metrics have not moved yet.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { emptyResourceSet } from '../../../src/api/types';
import { buildFromConfig } from '../../../src/epp/config/build';
import { loadEndpointPickerConfig, parseEndpointPickerConfig } from '../../../src/epp/config/loader';
import { Params } from '../../../src/epp/config/params';
import { EppConfigError } from '../../../src/epp/config/types';
import { createDirector, maxOutputTokens, type EppDirector } from '../../../src/epp/director';
import { EppMetrics } from '../../../src/epp/observability/metrics';
import { builtinRegistry } from '../../../src/epp/plugins';
import { activeRequestScores } from '../../../src/epp/plugins/active-request-scorer';
import {
  estimateTokens,
  INFLIGHT_LOAD,
  InFlightLoadProducer,
  type InFlightLoadSource,
} from '../../../src/epp/plugins/inflight-load-producer';
import { tokenLoadScore } from '../../../src/epp/plugins/token-load-scorer';
import { seededRandom, type RandomSource } from '../../../src/epp/scheduling/random';
import type { Scorer, SchedulingRequest, SchedulingResult } from '../../../src/epp/scheduling/types';
import type {
  Decision,
  EndpointMetrics,
  EndpointState,
  ResponseInfo,
  StreamToken,
} from '../../../src/epp/types';
import { datastoreWith, input, metrics, pod, pool, state } from './fixtures';

const NOW = 1_000_000;
const BURST_CONFIG = fs.readFileSync(
  path.join(__dirname, '..', '..', '..', 'examples', 'epp-config', 'burst-safe.yaml'),
  'utf8',
);
const CONFIG_HEAD = 'apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n';

const req = (over: Partial<SchedulingRequest> = {}): SchedulingRequest => ({
  requestId: 'r',
  targetModel: 'm',
  headers: {},
  state: new Map(),
  prefixHashes: () => new BigUint64Array(0),
  ...over,
});
const result = (...profiles: [string, number[]][]): SchedulingResult => ({
  profileResults: new Map(profiles.map(([name, ids]) => [name, { targets: ids.map((i) => state(i)) }])),
  primaryProfileName: profiles[0][0],
});
const key = (i: number) => state(i).endpoint.key;
const problems = (f: () => unknown): string[] => {
  try {
    f();
  } catch (e) {
    if (e instanceof EppConfigError) return e.problems;
    throw e;
  }
  return [];
};
const build = (text: string) =>
  buildFromConfig(parseEndpointPickerConfig(text), { random: seededRandom(1), now: () => NOW });
/** What the scorer named `name` gives each endpoint. */
const scores = (built: ReturnType<typeof build>, name: string, eps: EndpointState[]): number[] => {
  const out = new Float64Array(eps.length);
  (built.plugins.get(name) as Scorer).score(req(), eps, out);
  return [...out];
};

describe('pure arithmetic', () => {
  it.each([
    // promptBytes, maxOutputTokens, tokens
    [undefined, undefined, 0],
    [0, 100, 100],
    [1, undefined, 1], // a non-empty prompt is at least one token
    [4000, undefined, 1000],
    [4002, 256, 1001 + 256],
    [8000, 0, 2000],
    [8000, -5, 2000],
  ])('estimateTokens(%p, %p) = %p', (bytes, out, want) => {
    expect(estimateTokens(bytes, out)).toBe(want);
  });

  it.each([
    [{ max_tokens: 128 }, 128],
    [{ max_completion_tokens: 64.9 }, 64],
    [{ max_output_tokens: 10 }, 10],
    [{ max_tokens: 0 }, undefined],
    [{ max_tokens: '12' }, undefined],
    [{}, undefined],
  ])('maxOutputTokens(%j) = %p', (body, want) => {
    expect(maxOutputTokens(body)).toBe(want);
  });

  it.each([
    [0, 100, 1],
    [25, 100, 0.75],
    [100, 100, 0],
    [500, 100, 0],
    [1_048_576, 4_194_304, 0.75],
  ])('tokenLoadScore(%p, %p) = %p', (tokens, threshold, want) => {
    expect(tokenLoadScore(tokens, threshold)).toBeCloseTo(want, 12);
  });

  it.each([
    // counts, idleThreshold, maxBusyScore, scores
    [[0, 0, 0], 0, 1, [1, 1, 1]],
    [[0, 2, 4], 0, 1, [1, 0.5, 0]],
    [[1, 2, 4], 1, 1, [1, 0.5, 0]],
    [[0, 2, 4], 0, 0.5, [1, 0.25, 0]],
    [[3, 3], 0, 1, [0, 0]], // every endpoint equally busy: no preference (all 0)
    [[5, 0, 1], 2, 0.5, [0, 1, 1]],
  ])('activeRequestScores(%j, idle %p, maxBusy %p) = %j', (counts, idleThreshold, maxBusyScore, want) => {
    const out = new Float64Array(counts.length);
    activeRequestScores(counts, { idleThreshold, maxBusyScore }, out);
    expect([...out]).toEqual(want);
  });
});

describe('inflight-load-producer', () => {
  it('counts the first target of every profile once, releases once, and knows what came after a scrape', () => {
    let now = 100;
    const p = new InFlightLoadProducer('p', () => now);
    const a = req({ promptBytes: 400, maxOutputTokens: 50 }); // 100 + 50 tokens
    p.preRequest(a, result(['decode', [1, 2]], ['prefill', [3]]));
    p.preRequest(a, result(['decode', [1]])); // the same request again: ignored
    now = 200;
    const b = req({ promptBytes: 40 }); // 10 tokens
    p.preRequest(b, result(['default', [1]], ['other', [1]])); // endpoint 1 twice: counted once
    expect(p.load(key(1))).toMatchObject({ requests: 2, tokens: 160 });
    expect(p.load(key(2))).toMatchObject({ requests: 0, tokens: 0 }); // a retry fallback, not a placement
    expect(p.load(key(3))).toMatchObject({ requests: 1, tokens: 150 });
    expect(p.assignedSince(key(1), 99)).toBe(2);
    expect(p.assignedSince(key(1), 100)).toBe(1);
    expect(p.assignedSince(key(1), 200)).toBe(0);
    expect(p.assignedSince(key(9), 0)).toBe(0);
    expect(p.totals()).toEqual({ requests: 3, tokens: 310, endpoints: 2, trackedRequests: 2 });

    p.responseComplete(a);
    p.responseComplete(a); // twice: no effect
    expect(p.load(key(1))).toMatchObject({ requests: 1, tokens: 10 });
    expect(p.load(key(3))).toMatchObject({ requests: 0, tokens: 0 });
    expect(p.assignedSince(key(1), 0)).toBe(1);
    p.responseComplete(b);
    p.responseComplete(req()); // never placed
    expect(p.totals()).toEqual({ requests: 0, tokens: 0, endpoints: 2, trackedRequests: 0 });
  });

  it('drops the counters of endpoints that left the pool; a late completion does not touch a returning one', () => {
    const p = new InFlightLoadProducer('p', () => NOW);
    const a = req({ promptBytes: 40 });
    p.preRequest(a, result(['default', [1]]));
    p.preRequest(req({ promptBytes: 40 }), result(['default', [2]]));
    p.endpointsChanged(new Set([key(2)]));
    expect(p.load(key(1))).toMatchObject({ requests: 0, tokens: 0 });
    expect(p.totals()).toMatchObject({ requests: 1, endpoints: 1 });
    const c = req({ promptBytes: 80 });
    p.preRequest(c, result(['default', [1]])); // endpoint 1 is back
    p.responseComplete(a); // placed before it left
    expect(p.load(key(1))).toMatchObject({ requests: 1, tokens: 20 });
    p.responseComplete(c);
    expect(p.load(key(1))).toMatchObject({ requests: 0, tokens: 0 });
  });

  it('the scorers read it through the binding', () => {
    const built = build(BURST_CONFIG);
    const producer = built.byKind(INFLIGHT_LOAD)[0] as InFlightLoadProducer;
    const eps = [state(1), state(2), state(3)];
    for (const [i, n] of [
      [1, 0],
      [2, 1],
      [3, 2],
    ])
      for (let j = 0; j < n; j++)
        producer.preRequest(req({ promptBytes: 4_194_304 }), result(['default', [i]]));
    const score = (name: string) => scores(built, name, eps);
    expect(score('active-request-scorer')).toEqual([1, 0.5, 0]);
    expect(score('token-load-scorer')).toEqual([1, 0.75, 0.5]);
  });

  it('token-load-scorer with thresholdFromKvCapacity: each endpoint against its own KV cache, else the threshold', () => {
    const built = build(
      CONFIG_HEAD +
        'plugins:\n- type: inflight-load-producer\n' +
        '- {type: token-load-scorer, parameters: {queueThresholdTokens: 4000, thresholdFromKvCapacity: true}}\n' +
        'schedulingProfiles:\n- name: default\n  plugins: [{pluginRef: token-load-scorer}]\n',
    );
    const producer = built.byKind(INFLIGHT_LOAD)[0] as InFlightLoadProducer;
    // 1,000 tokens in flight on each (4,000 prompt bytes / 4, no max_tokens).
    for (const i of [1, 2, 3, 4]) producer.preRequest(req({ promptBytes: 4000 }), result(['default', [i]]));
    const eps = [
      state(1, { cacheNumBlocks: 250, cacheBlockSize: 16 }), // 4,000 tokens of KV
      state(2, { cacheNumBlocks: 1000, cacheBlockSize: 16 }), // 16,000
      state(3, {}), // reports no cache size: the 4,000 threshold
      state(4), // not scraped yet: the threshold
    ];
    expect(scores(built, 'token-load-scorer', eps)).toEqual([0.75, 0.9375, 0.75, 0.75]);
    expect(
      problems(() =>
        build(
          CONFIG_HEAD + 'plugins:\n- {type: token-load-scorer, parameters: {thresholdFromKvCapacity: yes}}\n',
        ),
      ).join('\n'),
    ).toMatch(/thresholdFromKvCapacity.*must be a boolean/);
  });
});

describe('queue-scorer / running-requests-size-scorer with addAssignedSinceScrape', () => {
  it("adds the placements made after each endpoint's last scrape to the scraped count", () => {
    let now = 900;
    const built = build(
      CONFIG_HEAD +
        'plugins:\n- {type: queue-scorer, parameters: {addAssignedSinceScrape: true}}\n' +
        '- {type: running-requests-size-scorer, parameters: {addAssignedSinceScrape: true}}\n' +
        '- {type: queue-scorer, name: plain}\n',
    );
    const producer = built.byKind(INFLIGHT_LOAD)[0] as InFlightLoadProducer;
    (producer as unknown as { now: () => number }).now = () => now;
    producer.preRequest(req(), result(['default', [1]])); // at 900: seen by the scrape at 1000
    now = 1100;
    producer.preRequest(req(), result(['default', [1]])); // unscraped
    producer.preRequest(req(), result(['default', [4]])); // endpoint 4 was never scraped: counts
    const eps = [
      state(1, { waitingQueueSize: 0, runningRequestsSize: 1, updateTime: 1000 }),
      state(2, { waitingQueueSize: 0, runningRequestsSize: 0, updateTime: 1000 }),
      state(3, { waitingQueueSize: 2, runningRequestsSize: 3, updateTime: 1000 }),
      state(4),
    ];
    const score = (name: string) => scores(built, name, eps);
    expect(score('queue-scorer')).toEqual([0.5, 1, 0, 0.5]); // 1, 0, 2, 1
    expect(score('running-requests-size-scorer')).toEqual([1 / 3, 1, 0, 2 / 3]); // 2, 0, 3, 1
    expect(score('plain')).toEqual([1, 1, 0, 1]); // upstream: scraped queues only
    expect(built.plugins.get('plain')?.kinds).toBeUndefined();
  });

  it('the upstream profile with the parameter spreads the burst too', async () => {
    const config =
      CONFIG_HEAD +
      'plugins:\n- {type: queue-scorer, parameters: {addAssignedSinceScrape: true}}\n' +
      '- type: kv-cache-utilization-scorer\n- type: prefix-cache-scorer\n' +
      'schedulingProfiles:\n- name: default\n  plugins:\n  - {pluginRef: queue-scorer, weight: 2}\n' +
      '  - {pluginRef: kv-cache-utilization-scorer, weight: 2}\n  - {pluginRef: prefix-cache-scorer, weight: 3}\n';
    const { d } = director(8, config, () => 0);
    const { perEndpoint } = await burst(d, 64);
    expect(sorted(perEndpoint, 8)).toEqual([8, 8, 8, 8, 8, 8, 8, 8]);
  });

  it('inFlightLoadProducerName without the parameter is an error', () => {
    expect(
      problems(() =>
        build(CONFIG_HEAD + 'plugins:\n- {type: queue-scorer, parameters: {inFlightLoadProducerName: x}}\n'),
      ),
    ).toEqual([
      'plugins[0].parameters.inFlightLoadProducerName: only read with addAssignedSinceScrape: true',
    ]);
  });
});

describe('configuration', () => {
  it('a consumer without a configured producer gets the default one, which every consumer shares', () => {
    const built = build(CONFIG_HEAD + 'plugins:\n- type: token-load-scorer\n- type: active-request-scorer\n');
    const producers = built.byKind(INFLIGHT_LOAD);
    expect(producers.map((p) => p.name)).toEqual(['inflight-load-producer']);
    expect(built.preRequestInline).toEqual(producers);
    expect(built.responseComplete).toEqual(producers);
    expect(built.endpointsAware).toEqual(producers);
    expect(built.preRequest).toEqual([]); // nothing off the path
  });

  it('inFlightLoadProducerName picks the named producer; upstream default configs get none', () => {
    const built = build(
      CONFIG_HEAD +
        'plugins:\n- {type: inflight-load-producer, name: a}\n- {type: inflight-load-producer, name: b}\n' +
        '- {type: token-load-scorer, parameters: {inFlightLoadProducerName: b}}\n',
    );
    const b = built.lookup('b', INFLIGHT_LOAD) as InFlightLoadProducer;
    b.preRequest(req({ promptBytes: 4_194_304 }), result(['default', [1]]));
    const out = new Float64Array(1);
    (built.plugins.get('token-load-scorer') as Scorer).score(req(), [state(1)], out);
    expect(out[0]).toBe(0.75);
    const upstream = buildFromConfig(loadEndpointPickerConfig(), { random: seededRandom(1), now: () => NOW });
    expect(upstream.byKind(INFLIGHT_LOAD)).toEqual([]);
    expect(upstream.preRequestInline).toEqual([]);
  });

  it('reports every bad parameter and reference with its path, all at once', () => {
    expect(
      problems(() =>
        build(
          CONFIG_HEAD +
            'plugins:\n- type: queue-scorer\n' +
            '- {type: token-load-scorer, parameters: {queueThresholdTokens: 0, inFlightLoadProducerName: nope}}\n' +
            '- {type: active-request-scorer, parameters: {maxBusyScore: 2, idleThreshold: 1.5, foo: 1}}\n' +
            '- {type: active-request-scorer, name: ar2, parameters: {inFlightLoadProducerName: queue-scorer}}\n' +
            '- {type: inflight-load-producer, parameters: {x: 1}}\n',
        ),
      ),
    ).toEqual([
      'plugins[4].parameters.x: unknown parameter',
      'plugins[1].parameters.queueThresholdTokens: must be ≥ 1, got 0',
      'plugins[2].parameters.idleThreshold: must be an integer, got 1.5',
      'plugins[2].parameters.maxBusyScore: must be ≤ 1, got 2',
      'plugins[2].parameters.foo: unknown parameter',
      'plugins[1].parameters.inFlightLoadProducerName: no plugin named "nope"',
      'plugins[3].parameters.inFlightLoadProducerName: queue-scorer (queue-scorer) is not an inflight-load-producer',
    ]);
  });

  it('every consumer, concurrency-detector included, reads one count: the default producer, created once', () => {
    const built = build(
      CONFIG_HEAD +
        'plugins:\n- type: token-load-scorer\n- {type: concurrency-detector, parameters: {maxConcurrency: 1}}\n' +
        '- {type: queue-scorer, parameters: {addAssignedSinceScrape: true, inFlightLoadProducerName: inflight-load-producer}}\n' +
        'saturationDetector: {pluginRef: concurrency-detector}\n' +
        'schedulingProfiles:\n- name: default\n  plugins: [{pluginRef: token-load-scorer}, {pluginRef: queue-scorer}]\n',
    );
    const producers = built.byKind(INFLIGHT_LOAD);
    expect(producers.map((p) => p.name)).toEqual(['inflight-load-producer']);
    expect(built.plugins.get('inflight-load-producer')).toBe(producers[0]);
    expect(built.preRequestInline).toEqual(producers);
    (producers[0] as InFlightLoadProducer).preRequest(
      req({ promptBytes: 4_194_304 }),
      result(['default', [1]]),
    );
    const out = new Float64Array(1);
    (built.plugins.get('token-load-scorer') as Scorer).score(req(), [state(1)], out);
    expect(out[0]).toBe(0.75);
    expect(built.saturationDetector.saturation([state(1), state(2)], NOW)).toBe(0.5);
  });

  it('the default producer cannot be created when its name is taken by another plugin type', () => {
    expect(
      problems(() =>
        build(
          CONFIG_HEAD +
            'plugins:\n- {type: queue-scorer, name: inflight-load-producer}\n- type: token-load-scorer\n',
        ),
      ),
    ).toEqual([
      "plugins[0].name: token-load-scorer needs an inflight-load-producer and the default one's name is taken by another plugin type",
    ]);
  });
});

// ---- Bursts through the director ----

function director(
  n: number,
  configText: string | undefined,
  random: RandomSource,
  m: (i: number) => Partial<EndpointMetrics> = () => ({}),
) {
  const ds = datastoreWith(n);
  ds.endpoints().forEach((e, i) => (e.metrics = metrics({ updateTime: NOW, ...m(i + 1) })));
  const d = createDirector({
    datastore: ds,
    config: configText ? parseEndpointPickerConfig(configText) : loadEndpointPickerConfig(),
    metrics: new EppMetrics(),
    random,
    now: () => NOW + 10, // every decision comes after the last scrape: nothing it placed is visible yet
  });
  return { ds, d };
}
const producerOf = (d: EppDirector) => d.built.byKind(INFLIGHT_LOAD)[0] as InFlightLoadSource | undefined;
const routed = (dec: Decision) => {
  if (dec.kind !== 'route') throw new Error(`expected route, got ${JSON.stringify(dec)}`);
  return dec;
};
/** N decisions started together (as N ext_proc streams would), each on its own stream. */
async function burst(d: EppDirector, n: number, prompt = (i: number) => `question ${i} `.repeat(20)) {
  const streams: StreamToken[] = Array.from({ length: n }, () => ({}));
  const decisions = await Promise.all(
    streams.map((stream, i) => d.decide(input('m', { stream, requestId: `r${i}` }, prompt(i))).then(routed)),
  );
  const perEndpoint = new Map<string, number>();
  for (const dec of decisions)
    perEndpoint.set(dec.endpoints[0], (perEndpoint.get(dec.endpoints[0]) ?? 0) + 1);
  return { streams, decisions, perEndpoint };
}
const sorted = (m: Map<string, number>, n: number) => {
  const v = [...m.values()];
  while (v.length < n) v.push(0);
  return v.sort((a, b) => b - a);
};
const done = (stream: StreamToken, status: number): ResponseInfo => ({
  stream,
  requestId: 'x',
  status,
  durationSeconds: 0.1,
  streaming: false,
});

describe('bursts of simultaneous decisions on stale metrics', () => {
  const alwaysFirst: RandomSource = () => 0; // every tie broken the same way

  it('upstream default profile: 64 decisions on identical stale metrics all make the same choice', async () => {
    const { d } = director(8, undefined, alwaysFirst);
    const { perEndpoint } = await burst(d, 64);
    expect(sorted(perEndpoint, 8)).toEqual([64, 0, 0, 0, 0, 0, 0, 0]);
    expect(producerOf(d)).toBeUndefined();
  });

  it('with in-flight accounting the same burst spreads 8 per endpoint', async () => {
    const { d } = director(8, BURST_CONFIG, alwaysFirst);
    const { streams, perEndpoint } = await burst(d, 64);
    expect(sorted(perEndpoint, 8)).toEqual([8, 8, 8, 8, 8, 8, 8, 8]);
    expect(producerOf(d)!.totals()).toMatchObject({ requests: 64, trackedRequests: 64 });
    for (const s of streams) d.complete(done(s, 200));
    expect(d.inFlight()).toBe(0);
    expect(producerOf(d)!.totals()).toMatchObject({ requests: 0, tokens: 0, trackedRequests: 0 });
  });

  it('one endpoint a hair less loaded: upstream sends it the whole burst; accounting spreads it', async () => {
    const kv = (i: number) => ({ kvCacheUsagePercent: i === 5 ? 0 : 0.01 });
    const upstream = director(8, undefined, seededRandom(7), kv);
    const herd = await burst(upstream.d, 64);
    expect(sorted(herd.perEndpoint, 8)).toEqual([64, 0, 0, 0, 0, 0, 0, 0]);
    expect(herd.perEndpoint.get(key(5))).toBe(64);
    const safe = director(8, BURST_CONFIG, seededRandom(7), kv);
    const spread = await burst(safe.d, 64);
    expect(sorted(spread.perEndpoint, 8)).toEqual([8, 8, 8, 8, 8, 8, 8, 8]);
  });

  it('a shared prefix still concentrates after the first decision is learned (prefix 3 > load signals)', async () => {
    const { d } = director(8, BURST_CONFIG, seededRandom(3));
    const shared = 'You are a helpful assistant. '.repeat(100);
    const first = routed(await d.decide(input('m', { stream: {} }, shared + 'q0')));
    await new Promise((r) => setImmediate(r)); // the prefix index learns off the decision's path
    const { perEndpoint } = await burst(d, 16, (i) => shared + `q${i + 1}`);
    expect(perEndpoint.get(first.endpoints[0])).toBe(16);
  });
});

describe('release on every completion path', () => {
  it.each([
    ['200', 200],
    ['error 500', 500],
    ['cancel 499', 499],
    ['ImmediateResponse 429', 429],
  ])('%s: counters return to 0 and stay there on a repeated completion', async (_label, status) => {
    const { d } = director(4, BURST_CONFIG, seededRandom(1));
    const { streams } = await burst(d, 12);
    expect(producerOf(d)!.totals().requests).toBe(12);
    for (const s of streams) d.complete(done(s, status));
    for (const s of streams) d.complete(done(s, status)); // the handler's duty is once; a second is harmless
    expect(d.inFlight()).toBe(0);
    expect(producerOf(d)!.totals()).toMatchObject({ requests: 0, tokens: 0, trackedRequests: 0 });
  });

  it('rejections are never counted; a stream deciding again releases its first placement', async () => {
    const { d } = director(2, BURST_CONFIG, seededRandom(1));
    const rejected = await d.decide(input('m', { subset: ['10.9.9.9'] }));
    expect(rejected.kind).toBe('reject');
    expect(producerOf(d)!.totals().requests).toBe(0);
    const stream = {};
    await d.decide(input('m', { stream }));
    await d.decide(input('m', { stream }));
    expect(producerOf(d)!.totals()).toMatchObject({ requests: 1, trackedRequests: 1 });
    d.complete(done(stream, 200));
    expect(producerOf(d)!.totals()).toMatchObject({ requests: 0, trackedRequests: 0 });
  });

  it('endpoints removed from the pool drop their counters; their late completions leave the rest intact', async () => {
    const { ds, d } = director(4, BURST_CONFIG, seededRandom(1));
    const { streams, decisions } = await burst(d, 8);
    const rs = emptyResourceSet();
    rs.inferencePools.push(pool());
    for (const i of [1, 2]) rs.pods.push(pod(`pod-${i}`, `10.0.0.${i}`));
    ds.apply(rs);
    const p = producerOf(d)!;
    expect(p.totals()).toMatchObject({ endpoints: 2, requests: 4 });
    expect(p.load(key(3)).requests).toBe(0);
    streams.forEach((s, i) => {
      if (![key(1), key(2)].includes(decisions[i].endpoints[0])) d.complete(done(s, 200));
    });
    expect(p.totals()).toMatchObject({ endpoints: 2, requests: 4, trackedRequests: 4 });
    streams.forEach((s) => d.complete(done(s, 200)));
    expect(p.totals()).toMatchObject({ requests: 0, tokens: 0, trackedRequests: 0 });
    expect(d.inFlight()).toBe(0);
  });
});

describe('registry', () => {
  it('registers the three plugins under their upstream names, the producer first', () => {
    const r = builtinRegistry();
    expect(r.get('inflight-load-producer')?.producer).toBe(true);
    expect(r.get('token-load-scorer')).toBeDefined();
    expect(r.get('active-request-scorer')).toBeDefined();
    const errors: string[] = [];
    r.get('active-request-scorer')!.factory('x', new Params({ requestTimeout: '2m' }, 'p', errors), {
      random: seededRandom(1),
      now: () => NOW,
    });
    expect(errors).toEqual([]);
  });
});
