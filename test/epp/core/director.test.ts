import type {
  InferenceModel,
  InferenceModelRewrite,
  InferenceObjective,
  ResourceSet,
} from '../../../src/api/types';
import { chooseTargetModel } from '../../../src/epp/rewrite/rewrite';
import { poolSaturation, DEFAULT_UTILIZATION } from '../../../src/epp/admission/saturation';
import { loadEndpointPickerConfig, parseEndpointPickerConfig } from '../../../src/epp/config/loader';
import { createDirector, reusableHashes, type EppDirector } from '../../../src/epp/director';
import type { Datastore } from '../../../src/epp/datastore/datastore';
import { EppMetrics } from '../../../src/epp/observability/metrics';
import { seededRandom } from '../../../src/epp/scheduling/random';
import type { Decision } from '../../../src/epp/types';
import { TESTING_FILTER_CONFIG, datastoreWith, input, metrics, state } from './fixtures';

const NOW = 1_000_000;
const poolRef = { group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'pool' };
const objective = (name: string, priority: number): InferenceObjective => ({
  apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
  kind: 'InferenceObjective',
  metadata: { name, namespace: 'default' },
  spec: { priority, poolRef },
});
const rewrite = (
  name: string,
  created: string,
  rules: InferenceModelRewrite['spec']['rules'],
): InferenceModelRewrite => ({
  apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
  kind: 'InferenceModelRewrite',
  metadata: { name, namespace: 'default', creationTimestamp: created },
  spec: { poolRef, rules },
});
const model = (modelName: string, spec: Partial<InferenceModel['spec']>): InferenceModel => ({
  apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
  kind: 'InferenceModel',
  metadata: { name: modelName, namespace: 'default' },
  spec: { modelName, poolRef: { ...poolRef, group: 'inference.networking.x-k8s.io' }, ...spec },
});

function setup(
  n: number,
  extra?: (rs: ResourceSet) => void,
  configText?: string,
): { ds: Datastore; d: EppDirector; m: EppMetrics } {
  const ds = datastoreWith(n, extra);
  for (const e of ds.endpoints()) e.metrics = metrics({ updateTime: NOW });
  const m = new EppMetrics();
  const config = configText ? parseEndpointPickerConfig(configText) : loadEndpointPickerConfig();
  const d = createDirector({ datastore: ds, config, metrics: m, random: seededRandom(3), now: () => NOW });
  return { ds, d, m };
}
const routed = (dec: Decision) => {
  if (dec.kind !== 'route') throw new Error(`expected route, got ${JSON.stringify(dec)}`);
  return dec;
};
const flush = () => new Promise((r) => setImmediate(r));

describe('saturation and shedding', () => {
  it('saturation is the mean of max(q/5, kv/0.8), stale or missing metrics counting 1.0', () => {
    const eps = [
      state(1, { waitingQueueSize: 5, updateTime: NOW }),
      state(2, { kvCacheUsagePercent: 0.4, updateTime: NOW }),
      state(3, { updateTime: NOW - 201 }),
      state(4),
    ];
    expect(poolSaturation(eps, NOW, DEFAULT_UTILIZATION)).toBeCloseTo((1 + 0.5 + 1 + 1) / 4);
    expect(poolSaturation([], NOW, DEFAULT_UTILIZATION)).toBe(1);
  });

  it('sheds priority −1 with 429 when saturated; priority 0 and 10 are served', async () => {
    const { ds, d } = setup(2, (rs) =>
      rs.inferenceObjectives.push(objective('batch', -1), objective('critical', 10)),
    );
    for (const e of ds.endpoints()) e.metrics = metrics({ waitingQueueSize: 6, updateTime: NOW });
    const hdr = (o: string) => ({ headers: { 'x-gateway-inference-objective': o } });
    expect(await d.decide(input('m', hdr('batch')))).toEqual({
      kind: 'reject',
      status: 429,
      message: 'system saturated, sheddable request dropped',
    });
    expect(routed(await d.decide(input('m'))).priority).toBe(0);
    const crit = routed(await d.decide(input('m', hdr('critical'))));
    expect([crit.priority, crit.objective]).toEqual([10, 'critical']);
    expect(routed(await d.decide(input('m', hdr('unknown')))).priority).toBe(0);
    // Not saturated: sheddable is served.
    for (const e of ds.endpoints()) e.metrics = metrics({ waitingQueueSize: 1, updateTime: NOW });
    expect(routed(await d.decide(input('m', hdr('batch')))).priority).toBe(-1);
  });

  it('legacy InferenceModel criticality: Sheddable is shed, Critical and Standard are not', async () => {
    const { ds, d } = setup(1, (rs) =>
      rs.inferenceModels.push(
        model('shed', { criticality: 'Sheddable' }),
        model('crit', { criticality: 'Critical' }),
        model('std', {}),
      ),
    );
    for (const e of ds.endpoints()) e.metrics = metrics({ kvCacheUsagePercent: 0.95, updateTime: NOW });
    expect((await d.decide(input('shed'))).kind).toBe('reject');
    expect(routed(await d.decide(input('crit'))).priority).toBe(1);
    expect(routed(await d.decide(input('std'))).priority).toBe(0);
  });
});

