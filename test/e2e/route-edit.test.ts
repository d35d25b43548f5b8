// A route edit under steady traffic (fixtures/route-edit copied to a temp dir, listener 21580): the control plane
// watches the files, so rewriting route.yaml must reach Envoy within ~2 s without failing a single request.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Stack } from '../../src/cli/stack';
import {
  FAST_SIM,
  FIXTURES,
  closeAgent,
  completion,
  post,
  type Reply,
  sleep,
  startStack,
  steadyLoad,
  suitePorts,
  waitFor,
} from './support';

const PORTS = suitePorts(21500, 21580);
const L = PORTS.listener;
const BLUE = ['127.0.25.1:8000', '127.0.25.2:8000'];
const GREEN = ['127.0.25.11:8000', '127.0.25.12:8000'];

const ADDED_RULE = `    - matches:
        - path: { type: PathPrefix, value: /v1/completions }
          headers:
            - { name: x-e2e-color, value: green }
      backendRefs:
        - { group: inference.networking.k8s.io, kind: InferencePool, name: green }
`;

describe('route edit under steady traffic', () => {
  let stack: Stack;
  let dir: string;
  let routeFile: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-e2e-route-edit-'));
    for (const f of fs.readdirSync(path.join(FIXTURES, 'route-edit')))
      fs.copyFileSync(path.join(FIXTURES, 'route-edit', f), path.join(dir, f));
    routeFile = path.join(dir, 'route.yaml');
    stack = await startStack([dir], PORTS, { simArgs: FAST_SIM });
  }, 60000);
  afterAll(async () => {
    await stack?.stop();
    closeAgent();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const failures = (replies: { at: number; reply: Reply }[], t0: number) =>
    replies
      .filter((r) => r.reply.status !== 200)
      .map((r) => ({ status: r.reply.status, sentAfterEditMs: r.at - t0, ms: Math.round(r.reply.ms) }));

  test('adding a rule under steady traffic: it serves within 2 s and no request fails', async () => {
    const load = steadyLoad(4, (i) => post(L, '/v1/completions', completion(`steady ${i}`)), 30000);
    await sleep(500);
    const green = () => post(L, '/v1/completions', completion('green?'), { 'x-e2e-color': 'green' });
    expect(BLUE).toContain((await green()).servedBy);
    const t0 = Date.now();
    fs.writeFileSync(routeFile, fs.readFileSync(routeFile, 'utf8').trimEnd() + '\n' + ADDED_RULE);
    await waitFor(
      'the added rule',
      async () => (GREEN.includes((await green()).servedBy ?? '') ? true : undefined),
      5000,
      25,
    );
    const ms = Date.now() - t0;
    await sleep(500);
    const replies = await load.stop();
    console.log(`e2e route-edit: added rule serving after ${ms} ms; ${replies.length} steady requests`);
    expect(replies.length).toBeGreaterThan(100);
    expect(failures(replies, t0)).toEqual([]);
    expect(ms).toBeLessThan(2000);
    expect(replies.every((r) => BLUE.includes(r.reply.servedBy ?? ''))).toBe(true);
  }, 30000);

  // The listener's filter chain does not depend on which pools routes use, and the pool's clusters stay
  // published for a retention period after their last route moved (make-before-break), so requests in flight
  // on the old pool finish.
  test('moving the only rule off a pool under traffic: serves within 2 s and no request fails', async () => {
    const load = steadyLoad(4, (i) => post(L, '/v1/completions', completion(`steady ${i}`)), 30000);
    await sleep(500);
    const t0 = Date.now();
    fs.writeFileSync(routeFile, fs.readFileSync(routeFile, 'utf8').replace('name: blue }', 'name: green }'));
    const plain = () => post(L, '/v1/completions', completion('moved?'));
    await waitFor(
      'the moved rule',
      async () => (GREEN.includes((await plain()).servedBy ?? '') ? true : undefined),
      5000,
      25,
    );
    const ms = Date.now() - t0;
    await sleep(1500);
    const replies = await load.stop();
    const failed = failures(replies, t0);
    console.log(
      `e2e route-edit: moved rule serving after ${ms} ms; ${failed.length} of ${replies.length} steady ` +
        `requests failed: ${JSON.stringify(failed)}`,
    );
    expect(ms).toBeLessThan(2000);
    expect(replies.length).toBeGreaterThan(100);
    expect(failed).toEqual([]);
    expect(BLUE).toContain(replies[0].reply.servedBy);
    expect(GREEN).toContain(replies[replies.length - 1].reply.servedBy);
  }, 30000);
});
