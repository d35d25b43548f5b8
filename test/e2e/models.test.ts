// Model-aware routing through the whole stack (fixtures/models, listener 21380): an InferenceModelRewrite split,
// LoRA affinity, and SSE streaming end to end. The simulators serve LoRA adapters lora-a, lora-b and lora-c with
// one adapter slot each; the EPP runs fixtures/epp-config/lora-affinity.yaml.

import * as path from 'node:path';
import type { Stack } from '../../src/cli/stack';
import {
  FIXTURES,
  MODEL,
  closeAgent,
  completion,
  countBy,
  getText,
  post,
  promSum,
  runLoad,
  startStack,
  suitePorts,
  waitFor,
} from './support';

const DIR = path.join(FIXTURES, 'models');
const PORTS = suitePorts(21300, 21380);
const L = PORTS.listener;
const PODS = ['127.0.23.1:8000', '127.0.23.2:8000'];
const SIM = [
  ...['--lora', 'lora-a,lora-b,lora-c', '--max-loras', '1', '--lora-load-ms', '20'],
  ...['--ttft-overhead-ms', '2', '--prefill-ms-per-token', '0', '--inter-token-ms', '5'],
];

describe('models', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack([DIR], PORTS, {
      simArgs: SIM,
      eppArgs: ['--config-file', path.join(FIXTURES, 'epp-config', 'lora-affinity.yaml')],
    });
  }, 180000); // the whole stack starts part by part (30 s each at most); a busy machine is slow, not broken
  afterAll(async () => {
    await stack?.stop();
    closeAgent();
  });

  test('model rewrite split: e2e-alias is served as lora-a and lora-b, about 50/50', async () => {
    const n = 100;
    const replies = await runLoad(n, 8, (i) =>
      post(L, '/v1/completions', completion(`alias ${i}`, 2, 'e2e-alias')),
    );
    // The simulators answer 404 for a model they do not serve, so 200 means the rewritten name reached them.
    expect(replies.filter((r) => r.status !== 200).map((r) => r.body)).toEqual([]);
    // The EPP rewrites the response's model back to the name the client asked for.
    for (const r of replies) expect((JSON.parse(r.body) as { model: string }).model).toBe('e2e-alias');
    const metrics = await getText(`http://127.0.0.1:${PORTS.eppMetrics}/metrics`);
    const decisions = (target: string) =>
      promSum(metrics, 'inference_extension_model_rewrite_decisions_total', {
        model_rewrite_name: 'alias-split',
        model_name: 'e2e-alias',
        target_model: target,
      });
    const served = (target: string) =>
      promSum(metrics, 'inference_objective_request_total', {
        model_name: 'e2e-alias',
        target_model_name: target,
      });
    expect(decisions('lora-a') + decisions('lora-b')).toBe(n);
    expect(served('lora-a') + served('lora-b')).toBe(n);
    // Binomial(100, 0.5): sd 0.05; 0.3..0.7 is four sd.
    expect(served('lora-a') / n).toBeGreaterThan(0.3);
    expect(served('lora-a') / n).toBeLessThan(0.7);
  });

  test('LoRA affinity: requests for an adapter keep landing on the pod that has it loaded', async () => {
    // Load lora-a on the first pod and lora-c on the second with long requests pinned by the test header, then
    // send short unpinned requests for each adapter while those run (4,000 tokens × 5 ms = 20 s: the holds outlive
    // them by many seconds even on a loaded 2-core machine, where 1,000 tokens once ran out first; checked, not
    // assumed).
    const long = (adapter: string, pod: string) =>
      post(L, '/v1/completions', completion(`hold ${adapter}`, 4000, adapter), {
        'test-epp-endpoint-selection': pod,
      });
    let holdsDone = false;
    const holds = Promise.all([long('lora-a', PODS[0]), long('lora-c', PODS[1])]).finally(
      () => (holdsDone = true),
    );
    // One request runs on each pod, nothing else: the EPP's average is 1 once it has scraped both with their
    // holds (and adapters) running.
    await waitFor('the EPP to see both holds running', async () => {
      const text = await getText(`http://127.0.0.1:${PORTS.eppMetrics}/metrics`);
      return promSum(text, 'inference_pool_average_running_requests') >= 1 ? true : undefined;
    });
    const a = await runLoad(10, 2, (i) => post(L, '/v1/completions', completion(`a ${i}`, 2, 'lora-a')));
    const c = await runLoad(10, 2, (i) => post(L, '/v1/completions', completion(`c ${i}`, 2, 'lora-c')));
    expect(holdsDone).toBe(false); // both adapters were still running for every short request
    const held = await holds;
    expect(held.map((r) => [r.status, r.servedBy])).toEqual([
      [200, PODS[0]],
      [200, PODS[1]],
    ]);
    expect(Object.fromEntries(countBy(a, (r) => `${r.status} ${r.servedBy}`))).toEqual({
      [`200 ${PODS[0]}`]: 10,
    });
    expect(Object.fromEntries(countBy(c, (r) => `${r.status} ${r.servedBy}`))).toEqual({
      [`200 ${PODS[1]}`]: 10,
    });
  }, 120000);

  test('SSE streaming end to end: data chunks arrive as they are generated and end with [DONE]', async () => {
    const r = await post(L, '/v1/chat/completions', {
      model: MODEL,
      stream: true,
      max_tokens: 40,
      messages: [{ role: 'user', content: 'stream please' }],
    });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toContain('text/event-stream');
    const events = r.body
      .split('\n\n')
      .map((e) => e.trim())
      .filter(Boolean);
    expect(events.every((e) => e.startsWith('data: '))).toBe(true);
    expect(events[events.length - 1]).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map(
      (e) =>
        JSON.parse(e.slice('data: '.length)) as {
          model: string;
          choices: { delta: { content?: string } }[];
        },
    );
    expect(chunks.length).toBeGreaterThanOrEqual(40);
    for (const c of chunks) expect(c.model).toBe(MODEL);
    // 40 tokens at 5 ms each: a buffering hop would deliver everything at once.
    expect(r.chunkTimes.length).toBeGreaterThan(5);
    expect(r.chunkTimes[r.chunkTimes.length - 1] - r.chunkTimes[0]).toBeGreaterThan(100);
  });

  test('SSE streaming through a model rewrite: chunks carry the name the client asked for', async () => {
    const r = await post(L, '/v1/completions', {
      model: 'e2e-alias',
      stream: true,
      max_tokens: 8,
      prompt: 'stream alias',
    });
    expect(r.status).toBe(200);
    const events = r.body
      .split('\n\n')
      .map((e) => e.trim())
      .filter(Boolean);
    expect(events[events.length - 1]).toBe('data: [DONE]');
    for (const e of events.slice(0, -1)) {
      expect((JSON.parse(e.slice('data: '.length)) as { model: string }).model).toBe('e2e-alias');
    }
    expect(PODS).toContain(r.servedBy);
  });
});
