// Flow-control policy plugins as hermetic tables: ordering comparisons, fairness selection, the usage limit, the
// concurrency detector over the in-flight producer's counts, and each registration's parameter checks.

import { Params } from '../../../src/epp/config/params';
import {
  FAIRNESS_POLICY,
  ORDERING_POLICY,
  USAGE_LIMIT_POLICY,
  type FlowView,
  type QueuedItem,
} from '../../../src/epp/flowcontrol/policies';
import { buildFromConfig } from '../../../src/epp/config/build';
import { parseEndpointPickerConfig } from '../../../src/epp/config/loader';
import { builtinRegistry } from '../../../src/epp/plugins';
import { newConcurrencyDetector, DEFAULT_CONCURRENCY } from '../../../src/epp/plugins/concurrency-detector';
import { edfCompare } from '../../../src/epp/plugins/edf-ordering-policy';
import { fcfsCompare } from '../../../src/epp/plugins/fcfs-ordering-policy';
import { INFLIGHT_LOAD, InFlightLoadProducer } from '../../../src/epp/plugins/inflight-load-producer';
import { selectGlobalStrict } from '../../../src/epp/plugins/global-strict-fairness-policy';
import { RoundRobinSelector } from '../../../src/epp/plugins/round-robin-fairness-policy';
import { SATURATION_DETECTOR } from '../../../src/epp/plugins/utilization-detector';
import type { SchedulingRequest, SchedulingResult } from '../../../src/epp/scheduling/types';
import { state } from './fixtures';

const item = (seq: number, deadline = Infinity, enqueuedAt = 0): QueuedItem => ({
  seq,
  deadline,
  enqueuedAt,
  bytes: 1,
});

const make = (type: string, parameters?: unknown) => {
  const errors: string[] = [];
  const p = builtinRegistry()
    .get(type)!
    .factory(type, new Params(parameters, `plugins[0].parameters`, errors), {
      random: Math.random,
      now: () => 0,
    });
  return { p, errors };
};

describe('ordering policies', () => {
  test.each([
    ['fcfs: earlier arrival first', fcfsCompare, item(1), item(2), -1],
    ['fcfs: ignores deadlines', fcfsCompare, item(2, 10), item(1, 5), 1],
    ['edf: earlier deadline first', edfCompare, item(2, 10), item(1, 20), -1],
    ['edf: no deadline after a deadline', edfCompare, item(1), item(2, 99), 1],
    ['edf: a deadline before no deadline', edfCompare, item(5, 99), item(1), -1],
    ['edf: equal deadlines keep arrival order', edfCompare, item(3, 50), item(4, 50), -1],
    ['edf: neither has a deadline: arrival order', edfCompare, item(7), item(6), 1],
  ])('%s', (_name, cmp, a, b, sign) => {
    expect(Math.sign(cmp(a, b))).toBe(sign);
  });

  test('registered with the ordering kind, no parameters', () => {
    for (const t of ['fcfs-ordering-policy', 'edf-ordering-policy']) {
      const { p, errors } = make(t);
      expect(ORDERING_POLICY.is(p)).toBe(true);
      expect(FAIRNESS_POLICY.is(p)).toBe(false);
      expect(errors).toEqual([]);
      expect(make(t, { x: 1 }).errors).toEqual(['plugins[0].parameters.x: unknown parameter']);
    }
  });
});

const flows = (spec: Record<string, number[]>): FlowView[] =>
  Object.entries(spec).map(([id, seqs]) => {
    const q = seqs.map((s) => item(s));
    return { id, head: () => q[0], q } as FlowView & { q: QueuedItem[] };
  });

/** Runs a selector to exhaustion, popping one item from the chosen flow each time: the dispatch order. */
function drain(fs: FlowView[], select: (f: FlowView[]) => FlowView | undefined): string[] {
  const out: string[] = [];
  for (let f = select(fs); f; f = select(fs)) {
    const q = (f as FlowView & { q: QueuedItem[] }).q;
    out.push(`${f.id}${q.shift()!.seq}`);
  }
  return out;
}

