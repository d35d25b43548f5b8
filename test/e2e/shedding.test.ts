// Priority shedding under saturation through the whole stack (fixtures/shedding, listener 21480): two slow
// simulators that run one sequence at a time. Once every pod has a waiting queue past the EPP's threshold (5),
// a sheddable request (InferenceObjective priority -1) gets 429 without reaching a pod and a critical one still
// gets 200. The test waits for the EPP's own view of the queues, so a slow machine only makes it longer.

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

async function running(pod: string): Promise<number> {
  return promSum(await getText(`http://${pod}/metrics`), 'vllm:num_requests_running');
}

/** The EPP's last scraped view: the pool's average waiting queue. */
async function eppAverageQueue(): Promise<number> {
  return promSum(
    await getText(`http://127.0.0.1:${PORTS.eppMetrics}/metrics`),
    'inference_pool_average_queue_size',
  );
}

describe('priority shedding', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack([DIR], PORTS, {
      simArgs: SIM,
      eppArgs: ['--config-file', path.join(FIXTURES, 'epp-config', 'testing-filter.yaml')],
    });
  }, 180000); // the whole stack starts part by part (30 s each at most); a busy machine is slow, not broken
  afterAll(async () => {
    await stack?.stop();
    closeAgent();
  });

  test('an idle pool serves sheddable requests', async () => {
    const r = await post(L, '/v1/completions', completion('idle', 1), objective('sheddable'));
    expect(r.status).toBe(200);
  });

  test('saturated: sheddable → 429 from the EPP, critical → 200', async () => {
    // 24 requests of 20 tokens (≈ 0.4 s each, one at a time per pod): about 11 waiting on each pod, seconds of
    // margin over the threshold. Pinned half and half with the test header, so both queues grow whatever the
    // EPP's view is.
    const n = 24;
    let done = 0;
    const fill = runLoad(n, n, (i) =>
      post(L, '/v1/completions', completion(`fill ${i}`, 20), {
        ...objective('critical'),
        'test-epp-endpoint-selection': PODS[i % 2],
      }).finally(() => done++),
    );
    // Every fill request has reached a pod or finished (so queues only shrink from here) and both queues are past
    // the threshold with seconds of work left; then the EPP's average shows them, and they still are past it.
    const saturated = async () => {
      const [w, r] = await Promise.all([Promise.all(PODS.map(waiting)), Promise.all(PODS.map(running))]);
      const arrived = w[0] + w[1] + r[0] + r[1] + done === n;
      return arrived && w.every((x) => x >= 6) ? w : undefined;
    };
    await waitFor('every fill request at a pod, both pods past the threshold', saturated, 30000, 20);
    await waitFor('the EPP to see the queues', async () =>
      (await eppAverageQueue()) >= 6 ? true : undefined,
    );
    expect(await saturated()).toBeDefined();
    const shed = await runLoad(5, 5, (i) =>
      post(L, '/v1/completions', completion(`shed ${i}`, 1), objective('sheddable')),
    );
    const critical = post(L, '/v1/completions', completion('critical', 1), objective('critical'));
    expect(shed.map((r) => [r.status, r.servedBy])).toEqual(Array(5).fill([429, undefined]));
    console.log(
      `e2e shedding: sheddable requests answered 429 in ${shed.map((r) => Math.round(r.ms)).join(', ')} ms`,
    );
    const c = await critical;
    expect(c.status).toBe(200);
    expect(PODS).toContain(c.servedBy);
    const filled = await fill;
    expect(filled.map((r) => r.status)).toEqual(Array(n).fill(200));
    const metrics = await getText(`http://127.0.0.1:${PORTS.eppMetrics}/metrics`);
    expect(
      promSum(metrics, 'inference_objective_request_error_total', { error_code: 'ResourceExhausted' }),
    ).toBeGreaterThanOrEqual(5);
  }, 120000);

  test('after the queues drain, sheddable requests are served again', async () => {
    await waitFor(
      'the queues to drain',
      async () => ((await Promise.all(PODS.map(waiting))).every((w) => w === 0) ? true : undefined),
      60000,
    );
    await waitFor('the EPP to see them drained', async () =>
      (await eppAverageQueue()) === 0 ? true : undefined,
    );
    const r = await post(L, '/v1/completions', completion('after', 1), objective('sheddable'));
    expect(r.status).toBe(200);
  }, 120000);
});
