// Two `serve --kubernetes` replicas on one API server: only the Lease holder writes status; SIGKILL it and the
// other replica writes the next change's status within the lease duration (15 s default).

import type { ChildProcess } from 'node:child_process';
import { waitFor } from '../../src/util/wait';
import { Cluster, clusterToolsMissing } from '../cluster/cluster';
import { tmpDir } from '../support/tmp';

const missing = clusterToolsMissing();
if (missing) console.log(`status-serve skipped: the pinned cluster binaries are not cached (${missing})`);
const describeCluster = missing ? describe.skip : describe;

const GW = 'gateway.networking.k8s.io';
const gateway = (name: string) => ({
  apiVersion: `${GW}/v1`,
  kind: 'Gateway',
  metadata: { name, namespace: 'default' },
  spec: { gatewayClassName: 'ig', listeners: [{ name: 'http', protocol: 'HTTP', port: 8080 }] },
});

interface Replica {
  child: ChildProcess;
  log: string;
}

describeCluster('serve --kubernetes replicas: one status writer, takeover when it dies', () => {
  jest.setTimeout(300_000);
  const cluster = new Cluster(tmpDir('status-serve'));
  const replicas: Replica[] = [];

  beforeAll(async () => {
    await cluster.up();
    await cluster.apply({
      apiVersion: `${GW}/v1`,
      kind: 'GatewayClass',
      metadata: { name: 'ig' },
      spec: { controllerName: 'infergate.io/gateway-controller' },
    });
    await cluster.apply(gateway('gw1'));
  }, 300_000);
  afterAll(async () => {
    for (const r of replicas) r.child.kill('SIGKILL');
    await cluster.down();
  }, 60_000);

  function serve(): Replica {
    const main =
      "require('./src/cli/main.ts').main(['serve','--kubernetes','--xds-port','0','--admin-port','0'])";
    const child = cluster.spawn(['node', '-r', 'ts-node/register/transpile-only', '-e', main]);
    const r: Replica = { child, log: '' };
    child.stdout?.on('data', (d: Buffer) => (r.log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (r.log += d.toString()));
    replicas.push(r);
    return r;
  }

  const accepted = async (name: string): Promise<boolean> => {
    const gw = await cluster.getJson<{ status?: { conditions?: { type: string; status: string }[] } }>([
      'gateway',
      name,
      '-n',
      'default',
    ]);
    return !!gw.status?.conditions?.some((c) => c.type === 'Accepted' && c.status === 'True');
  };
  const leading = (r: Replica) => r.log.includes('leading: this replica writes status');

  test('the first replica leads and writes; the second only after the first is SIGKILLed', async () => {
    const a = serve();
    await waitFor('replica a writes gw1 status', () => accepted('gw1'), { timeoutMs: 60_000 });
    expect(leading(a)).toBe(true);
    const b = serve();
    await waitFor('replica b serving', () => b.log.includes('xDS on'), { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 3000));
    expect(leading(b)).toBe(false);

    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await cluster.apply(gateway('gw2'));
    await waitFor('replica b writes gw2 status', () => accepted('gw2'), {
      timeoutMs: 60_000,
      everyMs: 200,
    });
    const took = Date.now() - killedAt;
    console.log(
      `status of a new Gateway written by the surviving replica ${took} ms after SIGKILL of the leader (lease 15 s)`,
    );
    expect(leading(b)).toBe(true);
  });
});