describe('rewrite', () => {
  const rules = [
    rewrite('old-generic', '2024-01-01T00:00:00Z', [{ targets: [{ modelRewrite: 'generic-target' }] }]),
    rewrite('newer-exact', '2024-06-01T00:00:00Z', [
      { matches: [{ model: { type: 'Exact', value: 'other' } }], targets: [{ modelRewrite: 'nope' }] },
      {
        matches: [{ model: { type: 'Exact', value: 'food' } }],
        targets: [
          { modelRewrite: 'food-v1', weight: 90 },
          { modelRewrite: 'food-v2', weight: 10 },
        ],
      },
    ]),
    rewrite('newest-exact', '2025-01-01T00:00:00Z', [
      { matches: [{ model: { value: 'food' } }], targets: [{ modelRewrite: 'late' }] },
    ]),
  ];

  it('exact beats generic, oldest resource wins, first matching rule, weighted targets (seeded)', () => {
    const random = seededRandom(11);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 2000; i++) {
      const t = chooseTargetModel('food', {}, rules, new Map(), random).targetModel;
      counts[t] = (counts[t] ?? 0) + 1;
    }
    expect(Object.keys(counts).sort()).toEqual(['food-v1', 'food-v2']);
    expect(counts['food-v1'] / 2000).toBeCloseTo(0.9, 1);
    expect(chooseTargetModel('anything', {}, rules, new Map(), random)).toEqual({
      targetModel: 'generic-target',
      source: 'rewrite',
      by: 'old-generic',
    });
    expect(
      chooseTargetModel('food', { 'x-gateway-model-name-rewrite': 'hdr' }, rules, new Map(), random)
        .targetModel,
    ).toBe('hdr');
  });

  it('legacy InferenceModel targetModels weights apply when no rewrite rule matches', () => {
    const models = new Map([
      [
        'review',
        model('review', {
          targetModels: [
            { name: 'r1', weight: 1 },
            { name: 'r2', weight: 3 },
          ],
        }),
      ],
    ]);
    const random = seededRandom(5);
    let r2 = 0;
    for (let i = 0; i < 2000; i++)
      if (chooseTargetModel('review', {}, [], models, random).targetModel === 'r2') r2++;
    expect(r2 / 2000).toBeCloseTo(0.75, 1);
  });

  it('re-serialises the body with the new model only when rewritten, and counts the decision', async () => {
    const { d, m } = setup(1, (rs) => rs.inferenceModelRewrites.push(rules[1]));
    const dec = routed(await d.decide(input('other')));
    expect(dec.targetModel).toBe('nope');
    expect(JSON.parse(Buffer.from(dec.body!).toString())).toEqual({ model: 'nope', prompt: 'hello' });
    expect(routed(await d.decide(input('plain'))).body).toBeUndefined();
    expect(
      await m.registry.getSingleMetricAsString('inference_extension_model_rewrite_decisions_total'),
    ).toContain(
      'inference_extension_model_rewrite_decisions_total{model_rewrite_name="newer-exact",model_name="other",target_model="nope"} 1',
    );
  });
});

