// In-flight accounting keyed by the stream (not the client's x-request-id) and counted only once a decision
// reaches the stream; model-name label values bounded whatever names clients send.

import type { InferenceModel, InferenceModelRewrite } from '../../../src/api/types';
import { loadEndpointPickerConfig } from '../../../src/epp/config/loader';
import { createDirector } from '../../../src/epp/director';
import { EppMetrics } from '../../../src/epp/observability/metrics';
import { MAX_LEARNED_MODELS, OTHER_MODEL } from '../../../src/epp/observability/model-labels';
import { seededRandom } from '../../../src/epp/scheduling/random';
import type { ResourceSet } from '../../../src/api/types';
import { datastoreWith, input, metrics, parsed } from './fixtures';

const NOW = 1_000_000;
const poolRef = { group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'pool' };

function setup(extra?: (rs: ResourceSet) => void) {
  const ds = datastoreWith(3, extra);
  for (const e of ds.endpoints()) e.metrics = metrics({ updateTime: NOW, activeModels: ['lora-live'] });
  const m = new EppMetrics();
  const d = createDirector({
    datastore: ds,
    config: loadEndpointPickerConfig(),
    metrics: m,
    random: seededRandom(9),
    now: () => NOW,
  });
  return { d, m };
}

async function value(m: EppMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = metric?.values.find((x) =>
    Object.entries(labels).every(([k, want]) => String(x.labels[k]) === want),
  );
  return v?.value ?? 0;
}

async function series(m: EppMetrics, name: string): Promise<number> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return metric?.values.length ?? 0;
}

/** One request through the director: decided, then completed with the model server's `status`. */
async function decideAndComplete(
  d: ReturnType<typeof setup>['d'],
  i: ReturnType<typeof input>,
  status: number,
) {
  await d.decide(i);
  d.complete({ stream: i.stream, requestId: i.requestId, status, durationSeconds: 0, streaming: false });
}

const declaredModel = (modelName: string): InferenceModel => ({
  apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
  kind: 'InferenceModel',
  metadata: { name: modelName, namespace: 'default' },
  spec: { modelName, poolRef: { ...poolRef, group: 'inference.networking.x-k8s.io' } },
});
const rewriteTo = (from: string, to: string): InferenceModelRewrite => ({
  apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
  kind: 'InferenceModelRewrite',
  metadata: { name: `rw-${from}`, namespace: 'default' },
  spec: { poolRef, rules: [{ matches: [{ model: { value: from } }], targets: [{ modelRewrite: to }] }] },
});

describe('in-flight accounting', () => {
  it('ten overlapping streams sharing one x-request-id count ten and release ten', async () => {
    const { d, m } = setup((rs) => rs.inferenceModels.push(declaredModel('m')));
    const inputs = Array.from({ length: 10 }, () => input('m', { requestId: 'same-id' }));
    for (const i of inputs) expect((await d.decide(i)).kind).toBe('route');
    expect(d.inFlight()).toBe(10);
    expect(await value(m, 'inference_objective_running_requests', { model_name: 'm' })).toBe(10);
    for (const i of inputs)
      d.complete({
        stream: i.stream,
        requestId: 'same-id',
        status: 200,
        durationSeconds: 0.1,
        streaming: false,
      });
    expect(d.inFlight()).toBe(0);
    expect(await value(m, 'inference_objective_running_requests', { model_name: 'm' })).toBe(0);
    expect(await value(m, 'inference_objective_request_total', { model_name: 'm' })).toBe(10);
  });

  it('completing twice, or a stream that never decided, changes nothing', async () => {
    const { d, m } = setup((rs) => rs.inferenceModels.push(declaredModel('m')));
    const i = input('m');
    await d.decide(i);
    const info = {
      stream: i.stream,
      requestId: i.requestId,
      status: 499,
      durationSeconds: 1,
      streaming: false,
    };
    d.complete(info);
    d.complete(info);
    d.complete({ ...info, stream: {} });
    expect(await value(m, 'inference_objective_running_requests', { model_name: 'm' })).toBe(0);
    expect(await value(m, 'inference_objective_request_total', { model_name: 'm' })).toBe(1);
  });

  it('a decision that throws after scheduling (rewrite re-serialisation) leaves nothing in flight', async () => {
    const { d, m } = setup((rs) => rs.inferenceModelRewrites.push(rewriteTo('alias', 'base')));
    const cyclic: Record<string, unknown> = { model: 'alias' };
    cyclic.self = cyclic;
    const i = input('alias', { parsed: { ...parsed('alias'), body: cyclic } });
    await expect(d.decide(i)).rejects.toThrow();
    expect(d.inFlight()).toBe(0);
    expect(await value(m, 'inference_objective_running_requests', { model_name: 'alias' })).toBe(0);
  });
});

describe('model-name label cardinality', () => {
  it('declared, rewritten and active names keep their label; random client names share one', async () => {
    const { d, m } = setup((rs) => {
      rs.inferenceModels.push(declaredModel('declared'));
      rs.inferenceModelRewrites.push(rewriteTo('alias', 'base'));
    });
    const random = seededRandom(42);
    const names = Array.from({ length: 2000 }, () => `gpt-${Math.floor(random() * 1e9)}`);
    for (const name of names) {
      // The model server does not know these names: 404, so none is learned.
      await decideAndComplete(d, input(name), 404);
    }
    for (const name of ['declared', 'alias', 'lora-live']) {
      const i = input(name);
      await decideAndComplete(d, i, 200);
    }
    const total = (await m.registry.getMetricsAsJSON()).find(
      (x) => x.name === 'inference_objective_request_total',
    )!;
    const labelled = new Set(total.values.map((v) => String(v.labels.model_name)));
    expect([...labelled].sort()).toEqual(['alias', 'declared', 'lora-live', OTHER_MODEL].sort());
    expect(await value(m, 'inference_objective_request_total', { model_name: OTHER_MODEL })).toBe(2000);
    expect(
      await value(m, 'inference_objective_request_total', { model_name: 'alias', target_model_name: 'base' }),
    ).toBe(1);
    expect(await series(m, 'inference_objective_request_error_total')).toBeLessThanOrEqual(2);
    expect(await series(m, 'inference_objective_running_requests')).toBeLessThanOrEqual(4);
  });

  it(`names the pool served with success are learned, at most ${MAX_LEARNED_MODELS} of them`, async () => {
    const { d, m } = setup();
    for (let k = 0; k < MAX_LEARNED_MODELS + 400; k++) {
      const name = `base-${k}`;
      for (let rep = 0; rep < 2; rep++) {
        const i = input(name);
        await decideAndComplete(d, i, 200);
      }
    }
    // The first request of a name is counted before it is learned only for running_requests; totals after.
    expect(await series(m, 'inference_objective_request_total')).toBe(MAX_LEARNED_MODELS + 1);
    expect(await series(m, 'inference_objective_running_requests')).toBeLessThanOrEqual(
      MAX_LEARNED_MODELS + 1,
    );
    expect(await value(m, 'inference_objective_request_total', { model_name: 'base-0' })).toBe(2);
  });

  it('a client-chosen rewrite target does not become a label either', async () => {
    const { d, m } = setup();
    for (let k = 0; k < 300; k++) {
      const i = input('m', { headers: { 'x-gateway-model-name-rewrite': `t-${k}` } });
      await decideAndComplete(d, i, 404);
    }
    expect(await series(m, 'inference_objective_request_total')).toBe(1);
  });
});
