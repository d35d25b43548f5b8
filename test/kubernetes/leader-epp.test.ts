// epp --kubernetes --ha-enable-leader-election, two replicas on one pool: upstream's Lease name, only the leader
// Ready (readiness and ext_proc SERVING), liveness SERVING on both; a clean stop hands readiness to the other.

import type { ChildProcess } from 'node:child_process';
import { waitFor } from '../../src/util/wait';
import { Cluster, clusterToolsMissing } from '../cluster/cluster';
import { tmpDir } from '../support/tmp';
import { POOL, pool } from './fixtures';

const missing = clusterToolsMissing();
if (missing) console.log(`leader-epp skipped: the pinned cluster binaries are not cached (${missing})`);
const describeCluster = missing ? describe.skip : describe;

const SERVING = 1;
const NOT_SERVING = 2;
const EXT_PROC = 'envoy.service.ext_proc.v3.ExternalProcessor';
type Health = Record<string, number | string>;

describeCluster('epp --ha-enable-leader-election: only the leader is Ready', () => {
  jest.setTimeout(300_000);
  const cluster = new Cluster(tmpDir('leader-epp'));
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    await cluster.up();
    await cluster.apply(pool);
  }, 300_000);
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await cluster.down();
  }, 60_000);

  function epp(base: number): { child: ChildProcess; log: () => string } {
    const args = [
      'epp',
      '--kubernetes',
      '--pool-name',
      POOL,
      '--pool-namespace',
      'default',
      '--ha-enable-leader-election',
    ];
    const ports = [
      '--address',
      '127.0.0.1',
      '--grpc-port',
      String(base),
      '--health-port',
      String(base + 1),
      '--metrics-port',
      String(base + 2),
    ];
    const main = `require('./src/cli/main.ts').main(${JSON.stringify([...args, ...ports])})`;
    const child = cluster.spawn(['node', '-r', 'ts-node/register/transpile-only', '-e', main]);
    let log = '';
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    children.push(child);
    return { child, log: () => log };
  }

  async function health(port: number): Promise<Health> {
    const r = await cluster.exec([
      'node',
      '-r',
      'ts-node/register/transpile-only',
      'test/kubernetes/status-driver.ts',
      'health',
      String(port),
    ]);
    if (r.code !== 0) throw new Error(`health probe failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as Health;
  }
  const ready = (h: Health) => h.readiness === SERVING && h[EXT_PROC] === SERVING;

  test('one Ready replica; the other takes readiness after a clean stop', async () => {
    const a = epp(19002);
    await waitFor('a ready', async () => ready(await health(19003)), { timeoutMs: 60_000, everyMs: 500 });
    const b = epp(29002);
    await waitFor('b live', async () => (await health(29003)).liveness === SERVING, {
      timeoutMs: 60_000,
      everyMs: 500,
    });
    await new Promise((r) => setTimeout(r, 3000));
    const hb = await health(29003);
    expect(hb).toMatchObject({ liveness: SERVING, readiness: NOT_SERVING, [EXT_PROC]: NOT_SERVING });
    expect(ready(await health(19003))).toBe(true);
    const lease = await cluster.getJson<{ spec: { holderIdentity: string } }>([
      'lease',
      `epp-default-${POOL}.gateway-api-inference-extension.sigs.k8s.io`,
      '-n',
      'default',
    ]);
    expect(lease.spec.holderIdentity).toMatch(/_\d+$/);

    const stoppedAt = Date.now();
    a.child.kill('SIGTERM');
    await waitFor('b ready', async () => ready(await health(29003)), { timeoutMs: 60_000, everyMs: 250 });
    console.log(
      `EPP readiness moved to the other replica ${Date.now() - stoppedAt} ms after SIGTERM of the leader`,
    );
    expect(b.log()).toContain('leading: ready');
  });
});
