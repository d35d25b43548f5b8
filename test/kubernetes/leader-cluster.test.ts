// Lease leader election on a real API server: two electors (child processes, client-node is ESM-only) on one Lease;
// exactly one leads; SIGKILL the leader → the other takes over after the lease expires; a clean stop hands over at once.

import type { ChildProcess } from 'node:child_process';
import { waitFor } from '../../src/util/wait';
import { Cluster, clusterToolsMissing } from '../cluster/cluster';
import { tmpDir } from '../support/tmp';

const missing = clusterToolsMissing();
if (missing) console.log(`leader-cluster skipped: the pinned cluster binaries are not cached (${missing})`);
const describeCluster = missing ? describe.skip : describe;

const LEASE_MS = 3000; // status-driver's elect mode: lease 3 s, renew deadline 2 s, retry 250 ms

interface Elector {
  id: string;
  child: ChildProcess;
  events: { what: string; at: number }[];
  exited: boolean;
}

describeCluster('Lease leader election on a real API server', () => {
  jest.setTimeout(300_000);
  const cluster = new Cluster(tmpDir('leader-cluster'));
  const electors: Elector[] = [];

  beforeAll(async () => {
    await cluster.up();
  }, 300_000);
  afterAll(async () => {
    for (const e of electors) if (!e.exited) e.child.kill('SIGKILL');
    await cluster.down();
  }, 60_000);

  function start(id: string): Elector {
    const child = cluster.spawn([
      'node',
      '-r',
      'ts-node/register/transpile-only',
      'test/kubernetes/status-driver.ts',
      'elect',
      id,
      'default',
      'infergate-status',
    ]);
    const e: Elector = { id, child, events: [], exited: false };
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const [what, who, at] = buf.slice(0, i).split(' ');
        buf = buf.slice(i + 1);
        if (who === id || what === 'leader') e.events.push({ what: `${what} ${who}`, at: Number(at) });
      }
    });
    child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[${id}] ${d.toString()}`));
    child.on('exit', () => (e.exited = true));
    electors.push(e);
    return e;
  }

  const leadingAt = (e: Elector): number | undefined =>
    e.events.find((x) => x.what === `leading ${e.id}`)?.at;
  const holder = async (): Promise<string | undefined> =>
    (
      await cluster.getJson<{ spec: { holderIdentity?: string } }>([
        'lease',
        'infergate-status',
        '-n',
        'default',
      ])
    ).spec.holderIdentity;

  test('one leader; killed leader taken over after the lease; clean stop hands over at once', async () => {
    const a = start('a');
    await waitFor('a leads', () => leadingAt(a) !== undefined, { timeoutMs: 60_000 });
    const b = start('b');
    // b runs for well over a lease duration while a renews: b must never lead.
    await waitFor('b sees a', () => b.events.some((x) => x.what === 'leader a'), { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 2 * LEASE_MS));
    expect(leadingAt(b)).toBeUndefined();
    expect(await holder()).toBe('a');

    // Killed without release: b takes over only once a's record has been still for a lease duration.
    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await waitFor('b takes over', () => leadingAt(b) !== undefined, { timeoutMs: 10 * LEASE_MS });
    const takeover = leadingAt(b)! - killedAt;
    console.log(`takeover after SIGKILL of the leader: ${takeover} ms (lease ${LEASE_MS} ms, retry 250 ms)`);
    expect(takeover).toBeGreaterThanOrEqual(LEASE_MS - 1000); // never before the lease could have expired
    expect(await holder()).toBe('b');

    // Clean stop (SIGTERM): b releases the Lease, c takes over on its next retry, well inside a lease duration.
    const c = start('c');
    await waitFor('c sees b', () => c.events.some((x) => x.what === 'leader b'), { timeoutMs: 60_000 });
    const stoppedAt = Date.now();
    b.child.kill('SIGTERM');
    await waitFor('c takes over', () => leadingAt(c) !== undefined, { timeoutMs: 10 * LEASE_MS });
    const handover = leadingAt(c)! - stoppedAt;
    console.log(`handover after a clean stop: ${handover} ms`);
    expect(b.events.map((x) => x.what)).toContain('stopped b');
    expect(b.events.find((x) => x.what === 'stopped b')!.at).toBeLessThanOrEqual(leadingAt(c)!);
    expect(await holder()).toBe('c');

    // Exactly one leader at any time: nobody started leading while the previous leader was alive.
    expect(leadingAt(b)!).toBeGreaterThan(killedAt);
    expect(leadingAt(c)!).toBeGreaterThan(stoppedAt);
  });
});
