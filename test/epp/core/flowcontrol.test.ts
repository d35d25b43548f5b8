// The flow controller on a fake clock (hermetic): strict priority, fairness between flows, capacity → 429, TTL →
// 503, a cancelled signal leaving at once, the saturation gate and scale-from-zero; the flowControl config block's
// strict reading; and the director with the gate on.

import { buildFromConfig } from '../../../src/epp/config/build';
import { parseEndpointPickerConfig } from '../../../src/epp/config/loader';
import { EppConfigError } from '../../../src/epp/config/types';
import { parseQuantity } from '../../../src/epp/config/quantity';
import {
  FlowController,
  type Clock,
  type FlowRequest,
  type Outcome,
} from '../../../src/epp/flowcontrol/controller';
import { createDirector } from '../../../src/epp/director';
import { EppMetrics } from '../../../src/epp/observability/metrics';
import type { SaturationDetector } from '../../../src/epp/plugins/utilization-detector';
import { SATURATION_DETECTOR } from '../../../src/epp/plugins/utilization-detector';
import { seededRandom } from '../../../src/epp/scheduling/random';
import type { Decision, EndpointState } from '../../../src/epp/types';
import { emptyResourceSet } from '../../../src/api/types';
import { datastoreWith, input, metrics, pod, pool, state } from './fixtures';

const HEAD = 'apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n';
const GATE = `${HEAD}featureGates: [flowControl]\n`;

class FakeClock implements Clock {
  t = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  };
  clearTimeout = (h: unknown) => {
    this.timers.delete(h as number);
  };
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, v]) => v.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }
  get pending(): number {
    return this.timers.size;
  }
}

/** A detector whose saturation the test sets. */
function knob(): SaturationDetector & { value: number } {
  const d = {
    type: 'knob',
    name: 'knob',
    kinds: [SATURATION_DETECTOR],
    value: 0,
    saturation: () => d.value,
    filter: (_r: unknown, e: EndpointState[]) => e,
  };
  return d;
}

function controller(yaml = '', eps: EndpointState[] = [state(1)]) {
  const built = buildFromConfig(parseEndpointPickerConfig(`${GATE}${yaml}`), {
    random: Math.random,
    now: () => 0,
  });
  const clock = new FakeClock();
  const detector = knob();
  const endpoints = { list: eps };
  const log: string[] = [];
  const c = new FlowController({
    config: built.flowControl!,
    detector,
    endpoints: () => endpoints.list,
    clock,
    backstopMs: 100,
  });
  const submit = (id: string, o: Partial<FlowRequest> = {}) =>
    c.submit({
      flowId: o.flowId ?? 'default-flow',
      priority: o.priority ?? 0,
      bytes: o.bytes ?? 10,
      labels: { model: 'm', target: 'm' },
      ...o,
      dispatch: () => log.push(`${id}:dispatched`),
      evict: (out: Outcome) => log.push(`${id}:${out}`),
    });
  return { c, clock, detector, endpoints, log, submit };
}

