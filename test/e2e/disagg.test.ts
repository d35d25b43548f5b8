// Prefill/decode disaggregation through the whole stack (fixtures/disagg, listener 21980): real Envoy, `infergate
// epp` with fixtures/epp-config/pd.yaml (pd-profile-handler + prefix-based-pd-decider, 256 uncached tokens) and four
// simulators, two --role prefill and two --role decode. A long prompt is served by a decode pod that first called a
// prefill pod (x-infergate-prefilled-by, and both pods' counters); a short prompt, a repeat of a prompt the decode pod
// now holds, and a client's own x-prefiller-host-port cause no prefill call.

import * as path from 'node:path';
import type { Stack } from '../../src/cli/stack';
import {
  FAST_SIM,
  FIXTURES,
  closeAgent,
  completion,
  getText,
  post,
  promSum,
  startStack,
  suitePorts,
} from './support';

const PORTS = suitePorts(21900, 21980);
const L = PORTS.listener;
const PREFILL = ['127.0.28.1:8000', '127.0.28.2:8000'];
const DECODE = ['127.0.28.3:8000', '127.0.28.4:8000'];

const counter = async (pods: string[], family: string) => {
  let n = 0;
  for (const p of pods) n += promSum(await getText(`http://${p}/metrics`), family);
  return n;
};
const remotePrefills = () => counter(DECODE, 'infergate_sim_remote_prefills_total');
const prefillOnly = () => counter(PREFILL, 'infergate_sim_prefill_only_requests_total');
const fallbacks = () => counter(DECODE, 'infergate_sim_remote_prefill_fallbacks_total');
const longPrompt = (seed: string) => Array.from({ length: 400 }, (_, i) => `${seed}${i}`).join(' '); // ≈ 700 tokens

describe('prefill/decode disaggregation', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack([path.join(FIXTURES, 'disagg')], PORTS, {
      simArgs: FAST_SIM,
      simArgsFor: (a) => ['--role', PREFILL.includes(a) ? 'prefill' : 'decode'],
      eppArgs: ['--config-file', path.join(FIXTURES, 'epp-config', 'pd.yaml')],
    });
  }, 180000); // the whole stack starts part by part (30 s each at most); a busy machine is slow, not broken
  afterAll(async () => {
    await stack?.stop();
    closeAgent();
  });

  test('long prompt: a decode pod serves it after a prefill pod prefilled it', async () => {
    const r = await post(L, '/v1/completions', completion(longPrompt('long'), 4));
    expect(r.status).toBe(200);
    expect(DECODE).toContain(r.servedBy);
    expect(PREFILL).toContain(r.headers['x-infergate-prefilled-by']);
    expect((JSON.parse(r.body) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(4);
    expect(await remotePrefills()).toBe(1);
    expect(await prefillOnly()).toBe(1);
    expect(await fallbacks()).toBe(0);
  }, 60000);

  test('short prompt (below 256 uncached tokens): decode only, no prefill call', async () => {
    const r = await post(L, '/v1/completions', completion('a short prompt of a few tokens', 4));
    expect(r.status).toBe(200);
    expect(DECODE).toContain(r.servedBy);
    expect(r.headers['x-infergate-prefilled-by']).toBeUndefined();
    expect(await remotePrefills()).toBe(1);
    expect(await prefillOnly()).toBe(1);
  }, 60000);

  test('a long prompt the decode pod already holds is not prefilled again', async () => {
    const prompt = longPrompt('repeat');
    const first = await post(L, '/v1/completions', completion(prompt, 2));
    expect(first.status).toBe(200);
    expect(PREFILL).toContain(first.headers['x-infergate-prefilled-by']);
    const again = await post(L, '/v1/completions', completion(prompt, 2));
    expect(again.status).toBe(200);
    expect(again.servedBy).toBe(first.servedBy);
    expect(again.headers['x-infergate-prefilled-by']).toBeUndefined();
    expect(await remotePrefills()).toBe(2);
  }, 60000);

  test("a client's own x-prefiller-host-port is cleared by the EPP", async () => {
    const r = await post(L, '/v1/completions', completion('short again', 2), {
      'x-prefiller-host-port': PREFILL[0],
    });
    expect(r.status).toBe(200);
    expect(r.headers['x-infergate-prefilled-by']).toBeUndefined();
    expect(await remotePrefills()).toBe(2);
    expect(await prefillOnly()).toBe(2);
  }, 60000);
});
