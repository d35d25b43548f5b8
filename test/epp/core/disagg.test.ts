// Prefill/decode disaggregation in the decision core: role filters, deciders, the P/D profile handler through the
// config builder and the director (x-prefiller-host-port, prefix learning on both picks).

import { buildFromConfig } from '../../../src/epp/config/build';
import { parseEndpointPickerConfig } from '../../../src/epp/config/loader';
import { EppConfigError } from '../../../src/epp/config/types';
import { createDirector } from '../../../src/epp/director';
import { EppMetrics } from '../../../src/epp/observability/metrics';
import { servesRole } from '../../../src/epp/plugins/prefill-filter';
import { decideByPrefix } from '../../../src/epp/plugins/prefix-based-pd-decider';
import { seededRandom } from '../../../src/epp/scheduling/random';
import { PREFILLER_HEADER, ROLE_LABEL } from '../../../src/epp/scheduling/disagg';
import type { SchedulingRequest } from '../../../src/epp/scheduling/types';
import type { Decision } from '../../../src/epp/types';
import { datastoreWith, input, metrics, state } from './fixtures';

const NOW = 1_000_000;
const HEAD = 'apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n';
const pdConfig = (handler: string, deciderPlugin: string) => `${HEAD}plugins:
- type: prefill-filter
- type: decode-filter
- type: queue-scorer
- type: prefix-cache-scorer
${deciderPlugin}
${handler}
schedulingProfiles:
- name: prefill
  plugins: [{pluginRef: prefill-filter}, {pluginRef: queue-scorer}, {pluginRef: prefix-cache-scorer}]
- name: decode
  plugins: [{pluginRef: decode-filter}, {pluginRef: queue-scorer}, {pluginRef: prefix-cache-scorer}]
`;
const PREFIX_PD = pdConfig(
  '- type: pd-profile-handler\n  parameters: {deciderPluginName: pd-decider}',
  '- name: pd-decider\n  type: prefix-based-pd-decider\n  parameters: {nonCachedTokens: 100}',
);

const errorsOf = (text: string): string[] => {
  try {
    buildFromConfig(parseEndpointPickerConfig(text), { random: seededRandom(1), now: () => 0 });
  } catch (e) {
    if (e instanceof EppConfigError) return e.problems;
    throw e;
  }
  return [];
};

const withRole = (role: string | undefined) => {
  const s = state(1);
  if (role !== undefined) s.endpoint.labels[ROLE_LABEL] = role;
  return s;
};

describe('role filters (llm-d.ai/role)', () => {
  it.each([
    [undefined, false, true],
    ['prefill', true, false],
    ['decode', false, true],
    ['both', true, true],
    ['prefill-decode', true, true],
    ['encode-prefill', true, false],
    ['encode-prefill-decode', true, true],
    ['encode', false, false],
    ['Prefill', false, false],
  ])('role %s → prefill %s, decode %s', (role, prefill, decode) => {
    expect(servesRole(withRole(role), 'prefill')).toBe(prefill);
    expect(servesRole(withRole(role), 'decode')).toBe(decode);
  });
});

describe('prefix-based-pd-decider rule', () => {
  const decode = state(3);
  const req = (bytes: number, matched?: number): SchedulingRequest => {
    const s = new Map<string, unknown>();
    if (matched !== undefined)
      s.set('approx-prefix-cache-match', {
        blockSizeTokens: 16,
        totalBlocks: Math.ceil(bytes / 64),
        matchedBlocks: new Map([[decode.endpoint.key, matched]]),
      });
    return {
      requestId: 'r',
      targetModel: 'm',
      headers: {},
      state: s,
      promptBytes: bytes,
      prefixHashes: () => new BigUint64Array(0),
    };
  };
  it.each([
    // threshold, input bytes, matched blocks on the decode pod, disaggregate
    [0, 40, undefined, true], // 0 = always
    [100, 396, 0, false], // 99 tokens < threshold
    [100, 400, 0, true], // 100 uncached tokens = threshold
    [100, 4000, 0, true],
    [100, 4000, 56, true], // 1000 − 896 = 104
    [100, 4000, 57, false], // 1000 − 912 = 88
    [100, 4000, 63, false], // fully cached
    [100, 4000, undefined, false], // no match info: llm-d does not disaggregate
  ])('threshold %d, %d bytes, %s blocks cached → %s', (threshold, bytes, matched, expected) => {
    expect(decideByPrefix(threshold, req(bytes, matched), decode).disaggregate).toBe(expected);
  });
});

describe('P/D handler configuration', () => {
  it('reports a missing or wrong decider, missing profiles and unsupported parameters, with paths', () => {
    expect(
      errorsOf(
        pdConfig(
          '- type: pd-profile-handler\n  parameters: {deciderPluginName: nope, decodeProfile: dec, primaryPort: 8200}',
          '',
        ),
      ),
    ).toEqual([
      'plugins[4].parameters.primaryPort: data-parallel primaryPort is not supported',
      'plugins[4].parameters.decodeProfile: no scheduling profile named "dec"',
      'plugins[4].parameters.deciderPluginName: no plugin named "nope"',
    ]);
    expect(
      errorsOf(
        pdConfig(
          '- type: disagg-profile-handler\n  parameters: {prefillDeciderPluginName: queue-scorer, prefillProfile: pre, encodeProfile: e}',
          '',
        ),
      ),
    ).toEqual([
      'plugins[4].parameters.encodeProfile: encode disaggregation (encodeProfile) is not supported',
      'plugins[4].parameters.prefillDeciderPluginName: queue-scorer (queue-scorer) is not a pd decider',
      'plugins[4].parameters.prefillProfile: no scheduling profile named "pre"',
    ]);
    expect(
      errorsOf(
        pdConfig(
          '- type: pd-profile-handler',
          '- type: prefix-based-pd-decider\n  parameters: {nonCachedTokens: -1}',
        ),
      ),
    ).toEqual([
      'plugins[4].parameters.nonCachedTokens: must be ≥ 0, got -1',
      'plugins[5].parameters.deciderPluginName: no plugin named "always-disagg-pd-decider"',
    ]);
  });

  it('pd-profile-handler defaults to the plugin named always-disagg-pd-decider', () => {
    expect(errorsOf(pdConfig('- type: pd-profile-handler', '- type: always-disagg-pd-decider'))).toEqual([]);
  });
});

