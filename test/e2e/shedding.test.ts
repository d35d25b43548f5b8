// Priority shedding under saturation through the whole stack (fixtures/shedding, listener 21480): two slow
// simulators that run one sequence at a time. Once every pod has a waiting queue past the EPP's threshold (5),
// a sheddable request (InferenceObjective priority -1) gets 429 at once and a critical one still gets 200.

import * as path from 'node:path';
import type { Stack } from '../../src/cli/stack';
import {
  FIXTURES,
  closeAgent,
  completion,
  getText,
  post,
  promSum,
  runLoad,
  startStack,
  suitePorts,
  waitFor,
} from './support';

const DIR = path.join(FIXTURES, 'shedding');
const PORTS = suitePorts(21400, 21480);
const L = PORTS.listener;
const PODS = ['127.0.24.1:8000', '127.0.24.2:8000'];
const SIM = [
  '--max-num-seqs',
  '1',
  '--ttft-overhead-ms',
  '5',
  '--prefill-ms-per-token',
  '0',
  '--inter-token-ms',
  '20',
];

const objective = (name: string) => ({ 'x-gateway-inference-objective': name });

/** vllm:num_requests_waiting of one simulator, read from its own /metrics. */
async function waiting(pod: string): Promise<number> {
  return promSum(await getText(`http://${pod}/metrics`), 'vllm:num_requests_waiting');
}

describe('priority shedding', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack([DIR], PORTS, { simArgs: SIM });
  }, 60000);
  afterAll(async () => {
    await stack?.stop();
    closeAgent();
  });

  test('an idle pool serves sheddable requests', async () => {
    const r = await post(L, '/v1/completions', completion('idle', 1), objective('sheddable'));
    expect(r.status).toBe(200);
  });

  test('saturated: sheddable → 429 from the EPP, critical → 200', async () => {
    // 16 requests of 20 tokens (≈ 0.4 s each, one at a time per pod): about 7 waiting on each pod.
    // Pinned half and half with the test header, so both queues grow whatever the EPP's (50 ms old) view is.
    const fill = runLoad(16, 16, (i) =>
      post(L, '/v1/completions', completion(`fill ${i}`, 20), {
        ...objective('critical'),
        'test-epp-endpoint-selection': PODS[i % 2],
      }),
    );
    await waitFor(
      'both pods to queue past the threshold',
      async () => ((await Promise.all(PODS.map(waiting))).every((w) => w >= 5) ? true : undefined),
      5000,
      20,
    );
    await new Promise((r) => setTimeout(r, 150)); // the EPP scrapes every 50 ms
    const shed = await runLoad(5, 5, (i) =>
      post(L, '/v1/completions', completion(`shed ${i}`, 1), objective('sheddable')),
    );
    const critical = post(L, '/v1/completions', completion('critical', 1), objective('critical'));
    expect(shed.map((r) => r.status)).toEqual(Array(5).fill(429));
    for (const r of shed) {
      expect(r.servedBy).toBeUndefined();
      expect(r.ms).toBeLessThan(1000);
    }
    const c = await critical;
    expect(c.status).toBe(200);
    expect(PODS).toContain(c.servedBy);
    const filled = await fill;
    expect(filled.map((r) => r.status)).toEqual(Array(16).fill(200));
    const metrics = await getText(`http://127.0.0.1:${PORTS.eppMetrics}/metrics`);
    expect(
      promSum(metrics, 'inference_objective_request_error_total', { error_code: 'ResourceExhausted' }),
    ).toBeGreaterThanOrEqual(5);
  }, 30000);

  test('after the queues drain, sheddable requests are served again', async () => {
    await waitFor(
      'the queues to drain',
      async () => ((await Promise.all(PODS.map(waiting))).every((w) => w === 0) ? true : undefined),
      10000,
    );
    await new Promise((r) => setTimeout(r, 150));
    const r = await post(L, '/v1/completions', completion('after', 1), objective('sheddable'));
    expect(r.status).toBe(200);
  });
});
