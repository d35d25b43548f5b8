// A simulator killed under traffic (fixtures/sim-kill, listener 21680; one simulator process per pod): once the
// EPP reports the dead pod unreachable (although its Pod stays Ready), nothing is tried on it and nothing fails;
// fewer than 1% of all requests fail. "Tried" is read from Envoy's per-host counters of the pool cluster (connect
// failures, request errors and requests to the dead address). How fast the EPP noticed is printed, not asserted.

import * as path from 'node:path';
import type { Stack } from '../../src/cli/stack';
import {
  FAST_SIM,
  FIXTURES,
  closeAgent,
  completion,
  countBy,
  envoyHostStat,
  getText,
  post,
  promSum,
  startStack,
  steadyLoad,
  suitePorts,
  waitFor,
} from './support';

const DIR = path.join(FIXTURES, 'sim-kill');
const PORTS = suitePorts(21600, 21680);
const L = PORTS.listener;
const VICTIM = '127.0.26.2:8000';
const CLUSTER = 'inferencepool/e2e/fleet';
/** Steady requests answered before the kill, and after the EPP reported the pod unreachable. */
const BEFORE = 200;
const AFTER = 400;

async function attemptsOnVictim(): Promise<number> {
  const stats = await Promise.all(
    ['cx_connect_fail', 'rq_error', 'rq_total'].map((s) =>
      envoyHostStat(PORTS.envoyAdmin, CLUSTER, VICTIM, s),
    ),
  );
  return stats.reduce((a, b) => a + b, 0);
}

describe('simulator killed under traffic', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack([DIR], PORTS, { simArgs: FAST_SIM, simPerProcess: true });
  }, 180000); // the whole stack starts part by part (30 s each at most); a busy machine is slow, not broken
  afterAll(async () => {
    await stack?.stop();
    closeAgent();
  });

  const unreachable = async () =>
    promSum(
      await getText(`http://127.0.0.1:${PORTS.eppMetrics}/metrics`),
      'inference_pool_unreachable_endpoints',
    );

  // The EPP leaves an endpoint out of its candidates after 3 consecutive failed scrapes (50 ms apart), so the dead
  // pod stops being named soon after the kill although its Pod still reads Ready. What fails is what was in flight
  // on it (Envoy answers 503 "connection termination"), plus whatever the EPP sent there before exclusion.
  test('a pod killed under traffic: the others keep serving, the dead pod is left out, < 1% of requests fail', async () => {
    expect([...stack.children.keys()]).toContain(`simulator ${VICTIM}`);
    const load = steadyLoad(6, (i) => post(L, '/v1/completions', completion(`kill ${i}`, 4)));
    await load.answered(BEFORE);
    const attemptsBeforeKill = await attemptsOnVictim();
    await stack.stopChild(`simulator ${VICTIM}`, 'SIGKILL');
    const killedAt = Date.now(); // the process has exited: nothing sent from here on can reach it
    await waitFor(
      'the EPP to report the killed pod unreachable',
      async () => ((await unreachable()) > 0 ? true : undefined),
      30000,
      20,
    );
    const reportedAt = Date.now();
    // A request sent after the report is scheduled without the dead pod: once those sent earlier are answered,
    // Envoy's counters for the dead host must not move again.
    await load.settled(reportedAt);
    const attemptsAtReport = await attemptsOnVictim();
    await load.answered(AFTER, reportedAt);
    const attemptsAfter = await attemptsOnVictim();
    const replies = await load.stop();
    const failed = replies.filter((r) => r.reply.status !== 200);
    const byStatus = countBy(
      failed,
      (r) => `${r.reply.status}@${Math.floor((r.at - killedAt) / 250) * 250}ms`,
    );
    console.log(
      `e2e sim-kill: ${failed.length} of ${replies.length} requests failed ` +
        `(${((100 * failed.length) / replies.length).toFixed(2)}%) ${JSON.stringify(Object.fromEntries(byStatus))}; ` +
        `EPP reported the pod unreachable ${reportedAt - killedAt} ms after the kill (20 ms polls); ` +
        `${attemptsAtReport - attemptsBeforeKill} attempts on it after the kill, ${attemptsAfter - attemptsAtReport} after the report`,
    );
    if (failed.length)
      console.log(
        `e2e sim-kill: first failure body: ${failed[0].reply.body.slice(0, 200)} ${JSON.stringify(failed[0].reply.headers)}`,
      );
    expect(replies.filter((r) => r.at >= killedAt && r.reply.servedBy === VICTIM)).toEqual([]);
    expect(attemptsAfter - attemptsAtReport).toBe(0);
    expect(failed.filter((r) => r.at >= reportedAt)).toEqual([]);
    expect(failed.length / replies.length).toBeLessThan(0.01);
  }, 240000);
});
