import { Params } from '../../../src/epp/config/params';
import { builtinRegistry } from '../../../src/epp/plugins';
import { selectByHeader } from '../../../src/epp/plugins/header-based-testing-filter';
import { SchedulerProfile } from '../../../src/epp/scheduling/profile';
import { seededRandom } from '../../../src/epp/scheduling/random';
import type { Filter, Picker, Plugin, Scorer, SchedulingRequest } from '../../../src/epp/scheduling/types';
import type { EndpointState } from '../../../src/epp/types';
import { state } from './fixtures';

const registry = builtinRegistry();
function make<T extends Plugin>(type: string, parameters?: unknown, seed = 1): T {
  const errors: string[] = [];
  const p = registry
    .get(type)!
    .factory(type, new Params(parameters, 'p', errors), { random: seededRandom(seed), now: () => 1_000_000 });
  expect(errors).toEqual([]);
  return p as T;
}
const req = (over: Partial<SchedulingRequest> = {}): SchedulingRequest => ({
  requestId: 'r',
  targetModel: 'm',
  headers: {},
  state: new Map(),
  prefixHashes: () => new BigUint64Array(0),
  ...over,
});
const scores = (s: Scorer, eps: EndpointState[], r = req()) => {
  const out = new Float64Array(eps.length);
  s.score(r, eps, out);
  return [...out].map((v) => Math.round(v * 1e6) / 1e6);
};

describe('scorers', () => {
  it('queue-scorer: (maxQ − q)/(maxQ − minQ); all equal → 1', () => {
    const s = make<Scorer>('queue-scorer');
    expect(
      scores(s, [
        state(1, { waitingQueueSize: 0 }),
        state(2, { waitingQueueSize: 5 }),
        state(3, { waitingQueueSize: 10 }),
      ]),
    ).toEqual([1, 0.5, 0]);
    expect(scores(s, [state(1, { waitingQueueSize: 3 }), state(2, { waitingQueueSize: 3 })])).toEqual([1, 1]);
  });

  it('running-requests-size-scorer uses running requests the same way', () => {
    const s = make<Scorer>('running-requests-size-scorer');
    expect(
      scores(s, [
        state(1, { runningRequestsSize: 2 }),
        state(2, { runningRequestsSize: 6 }),
        state(3, { runningRequestsSize: 4 }),
      ]),
    ).toEqual([1, 0, 0.5]);
  });

  it('kv-cache-utilization-scorer: 1 − kv', () => {
    const s = make<Scorer>('kv-cache-utilization-scorer');
    expect(
      scores(s, [state(1, { kvCacheUsagePercent: 0.25 }), state(2, { kvCacheUsagePercent: 0.9 }), state(3)]),
    ).toEqual([0.75, 0.1, 1]);
  });

  it('lora-affinity-scorer: 1 active, 0.8 free slot, 0.6 waiting, 0 otherwise', () => {
    const s = make<Scorer>('lora-affinity-scorer');
    const eps = [
      state(1, { activeModels: ['m'], maxActiveModels: 1 }),
      state(2, { activeModels: ['x'], maxActiveModels: 2 }),
      state(3, { activeModels: ['x'], waitingModels: ['m'], maxActiveModels: 2 }),
      state(4, { activeModels: ['x'], maxActiveModels: 1 }),
    ];
    expect(scores(s, eps)).toEqual([1, 0.8, 0.6, 0]);
  });
});

describe('profile', () => {
  it('sums clamp(score)·weight without normalising and hands the totals to the picker', () => {
    const fixed = (name: string, values: number[]): Scorer => ({
      type: name,
      name,
      category: 'Distribution',
      score: (_r, _e, out) => values.forEach((v, i) => (out[i] = v)),
    });
    let seen: number[] = [];
    const picker: Picker = { type: 'spy', name: 'spy', pick: (_r, e, s) => ((seen = [...s]), [e[0]]) };
    const p = new SchedulerProfile(
      'p',
      [],
      [
        { scorer: fixed('a', [0.5, 2, -1]), weight: 2 },
        { scorer: fixed('b', [0.25, 0.5, NaN]), weight: 3 },
      ],
      picker,
    );
    p.run(req(), [state(1), state(2), state(3)]);
    expect(seen).toEqual([1.75, 3.5, 0]);
  });

  it('fails when a filter leaves nothing', () => {
    const none: Filter = { type: 'none', name: 'none', filter: () => [] };
    const p = new SchedulerProfile('p', [none], [], make<Picker>('max-score-picker'));
    expect(p.run(req(), [state(1)])).toBeUndefined();
  });
});

describe('pickers', () => {
  const eps = [state(1), state(2), state(3), state(4)];

  it('max-score-picker takes the top N by score, ties broken by the seeded shuffle', () => {
    const p = make<Picker>('max-score-picker', { maxNumOfEndpoints: 2 });
    expect(
      p.pick(req(), eps, Float64Array.from([0.1, 0.9, 0.5, 0.2])).map((e) => e.endpoint.address),
    ).toEqual(['10.0.0.2', '10.0.0.3']);
    const tie = Float64Array.from([1, 1, 1, 0]);
    const firsts = new Set<string>();
    const q = make<Picker>('max-score-picker', undefined, 7);
    for (let i = 0; i < 50; i++) firsts.add(q.pick(req(), eps, tie)[0].endpoint.address);
    expect([...firsts].sort()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  });

  it('random-picker returns maxNumOfEndpoints distinct endpoints', () => {
    const p = make<Picker>('random-picker', { maxNumOfEndpoints: 3 });
    const got = p.pick(req(), eps, new Float64Array(4));
    expect(new Set(got).size).toBe(3);
  });

  it('weighted-random-picker samples in proportion to scores and never picks a 0 score while others are > 0', () => {
    const p = make<Picker>('weighted-random-picker', undefined, 42);
    const counts = new Map<string, number>();
    const s = Float64Array.from([0.75, 0.25, 0, 0]);
    for (let i = 0; i < 4000; i++) {
      const a = p.pick(req(), eps, s)[0].endpoint.address;
      counts.set(a, (counts.get(a) ?? 0) + 1);
    }
    // A-Res with one draw: P(pick 1) = w1/(w1+w2) = 0.75.
    expect(counts.get('10.0.0.1')! / 4000).toBeCloseTo(0.75, 1);
    expect(counts.has('10.0.0.3')).toBe(false);
    expect(p.pick(req(), eps, new Float64Array(4))).toHaveLength(1); // all zero → random
  });
});

describe('header-based-testing-filter', () => {
  const eps = [state(1), state(2), state(3, undefined, 8001), state(3, undefined, 8002)];
  it('selects ip and ip:port entries in header order', () => {
    expect(selectByHeader('10.0.0.2, 10.0.0.3:8002', eps).map((e) => e.endpoint.key)).toEqual([
      '10.0.0.2:8000',
      '10.0.0.3:8002',
    ]);
    expect(selectByHeader('10.0.0.3', eps).map((e) => e.endpoint.key)).toEqual([
      '10.0.0.3:8001',
      '10.0.0.3:8002',
    ]);
    expect(selectByHeader(undefined, eps)).toEqual([]);
    const f = make<Filter>('header-based-testing-filter');
    expect(f.filter(req({ headers: { 'test-epp-endpoint-selection': '10.0.0.1' } }), eps)).toEqual([eps[0]]);
    // Without the header nothing is filtered; an empty header selects nothing.
    expect(f.filter(req({ headers: {} }), eps)).toEqual(eps);
    expect(f.filter(req({ headers: { 'test-epp-endpoint-selection': '' } }), eps)).toEqual([]);
  });
});
