// The Gateway API Inference Extension conformance list, played against the whole local stack: simulators on
// 127.0.21.x, one EPP per pool, the xDS control plane and a real Envoy on 127.0.0.1:21180
// (fixtures/conformance). Each request goes through Envoy; `x-infergate-sim` says which simulator answered.

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { load } from 'js-yaml';
import type { Stack } from '../../src/cli/stack';
import { projectRoot } from '../../src/util/envoy';
import {
  FAST_SIM,
  FIXTURES,
  MODEL,
  closeAgent,
  completion,
  countBy,
  post,
  runLoad,
  startStack,
  suitePorts,
} from './support';

const DIR = path.join(FIXTURES, 'conformance');
const PORTS = suitePorts(21100, 21180);
const L = PORTS.listener;
const PRIMARY = ['127.0.21.1:8000', '127.0.21.2:8000', '127.0.21.3:8000'];
const SECONDARY = ['127.0.21.11:8000', '127.0.21.12:8000'];

interface Condition {
  type: string;
  status: string;
  reason: string;
}
interface StatusEntry {
  kind: string;
  name: string;
  conditions?: Condition[];
  parents?: { parentRef: { name: string }; conditions: Condition[] }[];
}

function statusOf(entries: StatusEntry[], kind: string, name: string): Record<string, Condition> {
  const e = entries.find((x) => x.kind === kind && x.name === name);
  if (!e) throw new Error(`no status for ${kind} ${name}`);
  const conditions = e.parents?.[0]?.conditions ?? e.conditions ?? [];
  return Object.fromEntries(conditions.map((c) => [c.type, c]));
}

describe('status conditions (infergate validate)', () => {
  let entries: StatusEntry[];
  beforeAll(() => {
    const r = spawnSync(
      process.execPath,
      [path.join(projectRoot(), 'bin', 'infergate.js'), 'validate', DIR],
      {
        encoding: 'utf8',
        timeout: 30000,
      },
    );
    expect(r.status).toBe(0);
    entries = load(r.stdout) as StatusEntry[];
  });

  test('InferencePoolAccepted: pools are Accepted with ResolvedRefs by their parent Gateway', () => {
    for (const pool of ['primary', 'secondary', 'data-parallel']) {
      const s = statusOf(entries, 'InferencePool', pool);
      expect(s.Accepted).toMatchObject({ status: 'True', reason: 'Accepted' });
      expect(s.ResolvedRefs).toMatchObject({ status: 'True', reason: 'ResolvedRefs' });
    }
    const parent = entries.find((x) => x.kind === 'InferencePool' && x.name === 'primary')?.parents?.[0];
    expect(parent?.parentRef.name).toBe('conformance-primary');
  });

  test('HTTPRoute with several rules to different pools is Accepted with ResolvedRefs', () => {
    const s = statusOf(entries, 'HTTPRoute', 'multiple-rules');
    expect(s.Accepted).toMatchObject({ status: 'True' });
    expect(s.ResolvedRefs).toMatchObject({ status: 'True' });
  });

  test('InferencePoolInvalidEPPService: route Accepted, pool ResolvedRefs=False InvalidExtensionRef', () => {
    expect(statusOf(entries, 'HTTPRoute', 'invalid-epp-service').Accepted).toMatchObject({ status: 'True' });
    expect(statusOf(entries, 'InferencePool', 'orphan').ResolvedRefs).toMatchObject({
      status: 'False',
      reason: 'InvalidExtensionRef',
    });
  });

  test('HTTPRouteInvalidInferencePoolRef: route Accepted, ResolvedRefs=False BackendNotFound', () => {
    const s = statusOf(entries, 'HTTPRoute', 'invalid-pool-ref');
    expect(s.Accepted).toMatchObject({ status: 'True' });
    expect(s.ResolvedRefs).toMatchObject({ status: 'False', reason: 'BackendNotFound' });
  });
});