describe('flow controller', () => {
  test('dispatches at once while the pool has room, queues while saturated, releases on kick', () => {
    const { c, detector, log, submit } = controller();
    submit('a');
    expect(log).toEqual(['a:dispatched']);
    detector.value = 1; // the default static-usage-limit threshold is 1.0
    submit('b');
    submit('c');
    expect(log).toEqual(['a:dispatched']);
    expect(c.size).toBe(2);
    detector.value = 0.5;
    c.kick();
    expect(log).toEqual(['a:dispatched', 'b:dispatched', 'c:dispatched']);
    expect(c.size).toBe(0);
  });

  test('the saturation gate re-evaluates per dispatch (head of line)', () => {
    const { c, detector, log, submit } = controller();
    detector.value = 1;
    for (const id of ['a', 'b', 'c']) submit(id);
    // each dispatch adds load, as a concurrency detector counting preRequest would: full after two
    detector.saturation = () => (log.length >= 2 ? 1 : 0.8);
    const logLen = log.length;
    c.kick();
    expect(log.slice(logLen)).toEqual(['a:dispatched', 'b:dispatched']);
    expect(c.size).toBe(1);
  });

  test('strict priority: higher bands first, a new higher request is not stuck behind a lower queue', () => {
    const { c, detector, log, submit } = controller();
    detector.value = 1;
    submit('low1', { priority: -1 });
    submit('hi1', { priority: 10 });
    submit('mid', { priority: 0 });
    submit('hi2', { priority: 10 });
    detector.value = 0;
    c.kick();
    expect(log).toEqual(['hi1:dispatched', 'hi2:dispatched', 'mid:dispatched', 'low1:dispatched']);
    // with lower priority still queued (saturated), a higher request arriving when there is room goes at once
    detector.value = 1;
    submit('low2', { priority: -1 });
    detector.value = 0.5;
    submit('hi3', { priority: 10 });
    expect(log.slice(-2)).toEqual(['hi3:dispatched', 'low2:dispatched']);
  });

  test('FCFS global strict across flows vs round robin between flows', () => {
    const order = (yaml: string) => {
      const { c, detector, log, submit } = controller(yaml);
      detector.value = 1;
      for (let i = 0; i < 4; i++) submit(`n${i}`, { flowId: 'noisy' });
      submit('q0', { flowId: 'quiet' });
      submit('q1', { flowId: 'quiet' });
      detector.value = 0;
      c.kick();
      return log.map((l) => l.split(':')[0]);
    };
    expect(order('')).toEqual(['n0', 'n1', 'n2', 'n3', 'q0', 'q1']);
    expect(
      order(
        'plugins:\n- type: round-robin-fairness-policy\nflowControl:\n  defaultPriorityBand: {fairnessPolicyRef: round-robin-fairness-policy}\n',
      ),
    ).toEqual(['n0', 'q0', 'n1', 'q1', 'n2', 'n3']);
  });

  test.each([
    ['global maxRequests', 'flowControl: {maxRequests: 2}', {}, 2],
    ['global maxBytes (quantity)', 'flowControl: {maxBytes: "25"}', {}, 2],
    ['band maxRequests', 'flowControl:\n  priorityBands: [{priority: 0, maxRequests: 1}]', {}, 1],
    ['band maxBytes', 'flowControl:\n  priorityBands: [{priority: 0, maxBytes: 30}]', {}, 3],
    [
      'default band template limits',
      'flowControl:\n  defaultPriorityBand: {maxRequests: 3}',
      { priority: 7 },
      3,
    ],
  ])('capacity: %s → RejectedCapacity once full', (_n, yaml, o, fits) => {
    const { c, detector, log, submit } = controller(yaml);
    detector.value = 1;
    for (let i = 0; i < fits; i++) submit(`r${i}`, o);
    expect(log).toEqual([]);
    submit('over', o);
    expect(log).toEqual(['over:RejectedCapacity']);
    expect(c.size).toBe(fits);
  });

  test('TTL: each request expires at its own deadline with EvictedTTL; per-request TTL overrides the default', () => {
    const { c, clock, detector, log, submit } = controller('flowControl: {defaultRequestTTL: 1s}');
    detector.value = 1;
    submit('a');
    clock.advance(300);
    submit('b');
    submit('short', { ttlMs: 100 });
    clock.advance(150);
    expect(log).toEqual(['short:EvictedTTL']);
    clock.advance(550); // t = 1000
    expect(log).toEqual(['short:EvictedTTL', 'a:EvictedTTL']);
    clock.advance(299);
    expect(log).toHaveLength(2);
    clock.advance(1);
    expect(log).toEqual(['short:EvictedTTL', 'a:EvictedTTL', 'b:EvictedTTL']);
    expect(c.size).toBe(0);
    expect(clock.pending).toBe(0); // no timer left behind
  });

  test('no TTL configured: requests wait until dispatched', () => {
    const { c, clock, detector, log, submit } = controller();
    detector.value = 1;
    submit('a');
    clock.advance(3_600_000);
    expect(log).toEqual([]);
    detector.value = 0;
    clock.advance(100); // the backstop timer re-evaluates
    expect(log).toEqual(['a:dispatched']);
    expect(c.size).toBe(0);
  });

  test('an aborted signal takes the request out at once (EvictedContextCancelled), never dispatched later', () => {
    const { c, detector, log, submit } = controller();
    detector.value = 1;
    const ac = new AbortController();
    submit('gone', { signal: ac.signal, bytes: 100 });
    submit('stay');
    expect(c.size).toBe(2);
    expect(c.queuedBytes).toBe(110);
    ac.abort();
    expect(log).toEqual(['gone:EvictedContextCancelled']);
    expect(c.size).toBe(1);
    expect(c.queuedBytes).toBe(10);
    detector.value = 0;
    c.kick();
    expect(log).toEqual(['gone:EvictedContextCancelled', 'stay:dispatched']);
    // already aborted at submit
    const dead = new AbortController();
    dead.abort();
    submit('late', { signal: dead.signal });
    expect(log.at(-1)).toBe('late:EvictedContextCancelled');
  });

  test('scale from zero: with no endpoints requests queue, and go when an endpoint appears', () => {
    const { c, endpoints, log, submit } = controller('', []);
    submit('a');
    submit('b');
    expect(log).toEqual([]);
    expect(c.size).toBe(2);
    endpoints.list = [state(1)];
    c.kick();
    expect(log).toEqual(['a:dispatched', 'b:dispatched']);
  });

  test('close evicts every queued request (EvictedOther) and stops its timers', () => {
    const { c, clock, detector, log, submit } = controller('flowControl: {defaultRequestTTL: 10s}');
    detector.value = 1;
    submit('a');
    submit('b', { priority: 3 });
    c.close();
    expect(log.sort()).toEqual(['a:EvictedOther', 'b:EvictedOther']);
    expect(clock.pending).toBe(0);
  });
});

