import { buildFromConfig } from '../../../src/epp/config/build';
import type { UtilizationDetector } from '../../../src/epp/plugins/utilization-detector';
import { loadEndpointPickerConfig, parseEndpointPickerConfig } from '../../../src/epp/config/loader';
import { EppConfigError } from '../../../src/epp/config/types';
import { seededRandom } from '../../../src/epp/scheduling/random';

const deps = () => ({ random: seededRandom(1), now: () => 0 });
const errorsOf = (text: string): string[] => {
  try {
    buildFromConfig(parseEndpointPickerConfig(text), deps());
  } catch (e) {
    if (e instanceof EppConfigError) return e.problems;
    throw e;
  }
  return [];
};
const HEAD = 'apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n';

describe('EndpointPickerConfig', () => {
  it('defaults to queue 2, kv-cache 2, prefix 3, max-score-picker and single-profile-handler', () => {
    const built = buildFromConfig(loadEndpointPickerConfig(), deps());
    const [profile] = built.scheduler.profiles;
    expect(profile.name).toBe('default');
    expect(profile.scorers.map((s) => [s.scorer.type, s.weight])).toEqual([
      ['queue-scorer', 2],
      ['kv-cache-utilization-scorer', 2],
      ['prefix-cache-scorer', 3],
    ]);
    expect(profile.picker.type).toBe('max-score-picker');
    expect(built.scheduler.handler.type).toBe('single-profile-handler');
    expect(built.saturationDetector.type).toBe('utilization-detector');
    expect((built.saturationDetector as UtilizationDetector).params).toEqual({
      queueDepthThreshold: 5,
      kvCacheUtilThreshold: 0.8,
      metricsStalenessThresholdMs: 200,
      headroom: 0,
    });
    expect(built.prefixCache?.params.blockSizeTokens).toBe(16);
  });

  it('without profiles builds a default profile of every filter, scorer and picker, scorers at weight 1', () => {
    const built = buildFromConfig(
      parseEndpointPickerConfig(
        `${HEAD}plugins:\n- type: lora-affinity-scorer\n- {type: random-picker, parameters: {maxNumOfEndpoints: 2}}\n- type: utilization-detector\n  parameters: {queueDepthThreshold: 10, metricsStalenessThreshold: 1s}\n`,
      ),
      deps(),
    );
    const [p] = built.scheduler.profiles;
    expect(p.scorers.map((s) => [s.scorer.type, s.weight])).toEqual([['lora-affinity-scorer', 1]]);
    expect(p.picker.type).toBe('random-picker');
    const params = (built.saturationDetector as UtilizationDetector).params;
    expect(params.queueDepthThreshold).toBe(10);
    expect(params.metricsStalenessThresholdMs).toBe(1000);
  });

  it('accepts the upstream full example with dataLayer and a producer', () => {
    const text = `${HEAD}plugins:
- type: queue-scorer
- type: approx-prefix-cache-producer
  parameters: {blockSizeTokens: 32, lruCapacityPerServer: 100}
- type: prefix-cache-scorer
- type: metrics-data-source
  parameters: {scheme: http, path: /metrics}
- type: core-metrics-extractor
  parameters: {defaultEngine: sglang}
schedulingProfiles:
- name: default
  plugins: [{pluginRef: queue-scorer, weight: 1}, {pluginRef: prefix-cache-scorer, weight: 3}]
dataLayer:
  sources: [{pluginRef: metrics-data-source, extractors: [{pluginRef: core-metrics-extractor}]}]
`;
    const built = buildFromConfig(parseEndpointPickerConfig(text), deps());
    expect(built.prefixCache?.params.blockSizeTokens).toBe(32);
    expect(built.preRequest.map((p) => p.type)).toEqual(['approx-prefix-cache-producer']);
    expect(built.extractor?.defaultEngine).toBe('sglang');
  });

  it('reports unknown fields, unknown parameters and bad values with paths, all at once', () => {
    const errors = errorsOf(`${HEAD}bogus: 1
plugins:
- type: max-score-picker
  parameters: {maxNumOfEndpoints: 0, colour: red}
- type: queue-scorer
  extra: true
schedulingProfiles:
- name: default
  plugins: [{pluginRef: queue-scorer, weight: -1}]
`);
    expect(errors).toEqual(
      expect.arrayContaining([
        'bogus: unknown field',
        'plugins[1].extra: unknown field',
        'schedulingProfiles[0].plugins[0].weight: must be a non-negative number',
      ]),
    );
    const errors2 = errorsOf(
      `${HEAD}plugins:\n- type: max-score-picker\n  parameters: {maxNumOfEndpoints: 0, colour: red}\n`,
    );
    expect(errors2).toEqual([
      'plugins[0].parameters.maxNumOfEndpoints: must be ≥ 1, got 0',
      'plugins[0].parameters.colour: unknown parameter',
    ]);
  });

  it('rejects unknown plugin types and dangling references clearly', () => {
    expect(errorsOf(`${HEAD}plugins:\n- type: magic-scorer\n`)[0]).toMatch(
      /^plugins\[0\]\.type: unknown plugin type "magic-scorer" \(known: .*queue-scorer/,
    );
    expect(
      errorsOf(
        `${HEAD}plugins:\n- type: queue-scorer\nschedulingProfiles:\n- name: a\n  plugins: [{pluginRef: nope}]\n`,
      ),
    ).toEqual(['schedulingProfiles[0].plugins[0].pluginRef: no plugin named "nope"']);
    expect(
      errorsOf(`${HEAD}plugins:\n- {type: prefix-cache-scorer, parameters: {blockSize: 64}}\n`)[0],
    ).toMatch(/blockSize: is no longer supported/);
    expect(() => parseEndpointPickerConfig('apiVersion: v1\nkind: Foo\n')).toThrow(
      /apiVersion: must be inference.networking.x-k8s.io\/v1alpha1[\s\S]*kind: must be EndpointPickerConfig/,
    );
  });
});