describe('P/D through the director', () => {
  // Pods 1–2 prefill, 3–4 decode, 5 unlabelled (decode-capable).
  function setup(config: string, roles = ['prefill', 'prefill', 'decode', 'decode']) {
    const ds = datastoreWith(roles.length, (rs) =>
      rs.pods.forEach((p, i) => {
        if (roles[i]) p.metadata.labels = { ...p.metadata.labels, [ROLE_LABEL]: roles[i] };
      }),
    );
    for (const e of ds.endpoints()) e.metrics = metrics({ updateTime: NOW });
    const d = createDirector({
      datastore: ds,
      config: parseEndpointPickerConfig(config),
      metrics: new EppMetrics(),
      random: seededRandom(7),
      now: () => NOW,
    });
    return { ds, d };
  }
  const routed = (dec: Decision) => {
    if (dec.kind !== 'route') throw new Error(`expected route, got ${JSON.stringify(dec)}`);
    return dec;
  };
  const flush = () => new Promise((r) => setImmediate(r));
  const prompt = (tokens: number, seed: string) => `${seed} `.repeat(tokens * 4).slice(0, tokens * 4);
  const PREFILL = ['10.0.0.1:8000', '10.0.0.2:8000'];
  const DECODE = ['10.0.0.3:8000', '10.0.0.4:8000'];

  it('long prompt: decode pod primary, prefill pod in x-prefiller-host-port; short prompt: decode only', async () => {
    const { d } = setup(PREFIX_PD);
    const long = routed(await d.decide(input('m', {}, prompt(2000, 'alpha'))));
    expect(DECODE).toContain(long.endpoints[0]);
    expect(long.endpoints.every((e) => DECODE.includes(e))).toBe(true);
    expect(PREFILL).toContain(long.headers?.[PREFILLER_HEADER]);
    const short = routed(await d.decide(input('m', {}, prompt(50, 'beta'))));
    expect(DECODE).toContain(short.endpoints[0]);
    expect(short.headers).toEqual({ [PREFILLER_HEADER]: '' });
  });

  it('a client cannot choose the prefill pod: its header is overwritten', async () => {
    const { d } = setup(PREFIX_PD);
    const dec = routed(
      await d.decide(input('m', { headers: { [PREFILLER_HEADER]: '169.254.169.254:80' } }, prompt(20, 'x'))),
    );
    expect(dec.headers).toEqual({ [PREFILLER_HEADER]: '' });
  });

  it('both picks learn the prefix: a repeat goes to the same decode pod, now cached, without prefill', async () => {
    const { d } = setup(PREFIX_PD);
    const p = prompt(2000, 'gamma');
    const first = routed(await d.decide(input('m', {}, p)));
    const prefillPod = first.headers![PREFILLER_HEADER];
    expect(PREFILL).toContain(prefillPod);
    await flush(); // preRequest learns off the decision path
    // Both the decode pick and the prefill pick now hold the request's 125 blocks.
    const cache = d.built.prefixCache!;
    expect(cache.indexer.endpoints().sort()).toEqual([first.endpoints[0], prefillPod].sort());
    expect(cache.indexer.entries).toBe(2 * 125);
    const again = routed(await d.decide(input('m', {}, p)));
    expect(again.endpoints[0]).toBe(first.endpoints[0]);
    expect(again.headers).toEqual({ [PREFILLER_HEADER]: '' });
    // With the always decider, the repeat's prefill pick follows the prefix too.
    const { d: alwaysD } = setup(
      pdConfig(
        '- type: pd-profile-handler\n  parameters: {deciderPluginName: always}',
        '- name: always\n  type: always-disagg-pd-decider',
      ),
    );
    const a = routed(await alwaysD.decide(input('m', {}, p)));
    await flush();
    const b = routed(await alwaysD.decide(input('m', {}, p)));
    expect(b.endpoints[0]).toBe(a.endpoints[0]);
    expect(b.headers?.[PREFILLER_HEADER]).toBe(a.headers?.[PREFILLER_HEADER]);
  });

  it('no prefill pod available → decode only; no decode pod → 429', async () => {
    const { d } = setup(PREFIX_PD, ['decode', '', 'decode']);
    const dec = routed(await d.decide(input('m', {}, prompt(2000, 'delta'))));
    expect(['10.0.0.1:8000', '10.0.0.2:8000', '10.0.0.3:8000']).toContain(dec.endpoints[0]);
    expect(dec.headers).toEqual({ [PREFILLER_HEADER]: '' });
    const { d: none } = setup(PREFIX_PD, ['prefill', 'prefill']);
    expect(await none.decide(input('m', {}, prompt(2000, 'delta')))).toMatchObject({
      kind: 'reject',
      status: 429,
    });
  });

  it('disagg-profile-handler without a decider is decode-only', async () => {
    const { d } = setup(pdConfig('- type: disagg-profile-handler', ''));
    const dec = routed(await d.decide(input('m', {}, prompt(2000, 'eps'))));
    expect(DECODE).toContain(dec.endpoints[0]);
    expect(dec.headers).toEqual({ [PREFILLER_HEADER]: '' });
  });
});