describe('flowControl config', () => {
  const problems = (yaml: string, env: Record<string, string> = {}): string[] => {
    try {
      buildFromConfig(parseEndpointPickerConfig(yaml, env), { random: Math.random, now: () => 0 });
      return [];
    } catch (e) {
      if (e instanceof EppConfigError) return e.problems;
      throw e;
    }
  };

  test.each([
    ['100', 100],
    [100, 100],
    ['1k', 1000],
    ['1Ki', 1024],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['1.5M', 1.5e6],
    ['1e3', 1000],
    ['500m', 0.5],
    ['1 Gi', undefined],
    ['ten', undefined],
    [true, undefined],
  ])('quantity %j → %j', (q, n) => {
    expect(parseQuantity(q)).toBe(n);
  });

  test('the gate alone gives the upstream defaults', () => {
    const cfg = parseEndpointPickerConfig(GATE, {});
    expect(cfg.flowControl).toEqual({
      defaultRequestTTLMs: 0,
      defaultPriorityBand: {
        maxBytes: 1_000_000_000,
        fairnessPolicyRef: 'global-strict-fairness-policy',
        orderingPolicyRef: 'fcfs-ordering-policy',
        path: 'flowControl.defaultPriorityBand',
      },
      priorityBands: [],
      usageLimitPolicyPluginRef: 'static-usage-limit-policy',
    });
    const built = buildFromConfig(cfg, { random: Math.random, now: () => 0 });
    expect(built.flowControl?.usageLimit.ceiling(0)).toBe(1);
    expect(built.flowControl?.defaultBand.fairness.type).toBe('global-strict-fairness-policy');
    expect(built.flowControl?.defaultBand.ordering.type).toBe('fcfs-ordering-policy');
  });

  test('an upstream-style block is read with its plugins', () => {
    const cfg = parseEndpointPickerConfig(
      `${GATE}plugins:
- {type: round-robin-fairness-policy, name: rr}
- {type: edf-ordering-policy}
- {type: static-usage-limit-policy, name: limit, parameters: {threshold: 0.8}}
- {type: concurrency-detector, parameters: {maxConcurrency: 110}}
saturationDetector: {pluginRef: concurrency-detector}
flowControl:
  maxBytes: 1Gi
  maxRequests: "10k"
  defaultRequestTTL: 30s
  usageLimitPolicyPluginRef: limit
  defaultPriorityBand: {maxRequests: 50}
  priorityBands:
  - {priority: 10, fairnessPolicyRef: rr, orderingPolicyRef: edf-ordering-policy}
  - {priority: -1, maxBytes: 10Mi, maxRequests: 100}
`,
      {},
    );
    expect(cfg.flowControl).toMatchObject({
      maxBytes: 2 ** 30,
      maxRequests: 10000,
      defaultRequestTTLMs: 30000,
      defaultPriorityBand: { maxRequests: 50 },
      priorityBands: [
        { priority: 10, fairnessPolicyRef: 'rr', orderingPolicyRef: 'edf-ordering-policy' },
        { priority: -1, maxBytes: 10 * 2 ** 20, maxRequests: 100 },
      ],
    });
    const built = buildFromConfig(cfg, { random: Math.random, now: () => 0 });
    expect(built.saturationDetector.type).toBe('concurrency-detector');
    expect(built.flowControl?.usageLimit.ceiling(0)).toBe(0.8);
    expect(built.flowControl?.bands.map((b) => [b.fairness.name, b.ordering.type])).toEqual([
      ['rr', 'edf-ordering-policy'],
      ['global-strict-fairness-policy', 'fcfs-ordering-policy'],
    ]);
    // A default a ref creates is one plugin, shared, and listed with the configured ones.
    expect(built.plugins.get('global-strict-fairness-policy')).toBe(built.flowControl?.bands[1].fairness);
    expect(built.flowControl?.defaultBand.fairness).toBe(built.flowControl?.bands[1].fairness);
  });

  test('every problem at once, with its field path', () => {
    expect(
      problems(`${GATE}plugins:
- {type: queue-scorer}
flowControl:
  maxBytes: lots
  maxRequests: -1
  defaultRequestTTL: soon
  burst: 3
  defaultPriorityBand: {maxRequest: 1}
  priorityBands:
  - {maxBytes: 1}
  - {priority: 1.5}
  - {priority: 2, fairnessPolicyRef: queue-scorer, orderingPolicyRef: nope}
  - {priority: 2}
  usageLimitPolicyPluginRef: fcfs-ordering-policy
`),
    ).toEqual([
      'flowControl.burst: unknown field',
      'flowControl.defaultRequestTTL: must be a duration like "30s", got "soon"',
      'flowControl.defaultPriorityBand.maxRequest: unknown field',
      'flowControl.priorityBands[0].priority: required',
      'flowControl.priorityBands[1].priority: must be an integer, got 1.5',
      'flowControl.priorityBands[3].priority: 2 is already the priority of flowControl.priorityBands[2]',
      'flowControl.maxBytes: must be a non-negative quantity (e.g. 100, "10k", "1Gi"), got "lots"',
      'flowControl.maxRequests: must be a non-negative quantity (e.g. 100, "10k", "1Gi"), got -1',
    ]);
    // the loader's problems come first (the builder never runs); then the refs, in a valid file
    expect(
      problems(`${GATE}plugins:
- {type: queue-scorer}
flowControl:
  priorityBands:
  - {priority: 2, fairnessPolicyRef: queue-scorer, orderingPolicyRef: nope}
  usageLimitPolicyPluginRef: fcfs-ordering-policy
`),
    ).toEqual([
      'flowControl.priorityBands[0].fairnessPolicyRef: queue-scorer (queue-scorer) is not a fairness policy',
      'flowControl.priorityBands[0].orderingPolicyRef: no plugin named "nope"',
      'flowControl.usageLimitPolicyPluginRef: fcfs-ordering-policy (fcfs-ordering-policy) is not a usage-limit policy',
    ]);
  });

  test('a flowControl block without the gate is an error that says so', () => {
    expect(problems(`${HEAD}flowControl: {maxRequests: 10}\n`)).toEqual([
      'flowControl: requires featureGates: [flowControl] (the block is ignored upstream without it)',
    ]);
  });

  test('the legacy env ENABLE_EXPERIMENTAL_FLOW_CONTROL_LAYER=true maps to the gate', () => {
    const cfg = parseEndpointPickerConfig(`${HEAD}flowControl: {maxRequests: 10}\n`, {
      ENABLE_EXPERIMENTAL_FLOW_CONTROL_LAYER: 'true',
    });
    expect(cfg.featureGates).toEqual(['flowControl']);
    expect(cfg.flowControl?.maxRequests).toBe(10);
    expect(
      parseEndpointPickerConfig(HEAD, { ENABLE_EXPERIMENTAL_FLOW_CONTROL_LAYER: 'false' }).flowControl,
    ).toBeUndefined();
  });
});

