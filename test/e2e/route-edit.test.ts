// A route edit under steady traffic (fixtures/route-edit copied to a temp dir, listener 21580): the control plane
// watches the files, so rewriting route.yaml must reach Envoy without failing a single request. How long the edit
// took is printed, not asserted (it depends on the machine); steady traffic is counted in requests, not seconds.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Stack } from '../../src/cli/stack';
import { tmpDir } from '../support/tmp';
import {
  FAST_SIM,
  FIXTURES,
  closeAgent,
  completion,
  post,
  type Sent,
  startStack,
  steadyLoad,
  suitePorts,
  waitFor,
} from './support';

const PORTS = suitePorts(21500, 21580);
const L = PORTS.listener;
const BLUE = ['127.0.25.1:8000', '127.0.25.2:8000'];
const GREEN = ['127.0.25.11:8000', '127.0.25.12:8000'];

/** Steady requests answered before the edit, and again after the new rule serves. */
const STEADY = 50;
const EDIT_DEADLINE_MS = 30000;

const ADDED_RULE = `    - matches:
        - path: { type: PathPrefix, value: /v1/completions }
          headers:
            - { name: x-e2e-color, value: green }
      backendRefs:
        - { group: inference.networking.k8s.io, kind: InferencePool, name: green }
`;

describe('route edit under steady traffic', () => {
  let stack: Stack;
  let routeFile: string;
  beforeAll(async () => {
    const dir = tmpDir('e2e-route-edit');
    for (const f of fs.readdirSync(path.join(FIXTURES, 'route-edit')))
      fs.copyFileSync(path.join(FIXTURES, 'route-edit', f), path.join(dir, f));
    routeFile = path.join(dir, 'route.yaml');
    stack = await startStack([dir], PORTS, { simArgs: FAST_SIM });
  }, 180000); // the whole stack starts part by part (30 s each at most); a busy machine is slow, not broken
  afterAll(async () => {
    await stack?.stop();
    closeAgent();
  });

  const failures = (replies: Sent[], t0: number) =>
    replies
      .filter((r) => r.reply.status !== 200)
      .map((r) => ({ status: r.reply.status, sentAfterEditMs: r.at - t0, ms: Math.round(r.reply.ms) }));

  test('adding a rule under steady traffic: the rule serves and no request fails', async () => {
    const load = steadyLoad(4, (i) => post(L, '/v1/completions', completion(`steady ${i}`)));
    await load.answered(STEADY);
    const green = () => post(L, '/v1/completions', completion('green?'), { 'x-e2e-color': 'green' });
    expect(BLUE).toContain((await green()).servedBy);
    const t0 = Date.now();
    fs.writeFileSync(routeFile, fs.readFileSync(routeFile, 'utf8').trimEnd() + '\n' + ADDED_RULE);
    await waitFor(
      'the added rule',
      async () => (GREEN.includes((await green()).servedBy ?? '') ? true : undefined),
      EDIT_DEADLINE_MS,
      25,
    );
    const ms = Date.now() - t0;
    await load.answered(STEADY, Date.now());
    const replies = await load.stop();
    console.log(`e2e route-edit: added rule serving after ${ms} ms; ${replies.length} steady requests`);
    expect(failures(replies, t0)).toEqual([]);
    expect(replies.every((r) => BLUE.includes(r.reply.servedBy ?? ''))).toBe(true);
  }, 180000);

  // The listener's filter chain does not depend on which pools routes use, and the pool's clusters stay
  // published for a retention period after their last route moved (make-before-break), so requests in flight
  // on the old pool finish.
  test('moving the only rule off a pool under traffic: the move serves and no request fails', async () => {
    const load = steadyLoad(4, (i) => post(L, '/v1/completions', completion(`steady ${i}`)));
    await load.answered(STEADY);
    const t0 = Date.now();
    fs.writeFileSync(routeFile, fs.readFileSync(routeFile, 'utf8').replace('name: blue }', 'name: green }'));
    const plain = () => post(L, '/v1/completions', completion('moved?'));
    await waitFor(
      'the moved rule',
      async () => (GREEN.includes((await plain()).servedBy ?? '') ? true : undefined),
      EDIT_DEADLINE_MS,
      25,
    );
    const ms = Date.now() - t0;
    // Past the old pool's in-flight requests and well into the new one's.
    await load.answered(STEADY, Date.now());
    const replies = await load.stop();
    const failed = failures(replies, t0);
    console.log(
      `e2e route-edit: moved rule serving after ${ms} ms; ${failed.length} of ${replies.length} steady ` +
        `requests failed: ${JSON.stringify(failed)}`,
    );
    expect(failed).toEqual([]);
    expect(BLUE).toContain(replies[0].reply.servedBy);
    expect(GREEN).toContain(replies[replies.length - 1].reply.servedBy);
  }, 180000);
});