describe('candidates', () => {
  it('subset as a list, a CSV string, ip-only entries; empty subset or no match → 503', async () => {
    const { d } = setup(3);
    expect(routed(await d.decide(input('m', { subset: ['10.0.0.2:8000'] }))).endpoints).toEqual([
      '10.0.0.2:8000',
    ]);
    expect(routed(await d.decide(input('m', { subset: ['10.0.0.3'] }))).endpoints).toEqual(['10.0.0.3:8000']);
    const csv = routed(await d.decide(input('m', { subset: ['10.0.0.1:8000,10.0.0.2:8000'] }))).endpoints[0];
    expect(['10.0.0.1:8000', '10.0.0.2:8000']).toContain(csv);
    expect(await d.decide(input('m', { subset: [] }))).toEqual({
      kind: 'reject',
      status: 503,
      message: 'no endpoint candidates',
    });
    expect((await d.decide(input('m', { subset: ['10.9.9.9:8000'] }))).kind).toBe('reject');
    expect(await setup(0).d.decide(input('m'))).toEqual({
      kind: 'reject',
      status: 503,
      message: 'no endpoint candidates',
    });
  });

  const h = (v: string) => ({ headers: { 'test-epp-endpoint-selection': v } });
  it('the default config ignores test-epp-endpoint-selection: a client cannot pin a pod', async () => {
    const { d } = setup(3);
    const picked = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const dec = routed(await d.decide(input('m', h('10.0.0.3'))));
      picked.add(dec.endpoints[0]);
    }
    expect(picked.size).toBeGreaterThan(1);
    expect(routed(await d.decide(input('m', h('10.1.1.1')))).endpoints).toHaveLength(1);
  });

  it('with header-based-testing-filter configured the header narrows candidates; no match → 429', async () => {
    const { d } = setup(3, undefined, TESTING_FILTER_CONFIG);
    for (let i = 0; i < 5; i++)
      expect(routed(await d.decide(input('m', h('10.0.0.3')))).endpoints).toEqual(['10.0.0.3:8000']);
    expect(await d.decide(input('m', h('10.1.1.1')))).toEqual({
      kind: 'reject',
      status: 429,
      message: 'failed to find target endpoint',
    });
    // Requests without the header are scheduled as usual.
    expect(routed(await d.decide(input('m'))).endpoints).toHaveLength(1);
  });

  it('headers-only requests go to a random endpoint; no candidates is 503 as with a body', async () => {
    const only = (over: Parameters<typeof input>[1] = {}) => input('', { headersOnly: true, ...over });
    expect(routed(await setup(2).d.decide(only())).endpoints).toHaveLength(1);
    const noCandidates = { kind: 'reject', status: 503, message: 'no endpoint candidates' };
    expect(await setup(0).d.decide(only())).toEqual(noCandidates);
    expect(await setup(2).d.decide(only({ subset: ['10.9.9.9:8000'] }))).toEqual(noCandidates);
    expect(await setup(2).d.decide(only({ subset: [] }))).toEqual(noCandidates);
    expect(routed(await setup(2).d.decide(only({ subset: ['10.0.0.2'] }))).endpoints).toEqual([
      '10.0.0.2:8000',
    ]);
  });
});