describe('fairness policies', () => {
  test.each([
    ['one flow', { a: [1, 2, 3] }, ['a1', 'a2', 'a3']],
    ['interleaved by arrival', { a: [1, 4], b: [2, 3] }, ['a1', 'b2', 'b3', 'a4']],
    [
      'a flood first keeps its place',
      { noisy: [1, 2, 3, 4], quiet: [5] },
      ['noisy1', 'noisy2', 'noisy3', 'noisy4', 'quiet5'],
    ],
    ['empty flows skipped', { a: [], b: [9] }, ['b9']],
  ])('global strict (fcfs): %s', (_n, spec, order) => {
    expect(drain(flows(spec), (f) => selectGlobalStrict(f, fcfsCompare))).toEqual(order);
  });

  test('global strict follows the ordering policy it is given (edf)', () => {
    const fs: (FlowView & { q: QueuedItem[] })[] = [
      { id: 'a', q: [item(1, 100)], head: () => fs[0].q[0] },
      { id: 'b', q: [item(2, 50)], head: () => fs[1].q[0] },
    ];
    expect(drain(fs, (f) => selectGlobalStrict(f, edfCompare))).toEqual(['b2', 'a1']);
  });

  test.each([
    ['one flow', { a: [1, 2] }, ['a1', 'a2']],
    [
      'takes turns',
      { noisy: [1, 2, 3, 4], quiet: [5, 6] },
      ['noisy1', 'quiet5', 'noisy2', 'quiet6', 'noisy3', 'noisy4'],
    ],
    ['three flows', { a: [1, 2], b: [3], c: [4, 5] }, ['a1', 'b3', 'c4', 'a2', 'c5']],
    ['empty flows skipped', { a: [], b: [1], c: [] }, ['b1']],
  ])('round robin: %s', (_n, spec, order) => {
    const rr = new RoundRobinSelector();
    expect(drain(flows(spec), (f) => rr.select(f))).toEqual(order);
  });

  test('round robin resumes after the flow that went last, even when the list changes', () => {
    const rr = new RoundRobinSelector();
    const [a, b, c] = flows({ a: [1], b: [2], c: [3] });
    expect(rr.select([a, b, c])?.id).toBe('a');
    // a left (emptied and removed): b, which came after it, is next
    expect(rr.select([b, c])?.id).toBe('b');
    expect(rr.select([b, c])?.id).toBe('c');
    expect(rr.select([b, c])?.id).toBe('b');
  });

  test('round robin: the flow after one that left is next, not the first flow', () => {
    const rr = new RoundRobinSelector();
    const [a, b, c] = flows({ a: [1, 2], b: [3], c: [4, 5] });
    expect(rr.select([a, b, c])?.id).toBe('a');
    expect(rr.select([a, b, c])?.id).toBe('b');
    // b emptied and left: c's turn (restarting at a would give a two turns to c's none)
    expect(rr.select([a, c])?.id).toBe('c');
    expect(rr.select([a, c])?.id).toBe('a');
    // the last flow in the list left: wrap around to the first
    const rr2 = new RoundRobinSelector();
    expect(rr2.select([a, b, c])?.id).toBe('a');
    expect(rr2.select([a, b, c])?.id).toBe('b');
    expect(rr2.select([a, b, c])?.id).toBe('c');
    expect(rr2.select([a, b])?.id).toBe('a');
  });

  test('each band gets its own round-robin cursor', () => {
    const { p } = make('round-robin-fairness-policy');
    expect(FAIRNESS_POLICY.is(p)).toBe(true);
    const fp = FAIRNESS_POLICY.of(p)!;
    const s1 = fp.newSelector();
    const s2 = fp.newSelector();
    const fs = flows({ a: [1, 2], b: [3] });
    expect(s1.select(fs, fcfsCompare)?.id).toBe('a');
    expect(s2.select(fs, fcfsCompare)?.id).toBe('a');
  });
});

describe('static-usage-limit-policy', () => {
  test.each([
    [undefined, 1, []],
    [{ threshold: 0.8 }, 0.8, []],
    [{ threshold: 0 }, 1, ['plugins[0].parameters.threshold: must be ≥ 5e-324, got 0']],
    [{ threshold: 'x' }, 1, ['plugins[0].parameters.threshold: must be a number, got "x"']],
    [{ limit: 1 }, 1, ['plugins[0].parameters.limit: unknown parameter']],
  ])('parameters %j → ceiling %d', (params, ceiling, errs) => {
    const { p, errors } = make('static-usage-limit-policy', params);
    expect(USAGE_LIMIT_POLICY.of(p)?.ceiling(0)).toBe(ceiling);
    expect(errors).toEqual(errs);
  });
});

