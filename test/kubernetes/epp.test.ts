// epp --kubernetes on a real API server: the EPP reads its InferencePool and the Pods its selector matches (only
// those: a Pod of another app and a pool of another name are not its business), and follows readiness, deletion
// and a selector change. Candidates are read from its inference_pool_ready_pods gauge, inside the namespace.

import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cluster, clusterToolsMissing } from '../cluster/cluster';
import { tmpDir } from '../support/tmp';
import { POOL, curl, pod, pool, setPodStatus, until } from './fixtures';

const ROOT = path.resolve(__dirname, '../..');
const missing = clusterToolsMissing();
if (missing)
  console.log(`test/kubernetes/epp.test.ts skipped: scripts/cluster-tools.sh --check failed:\n${missing}`);
const suite = missing ? describe.skip : describe;

jest.setTimeout(180_000);

suite('epp --kubernetes', () => {
  let c: Cluster;
  let epp: ChildProcess;
  let eppLog = '';
  const dir = tmpDir('k8s-epp-');

  beforeAll(async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist/src/cli/main.js')))
      spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT });
    c = new Cluster(path.join(dir, 'cluster'));
    await c.up();
    const other = { ...pool, metadata: { name: 'other-pool', namespace: 'default' } };
    for (const o of [pool, other, pod('m-0'), pod('m-1'), pod('stranger', { app: 'something-else' })])
      await c.apply(o);
    await setPodStatus(c, 'm-0', '10.244.1.20', true);
    await setPodStatus(c, 'm-1', '10.244.1.21', true);
    await setPodStatus(c, 'stranger', '10.244.1.29', true);
    // --pool-name: upstream's flag name.
    epp = c.spawn([
      'node',
      'bin/infergate.js',
      'epp',
      '--kubernetes',
      '--pool-name',
      POOL,
      '--pool-namespace',
      'default',
      '--address',
      '127.0.0.1',
    ]);
    epp.stderr!.on('data', (d: Buffer) => (eppLog += d.toString()));
    epp.stdout!.on('data', (d: Buffer) => (eppLog += d.toString()));
  });

  afterAll(async () => {
    epp?.kill('SIGKILL');
    if (c) await c.down();
  });

  const readyPods = async (): Promise<number | undefined> => {
    const text = await curl(c, 'http://127.0.0.1:9090/metrics');
    const m = text.match(/^inference_pool_ready_pods\{[^}]*\} (\d+)/m);
    return m ? Number(m[1]) : undefined;
  };
  const becomes = (n: number, what: string) =>
    until(what, async () => ((await readyPods()) === n ? n : undefined), 60_000);

  test("its pool's pods are its candidates, and only those", async () => {
    await becomes(2, 'two ready pods');
    expect(eppLog).toMatch(/pool default\/vllm-llama3-8b-instruct \(Kubernetes\)/);
  });

  test('a pod made unready, deleted, or added moves the candidates', async () => {
    let t0 = Date.now();
    await setPodStatus(c, 'm-1', '10.244.1.21', false);
    await becomes(1, 'unready pod gone');
    console.log(`EPP: pod unready → out of candidates: ${Date.now() - t0} ms (kubectl included)`);
    await c.apply(pod('m-2'));
    await setPodStatus(c, 'm-2', '10.244.1.22', true);
    await becomes(2, 'new pod');
    t0 = Date.now();
    await c.kubectl(['delete', 'pod', 'm-2', '--grace-period=0', '--force']);
    await becomes(1, 'deleted pod gone');
    console.log(`EPP: pod deleted → out of candidates: ${Date.now() - t0} ms (kubectl included)`);
  });

  test('a selector change moves the candidates to the pods it now selects', async () => {
    await c.kubectl([
      'patch',
      'inferencepool',
      POOL,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { selector: { matchLabels: { app: 'something-else' } } } }),
    ]);
    await becomes(1, 'the stranger selected');
    await c.kubectl(['label', 'pod', 'stranger', 'app=elsewhere', '--overwrite']);
    await becomes(0, 'no pod selected');
  });
});