describe('scheduling through the director', () => {
  it('prefers the less loaded endpoint (queue 2, kv 2)', async () => {
    const { ds, d } = setup(3);
    const [a, b, c] = ds.endpoints();
    a.metrics = metrics({ waitingQueueSize: 4, kvCacheUsagePercent: 0.5, updateTime: NOW });
    b.metrics = metrics({ waitingQueueSize: 0, kvCacheUsagePercent: 0.1, updateTime: NOW });
    c.metrics = metrics({ waitingQueueSize: 2, kvCacheUsagePercent: 0.9, updateTime: NOW });
    expect(routed(await d.decide(input('m'))).endpoints).toEqual([b.endpoint.key]);
  });

  it('the same long prefix keeps landing on the endpoint that served it (prefix 3 outweighs queue 2)', async () => {
    const { ds, d } = setup(4);
    const prompt = 'You are a helpful assistant. '.repeat(100);
    const first = routed(await d.decide(input('m', {}, prompt))).endpoints[0];
    await flush(); // the index learns after the decision
    // Make the first endpoint the most loaded on queue: prefix affinity (3·1.0) still beats queue (2·1.0).
    for (const e of ds.endpoints())
      e.metrics = metrics({ waitingQueueSize: e.endpoint.key === first ? 3 : 0, updateTime: NOW });
    for (let i = 0; i < 5; i++) {
      expect(routed(await d.decide(input('m', {}, prompt + ` question ${i}`))).endpoints[0]).toBe(first);
      await flush();
    }
  });

  it('uses precomputed prefix hashes when given for the right model, recomputes otherwise', async () => {
    const calls: string[] = [];
    const ds = datastoreWith(2);
    const d = createDirector({
      datastore: ds,
      config: loadEndpointPickerConfig(),
      metrics: new EppMetrics(),
      random: seededRandom(1),
      hasher: (model) => (calls.push(model), new BigUint64Array(0)),
    });
    const params = { blockChars: 64, maxBlocks: 256 };
    const given = { prefixHashes: [1n, 2n], prefixHashesParams: params };
    await d.decide(input('m', { ...given, prefixHashesModel: 'm' }, 'x'.repeat(200)));
    expect(calls).toEqual([]);
    await d.decide(input('m', { ...given, prefixHashesModel: 'other' }, 'x'.repeat(200)));
    expect(calls).toEqual(['m']);
    expect(d.prefixHashParams('m', { cache_salt: 's' })).toEqual({
      model: 'ms',
      blockChars: 64,
      maxBlocks: 256,
    });
  });

  it('recomputes precomputed hashes made with other block parameters (auto-tune changed them since)', async () => {
    const calls: [number, number][] = [];
    const ds = datastoreWith(2);
    const d = createDirector({
      datastore: ds,
      config: loadEndpointPickerConfig(),
      metrics: new EppMetrics(),
      random: seededRandom(1),
      now: () => NOW,
      hasher: (_m, _in, blockChars, maxBlocks) => (
        calls.push([blockChars, maxBlocks]),
        new BigUint64Array(0)
      ),
    });
    // A worker hashed with the defaults (64 chars × 256) before the first scrape...
    const fromWorker = {
      prefixHashes: [1n, 2n, 3n],
      prefixHashesModel: 'm',
      prefixHashesParams: { blockChars: 64, maxBlocks: 256 },
    };
    await d.decide(input('m', fromWorker, 'x'.repeat(200)));
    expect(calls).toEqual([]);
    // ...then the servers report 32-token KV blocks: the scheduler now needs 128-char blocks.
    for (const e of ds.endpoints()) e.metrics = metrics({ cacheBlockSize: 32, updateTime: NOW });
    expect(d.prefixHashParams('m')).toEqual({ model: 'm', blockChars: 128, maxBlocks: 256 });
    await d.decide(input('m', fromWorker, 'x'.repeat(200)));
    expect(calls).toEqual([[128, 256]]);
    // Hashes without their parameters are not trusted either.
    await d.decide(input('m', { prefixHashes: [1n], prefixHashesModel: 'm' }, 'x'.repeat(200)));
    expect(calls).toHaveLength(2);
  });

  it('reusableHashes: same block size, and a cap that covers the one asked for or an input that ended first', () => {
    const h = BigUint64Array.from([1n, 2n, 3n, 4n]);
    const p = (blockChars: number, maxBlocks: number) => ({ blockChars, maxBlocks });
    expect(reusableHashes(h, undefined, 64, 256)).toBeUndefined();
    expect(reusableHashes(h, p(128, 256), 64, 256)).toBeUndefined();
    expect(Array.from(reusableHashes(h, p(64, 256), 64, 256)!)).toEqual([1n, 2n, 3n, 4n]);
    // A smaller cap: the chain's first hashes do not depend on later blocks.
    expect(Array.from(reusableHashes(h, p(64, 256), 64, 2)!)).toEqual([1n, 2n]);
    // A larger cap: usable only when the input ended before the old cap (4 hashes < 8).
    expect(Array.from(reusableHashes(h, p(64, 8), 64, 256)!)).toEqual([1n, 2n, 3n, 4n]);
    expect(reusableHashes(h, p(64, 4), 64, 256)).toBeUndefined();
    expect(reusableHashes(undefined, p(64, 256), 64, 256)).toBeUndefined();
  });

  it('complete() records request, duration, tokens and running requests', async () => {
    const { d, m } = setup(1, (rs) => rs.inferenceModels.push(model('m', {})));
    const req = input('m', { requestId: 'req-1' });
    const dec = routed(await d.decide(req));
    expect(dec.endpoints).toEqual(['10.0.0.1:8000']);
    expect(await m.registry.getSingleMetricAsString('inference_objective_running_requests')).toContain(
      '{model_name="m"} 1',
    );
    d.complete({
      stream: req.stream,
      requestId: 'req-1',
      status: 200,
      durationSeconds: 0.3,
      promptTokens: 12,
      completionTokens: 7,
      streaming: false,
    });
    d.complete({ stream: {}, requestId: 'req-1', status: 200, durationSeconds: 1, streaming: false });
    const text = await m.registry.metrics();
    expect(text).toContain('inference_objective_running_requests{model_name="m"} 0');
    expect(text).toContain(
      'inference_objective_request_total{model_name="m",target_model_name="m",priority="0"} 1',
    );
    expect(text).toContain(
      'inference_objective_request_duration_seconds_count{model_name="m",target_model_name="m"} 1',
    );
    expect(text).toContain('inference_objective_input_tokens_sum{model_name="m",target_model_name="m"} 12');
    expect(text).toContain('inference_objective_output_tokens_sum{model_name="m",target_model_name="m"} 7');
    expect(text).toMatch(
      /inference_extension_plugin_duration_seconds_count\{extension_point="Scorer",plugin_type="queue-scorer",plugin_name="queue-scorer"\} [1-9]/,
    );
    expect(text).toMatch(/inference_extension_scheduler_e2e_duration_seconds_count [1-9]/);
  });
});