describe('traffic through Envoy', () => {
  let stack: Stack;
  beforeAll(async () => {
    // The EPPs opt in to test-epp-endpoint-selection (header-based-testing-filter), as the reference conformance
    // EPP config does; the default config ignores the header.
    stack = await startStack([DIR], PORTS, {
      simArgs: FAST_SIM,
      eppArgs: ['--config-file', path.join(FIXTURES, 'epp-config', 'testing-filter.yaml')],
    });
  }, 180000); // the whole stack starts part by part (30 s each at most); a busy machine is slow, not broken
  afterAll(async () => {
    await stack?.stop();
    closeAgent();
  });

  const select = (selection: string, n: number, extra: Record<string, string> = {}) =>
    runLoad(n, 4, (i) =>
      post(L, '/v1/completions', completion(`select ${i}`), {
        'test-epp-endpoint-selection': selection,
        ...extra,
      }),
    );

  test('HTTPRouteMultipleRulesDifferentPools: each path reaches its own pool', async () => {
    const a = await runLoad(12, 4, (i) => post(L, '/v1/completions', completion(`rule a ${i}`)));
    const b = await runLoad(12, 4, (i) =>
      post(L, '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: `rule b ${i}` }] }),
    );
    expect(a.map((r) => r.status)).toEqual(Array(12).fill(200));
    expect(b.map((r) => r.status)).toEqual(Array(12).fill(200));
    for (const r of a) expect(PRIMARY).toContain(r.servedBy);
    for (const r of b) expect(SECONDARY).toContain(r.servedBy);
  });

  test.each([
    ['one pod', ['127.0.21.2']],
    ['two pods', ['127.0.21.1', '127.0.21.3']],
    ['all pods', ['127.0.21.1', '127.0.21.2', '127.0.21.3']],
  ])('GatewayFollowingEPPRouting: %s selected', async (_case, ips) => {
    const replies = await select(ips.join(','), 15);
    expect(replies.map((r) => r.status)).toEqual(Array(15).fill(200));
    for (const r of replies) expect(ips.map((ip) => `${ip}:8000`)).toContain(r.servedBy);
  });

  test.each([
    ['every port of one pod', '127.0.21.21', ['127.0.21.21:8000', '127.0.21.21:8001']],
    ['one port pinned', '127.0.21.21:8001', ['127.0.21.21:8001']],
    ['two pins on two pods', '127.0.21.21:8000,127.0.21.22:8001', ['127.0.21.21:8000', '127.0.21.22:8001']],
  ])('GatewayFollowingEPPRoutingWithDataParallelism: %s', async (_case, selection, allowed) => {
    const replies = await select(selection, 15, { 'x-e2e-case': 'data-parallel' });
    expect(replies.map((r) => r.status)).toEqual(Array(15).fill(200));
    for (const r of replies) expect(allowed).toContain(r.servedBy);
  });

  test('data parallelism: without a selection every rank (pod × targetPort) can serve', async () => {
    const replies = await runLoad(60, 8, (i) =>
      post(L, '/v1/completions', completion(`dp ${i}`), { 'x-e2e-case': 'data-parallel' }),
    );
    expect(replies.every((r) => r.status === 200)).toBe(true);
    const ranks = ['127.0.21.21:8000', '127.0.21.21:8001', '127.0.21.22:8000', '127.0.21.22:8001'];
    for (const r of replies) expect(ranks).toContain(r.servedBy);
    expect(countBy(replies, (r) => r.servedBy).size).toBeGreaterThanOrEqual(2);
  });

  test('GatewayWeightedAcrossTwoInferencePools: 70/30 over 400 requests, each only to its pool', async () => {
    const n = 400;
    const replies = await runLoad(n, 16, (i) =>
      post(L, '/v1/completions', completion(`weighted ${i}`), { 'x-e2e-case': 'weighted' }),
    );
    expect(replies.filter((r) => r.status !== 200)).toEqual([]);
    const primary = replies.filter((r) => PRIMARY.includes(r.servedBy ?? '')).length;
    const secondary = replies.filter((r) => SECONDARY.includes(r.servedBy ?? '')).length;
    expect(primary + secondary).toBe(n);
    // Binomial(400, 0.7): sd ≈ 0.023; ±0.07 is three sd.
    expect(primary / n).toBeGreaterThan(0.63);
    expect(primary / n).toBeLessThan(0.77);
  });

  test('HTTPRouteInvalidInferencePoolRef: requests to a missing pool get 5xx', async () => {
    const r = await post(L, '/v1/completions', completion('missing pool'), { 'x-e2e-case': 'missing-pool' });
    expect(r.status).toBeGreaterThanOrEqual(500);
    expect(r.status).toBeLessThan(600);
    expect(r.servedBy).toBeUndefined();
  });

  test('InferencePoolInvalidEPPService: requests to a pool whose EPP Service is missing get 5xx', async () => {
    const r = await post(L, '/v1/completions', completion('missing epp'), { 'x-e2e-case': 'missing-epp' });
    expect(r.status).toBeGreaterThanOrEqual(500);
    expect(r.status).toBeLessThan(600);
    expect(r.servedBy).toBeUndefined();
  });
});
