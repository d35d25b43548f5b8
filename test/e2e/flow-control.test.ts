// Flow control through the whole stack (fixtures/flow-control, listener 21780): one slow simulator and
// `infergate epp` with an upstream-style EndpointPickerConfig (featureGates: [flowControl], concurrency-detector
// maxConcurrency 1, band 0 maxRequests 3, defaultRequestTTL 2s). While one long request is in flight: the next
// three queue in the EPP (queue_size 3), the fourth gets 429; the queued ones get 503 "request timed out in
// queue" at their TTL; a queued client that hangs up leaves the queue at once (EvictedContextCancelled) and is
// never dispatched later.

import * as path from 'node:path';
import type { Stack } from '../../src/cli/stack';
import {
  FIXTURES,
  closeAgent,
  completion,
  getText,
  post,
  promSum,
  startStack,
  suitePorts,
  waitFor,
} from './support';

const PORTS = suitePorts(21700, 21780);
const L = PORTS.listener;
const SIM = [
  '--max-num-seqs',
  '4',
  '--ttft-overhead-ms',
  '5',
  '--prefill-ms-per-token',
  '0',
  '--inter-token-ms',
  '20',
];
const QUEUE = 'inference_extension_flow_control_queue_size';
const WAITED = 'inference_extension_flow_control_request_queue_duration_seconds_count';

async function epp(): Promise<string> {
  return getText(`http://127.0.0.1:${PORTS.eppMetrics}/metrics`);
}
const queued = async () => promSum(await epp(), QUEUE);
const outcome = async (o: string) => promSum(await epp(), WAITED, { outcome: o });

describe('flow control (featureGates: [flowControl])', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack([path.join(FIXTURES, 'flow-control')], PORTS, {
      simArgs: SIM,
      eppArgs: ['--config-file', path.join(FIXTURES, 'epp-config', 'flow-control.yaml')],
    });
  }, 180000);
  afterAll(async () => {
    await stack?.stop();
    closeAgent();
  });

  test('the upstream-style config serves requests', async () => {
    const r = await post(L, '/v1/completions', completion('hello', 2));
    expect(r.status).toBe(200);
    expect(r.servedBy).toBe('127.0.27.1:8000');
    expect(await outcome('Dispatched')).toBe(1);
  });

  test('held while saturated: queue, capacity 429, TTL 503, a client leaving the queue at once', async () => {
    // ~300 tokens × 20 ms ≈ 6 s in flight: the pool (1 endpoint × maxConcurrency 1) is saturated meanwhile
    const long = post(L, '/v1/completions', completion('long', 300));
    await waitFor('the long request dispatched', async () =>
      (await outcome('Dispatched')) === 2 ? true : undefined,
    );
    const t0 = performance.now();
    const waiting = [1, 2, 3].map((i) => post(L, '/v1/completions', completion(`queued ${i}`, 2)));
    await waitFor('three requests queued in the EPP', async () =>
      (await queued()) === 3 ? true : undefined,
    );
    const over = await post(L, '/v1/completions', completion('over', 2));
    expect(over.status).toBe(429);
    const timedOut = await Promise.all(waiting);
    const waitedMs = performance.now() - t0;
    expect(timedOut.map((r) => [r.status, r.body.includes('request timed out in queue')])).toEqual(
      Array(3).fill([503, true]),
    );
    expect(waitedMs).toBeGreaterThanOrEqual(1900);
    expect(await queued()).toBe(0);
    expect(await outcome('EvictedTTL')).toBe(3);
    expect(await outcome('RejectedCapacity')).toBe(1);

    // A client that gives up after 300 ms: its stream closes and the request leaves the queue then, not at its TTL.
    const sent = performance.now();
    const gone = post(L, '/v1/completions', completion('impatient', 2), {}, 300);
    await waitFor(
      'the impatient request queued',
      async () => ((await queued()) === 1 ? true : undefined),
      5000,
      10,
    );
    const r = await gone;
    expect(r.status).toBe(0); // the client's own timeout
    await waitFor('the queue to empty', async () => ((await queued()) === 0 ? true : undefined), 5000, 10);
    const leftMs = performance.now() - sent;
    expect(await outcome('EvictedContextCancelled')).toBe(1);
    expect(await outcome('EvictedTTL')).toBe(3);
    console.log(
      `e2e flow control: TTL 503s after ${Math.round(waitedMs)} ms; a hung-up client left the queue ${Math.round(leftMs)} ms after sending (client timeout 300 ms, TTL 2000 ms)`,
    );
    expect(leftMs).toBeLessThan(1900);

    expect((await long).status).toBe(200);
    // Nothing queued was dispatched later: only the first and the long request ever were.
    await waitFor('the EPP to see the long request complete', async () =>
      promSum(await epp(), 'inference_objective_running_requests') === 0 ? true : undefined,
    );
    expect(await outcome('Dispatched')).toBe(2);
    const after = await post(L, '/v1/completions', completion('after', 2));
    expect(after.status).toBe(200);
  }, 120000);
});