describe('director with the flowControl gate', () => {
  const NOW = 1_000_000;
  function setup(yaml: string, n = 2) {
    const ds = datastoreWith(n);
    for (const e of ds.endpoints()) e.metrics = metrics({ updateTime: NOW });
    const m = new EppMetrics();
    const clock = new FakeClock();
    const d = createDirector({
      datastore: ds,
      config: parseEndpointPickerConfig(`${GATE}${yaml}`, {}),
      metrics: m,
      random: seededRandom(3),
      now: () => NOW,
      flowClock: clock,
    });
    return { ds, d, m, clock };
  }
  const CD = `plugins:
- {type: concurrency-detector, parameters: {maxConcurrency: 1}}
- type: queue-scorer
saturationDetector: {pluginRef: concurrency-detector}
schedulingProfiles:
- name: default
  plugins: [{pluginRef: queue-scorer}]
flowControl: {defaultRequestTTL: 5s, maxRequests: 2}
`;
  const settle = () => new Promise((r) => setImmediate(r));
  const gauge = async (m: EppMetrics, name: string) =>
    (await m.registry.getSingleMetric(name)!.get()).values.reduce((s, v) => s + v.value, 0);

  test('in flight up to capacity, then queued; a completion dispatches the next; capacity → 429; TTL → 503', async () => {
    const { d, m, clock } = setup(CD);
    const results: Decision[] = [];
    const streams = Array.from({ length: 5 }, () => ({}));
    const go = (i: number) =>
      d
        .decide({ ...input('m', {}, `p${i}`), stream: streams[i], bodyBytes: 10 })
        .then((r) => results.push(r));
    await Promise.all([go(0), go(1)]); // two endpoints × maxConcurrency 1
    expect(results.map((r) => r.kind)).toEqual(['route', 'route']);
    void go(2);
    void go(3);
    void go(4);
    await settle();
    expect(results.slice(2)).toEqual([
      { kind: 'reject', status: 429, message: 'flow control: queue capacity exceeded' },
    ]);
    expect(await gauge(m, 'inference_extension_flow_control_queue_size')).toBe(2);
    expect(await gauge(m, 'inference_extension_flow_control_queue_bytes')).toBe(20);
    d.complete({ stream: streams[0], requestId: 'r', status: 200, durationSeconds: 1, streaming: false });
    await settle();
    expect(results.slice(3).map((r) => r.kind)).toEqual(['route']);
    clock.advance(5000);
    await settle();
    expect(results[4]).toEqual({ kind: 'reject', status: 503, message: 'request timed out in queue' });
    expect(await gauge(m, 'inference_extension_flow_control_queue_size')).toBe(0);
    const text = await m.registry.metrics();
    expect(text).toMatch(
      /inference_extension_flow_control_request_queue_duration_seconds_count\{fairness_id="default-flow",priority="0",outcome="EvictedTTL",inference_pool="pool",model_name="other",target_model_name="other"\} 1/,
    );
    expect(text).toMatch(/inference_extension_flow_control_pool_saturation\{inference_pool="pool"\} 1/);
    expect(d.inFlight()).toBe(2);
    d.close();
  });

  test('a queued request whose signal aborts gets 503 client disconnected, and leaves the queue metric', async () => {
    const { d, m } = setup(CD);
    await d.decide({ ...input('m', {}, 'a'), stream: {} });
    await d.decide({ ...input('m', {}, 'b'), stream: {} });
    const ac = new AbortController();
    const queued = d.decide({ ...input('m', {}, 'c'), stream: {}, signal: ac.signal });
    await settle();
    expect(await gauge(m, 'inference_extension_flow_control_queue_size')).toBe(1);
    ac.abort();
    expect(await queued).toEqual({ kind: 'reject', status: 503, message: 'client disconnected' });
    expect(await gauge(m, 'inference_extension_flow_control_queue_size')).toBe(0);
    expect(d.flowControl?.size).toBe(0);
    d.close();
  });

  test('scale from zero: an empty pool queues instead of 503, and routes when a pod becomes ready', async () => {
    const { ds, d } = setup('flowControl: {defaultRequestTTL: 10s}', 0);
    let result: Decision | undefined;
    void d.decide({ ...input('m', {}, 'x'), stream: {} }).then((r) => (result = r));
    await settle();
    expect(result).toBeUndefined();
    expect(d.flowControl?.size).toBe(1);
    const rs = emptyResourceSet();
    rs.inferencePools.push(pool());
    rs.pods.push(pod('pod-1', '10.0.0.1'));
    ds.apply(rs);
    // the new endpoint has no metrics yet: the utilization detector calls it saturated until its first scrape
    await settle();
    expect(result).toBeUndefined();
    ds.updateMetrics(ds.endpoints()[0].endpoint.key, metrics({ updateTime: NOW }));
    await settle();
    expect(result).toMatchObject({ kind: 'route', endpoints: ['10.0.0.1:8000'] });
    d.close();
  });

  test('the legacy shedding rule does not apply with the gate (sheddable requests queue instead)', async () => {
    const { d } = setup('flowControl: {defaultRequestTTL: 1s}');
    const r = await d.decide({ ...input('m', {}, 'x'), stream: {} });
    expect(r.kind).toBe('route');
  });
});