describe('concurrency-detector', () => {
  const eps = [state(1), state(2)];
  const req = (promptBytes?: number): SchedulingRequest => ({
    requestId: 'r',
    targetModel: 'm',
    headers: {},
    state: new Map(),
    prefixHashes: () => new BigUint64Array(),
    promptBytes,
  });
  const to = (i: number): SchedulingResult => ({
    primaryProfileName: 'default',
    profileResults: new Map([['default', { targets: [eps[i]] }]]),
  });
  /** A detector reading a producer; `place` counts a request as the director's inline preRequest does. */
  const setup = (params: Partial<typeof DEFAULT_CONCURRENCY>) => {
    const producer = new InFlightLoadProducer('p', () => 0);
    const d = newConcurrencyDetector('cd', { ...DEFAULT_CONCURRENCY, ...params });
    d.bindInFlightLoad(producer);
    const place = (i: number, promptBytes?: number) => {
      const r = req(promptBytes);
      producer.preRequest(r, to(i));
      return () => producer.responseComplete(r);
    };
    return { d, producer, place };
  };

  test('requests mode: saturation = in flight / (endpoints × maxConcurrency), released on completion', () => {
    const { d, place } = setup({ maxConcurrency: 2 });
    expect(SATURATION_DETECTOR.is(d)).toBe(true);
    expect(d.saturation(eps, 0)).toBe(0);
    const done = place(0);
    place(0);
    place(1);
    expect(d.saturation(eps, 0)).toBe(0.75);
    expect(d.inFlight(eps[0].endpoint.key)).toBe(2);
    // endpoint 0 is full: the filter keeps only endpoint 1
    expect(d.filter(req(), [...eps]).map((e) => e.endpoint.key)).toEqual([eps[1].endpoint.key]);
    done();
    expect(d.saturation(eps, 0)).toBe(0.5);
    expect(d.saturation([], 0)).toBe(1);
  });

  test("tokens mode weighs requests by the producer's estimated tokens (bytes / 4)", () => {
    const { d, place } = setup({ concurrencyMode: 'tokens', maxTokenConcurrency: 100 });
    const done = place(0, 400); // 100 tokens
    expect(d.saturation(eps, 0)).toBe(0.5);
    done();
    expect(d.saturation(eps, 0)).toBe(0);
  });

  test('headroom lets an endpoint go past max before the filter drops it; all full fails open', () => {
    const { d, place } = setup({ maxConcurrency: 1, headroom: 1 });
    place(0);
    expect(d.filter(req(), [...eps])).toHaveLength(2);
    place(0);
    expect(d.filter(req(), [...eps]).map((e) => e.endpoint.key)).toEqual([eps[1].endpoint.key]);
    place(1);
    place(1);
    expect(d.filter(req(), [...eps])).toHaveLength(2);
  });

  test('endpoints that leave the pool drop their counts (the producer forgets them)', () => {
    const { d, producer, place } = setup({});
    place(0);
    producer.endpointsChanged(new Set([eps[1].endpoint.key]));
    expect(d.inFlight(eps[0].endpoint.key)).toBe(0);
  });

  test('unbound (not built) it reads nothing in flight', () => {
    const d = newConcurrencyDetector('cd', DEFAULT_CONCURRENCY);
    expect(d.saturation(eps, 0)).toBe(0);
    expect(d.filter(req(), [...eps])).toHaveLength(2);
  });

  const HEAD = 'apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n';
  const build = (yaml: string) =>
    buildFromConfig(parseEndpointPickerConfig(HEAD + yaml, {}), { random: Math.random, now: () => 0 });

  test('a config naming only concurrency-detector gets the default producer, counted inline, and reads it', () => {
    const built = build(
      'plugins:\n- {type: concurrency-detector, parameters: {maxConcurrency: 2}}\n- type: queue-scorer\n' +
        'saturationDetector: {pluginRef: concurrency-detector}\n',
    );
    const producers = built.byKind(INFLIGHT_LOAD);
    expect(producers.map((p) => p.type)).toEqual(['inflight-load-producer']);
    expect(built.preRequestInline).toEqual(producers);
    expect(built.responseComplete).toEqual(producers);
    // The detector itself keeps no counts: it has no hooks of its own.
    expect(built.preRequest).toEqual([]);
    (producers[0] as InFlightLoadProducer).preRequest(req(), to(0));
    expect(built.saturationDetector.saturation(eps, 0)).toBe(0.25);
  });

  test('inFlightLoadProducerName picks the producer; a wrong one is reported with its path', () => {
    const built = build(
      'plugins:\n- {type: inflight-load-producer, name: a}\n- {type: inflight-load-producer, name: b}\n' +
        '- {type: concurrency-detector, parameters: {maxConcurrency: 1, inFlightLoadProducerName: b}}\n',
    );
    (built.lookup('b', INFLIGHT_LOAD) as InFlightLoadProducer).preRequest(req(), to(1));
    expect(built.saturationDetector.saturation(eps, 0)).toBe(0.5);
    expect(() =>
      build('plugins:\n- {type: concurrency-detector, parameters: {inFlightLoadProducerName: nope}}\n'),
    ).toThrow('plugins[0].parameters.inFlightLoadProducerName: no plugin named "nope"');
  });

  test.each([
    [undefined, []],
    [{ concurrencyMode: 'tokens', maxTokenConcurrency: 5000, headroom: 0.1 }, []],
    [
      { concurrencyMode: 'bytes' },
      ['plugins[0].parameters.concurrencyMode: must be one of requests, tokens, got "bytes"'],
    ],
    [{ maxConcurrency: 0 }, ['plugins[0].parameters.maxConcurrency: must be ≥ 1, got 0']],
    [{ maxConcurrency: 1.5 }, ['plugins[0].parameters.maxConcurrency: must be an integer, got 1.5']],
    [{ headroom: -1 }, ['plugins[0].parameters.headroom: must be ≥ 0, got -1']],
  ])('parameters %j', (params, errs) => {
    expect(make('concurrency-detector', params).errors).toEqual(errs);
  });
});
