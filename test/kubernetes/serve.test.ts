// serve --kubernetes on a real API server: resources applied with kubectl reach a real Envoy (bootstrapped by
// compile --mode ads --gateway) over ADS; an unready or deleted pod leaves EDS; one object the API server accepts
// but our decoder rejects is rejected alone; an API server restart breaks the watches and they re-list.
// Everything that talks to the cluster runs inside its namespace (scripts/cluster exec).

import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cluster, clusterToolsMissing } from '../cluster/cluster';
import { tmpDir } from '../support/tmp';
import { curl, eppService, pod, pool, setPodStatus, until } from './fixtures';

const ROOT = path.resolve(__dirname, '../..');
const missing = clusterToolsMissing();
if (missing)
  console.log(`test/kubernetes/serve.test.ts skipped: scripts/cluster-tools.sh --check failed:\n${missing}`);
const suite = missing ? describe.skip : describe;

jest.setTimeout(180_000);

suite('serve --kubernetes', () => {
  let c: Cluster;
  let serve: ChildProcess;
  let envoy: ChildProcess;
  let serveLog = '';
  const dir = tmpDir('k8s-serve-');

  beforeAll(async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist/src/cli/main.js')))
      spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT });
    c = new Cluster(path.join(dir, 'cluster'));
    await c.up();
    await c.kubectl(['apply', '-f', path.join(ROOT, 'examples/quickstart/gateway.yaml')]);
    for (const o of [pool, eppService, pod('vllm-0'), pod('vllm-1')]) await c.apply(o);
    await setPodStatus(c, 'vllm-0', '10.244.1.10', true);
    await setPodStatus(c, 'vllm-1', '10.244.1.11', true);
    // Its own Envoy (bootstrapped by compile --mode ads): a user running their own fleet.
    serve = c.spawn(['node', 'bin/infergate.js', 'serve', '--kubernetes', '--disable-envoy-provisioning']);
    serve.stderr!.on('data', (d: Buffer) => (serveLog += d.toString()));
    serve.stdout!.on('data', (d: Buffer) => (serveLog += d.toString()));
    const boot = spawnSync(
      'node',
      [
        'bin/infergate.js',
        'compile',
        '--mode',
        'ads',
        '--gateway',
        'default/inference-gateway',
        '--admin-port',
        '19000',
        'examples/quickstart/gateway.yaml',
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    fs.writeFileSync(path.join(dir, 'envoy.yaml'), boot.stdout);
    envoy = c.spawn([
      path.join(ROOT, '.tools/bin/envoy'),
      '-c',
      path.join(dir, 'envoy.yaml'),
      '--base-id',
      '7',
      '-l',
      'warning',
      '--disable-hot-restart',
    ]);
    envoy.stderr!.on('data', () => undefined);
  });

  afterAll(async () => {
    serve?.kill('SIGTERM');
    envoy?.kill('SIGTERM');
    if (c) await c.down();
  });

  const endpoints = async () => {
    const text = await curl(c, 'http://127.0.0.1:19000/clusters');
    const out = new Set<string>();
    for (const m of text.matchAll(/^[^:\s]+::(10\.244\.\d+\.\d+:\d+)::health_flags::/gm)) out.add(m[1]);
    return text ? out : undefined;
  };

  test('the Gateway listener and the pool endpoints reach Envoy over ADS', async () => {
    const got = await until(
      'both pods in Envoy',
      async () => {
        const e = await endpoints();
        return e?.has('10.244.1.10:8000') && e.has('10.244.1.11:8000') ? e : undefined;
      },
      60_000,
    );
    expect([...got].sort()).toEqual(['10.244.1.10:8000', '10.244.1.11:8000']);
    const listeners = await curl(c, 'http://127.0.0.1:19000/listeners');
    expect(listeners).toMatch(/0\.0\.0\.0:8080/);
  });

  test('a pod made unready, then deleted, leaves EDS', async () => {
    let t0 = Date.now();
    await setPodStatus(c, 'vllm-1', '10.244.1.11', false);
    await until('unready pod out of EDS', async () =>
      (await endpoints())?.has('10.244.1.11:8000') ? undefined : true,
    );
    console.log(
      `pod unready → out of Envoy's EDS: ${Date.now() - t0} ms (kubectl patch + Envoy admin polling included)`,
    );
    await setPodStatus(c, 'vllm-1', '10.244.1.11', true);
    await until('pod back', async () => ((await endpoints())?.has('10.244.1.11:8000') ? true : undefined));
    t0 = Date.now();
    await c.kubectl(['delete', 'pod', 'vllm-1', '--grace-period=0', '--force']);
    await until('deleted pod out of EDS', async () =>
      (await endpoints())?.has('10.244.1.11:8000') ? undefined : true,
    );
    console.log(`pod deleted → out of Envoy's EDS: ${Date.now() - t0} ms`);
    expect((await endpoints())?.has('10.244.1.10:8000')).toBe(true);
  });

  test('one object the API server accepts but the decoder rejects is rejected alone', async () => {
    // The Gateway CRD has no rule for "from: Selector needs a selector"; our decoder does.
    await c.apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'bad-gw', namespace: 'default' },
      spec: {
        gatewayClassName: 'infergate',
        listeners: [
          { name: 'http', protocol: 'HTTP', port: 8081, allowedRoutes: { namespaces: { from: 'Selector' } } },
        ],
      },
    });
    const rejected = await until('bad-gw rejected', async () => {
      const s = JSON.parse((await curl(c, 'http://127.0.0.1:9091/debug/status')) || '{}');
      const rej = (s.inputs?.rejected ?? []) as { resource?: string; problems: string[] }[];
      return rej.some((r) => r.resource === 'Gateway default/bad-gw') ? rej : undefined;
    });
    expect(rejected.map((r) => r.resource)).toEqual(['Gateway default/bad-gw']);
    expect(rejected[0].problems.join('\n')).toMatch(/selector: required when from is Selector/);
    // Everything else still moves: a new pod reaches Envoy while the bad Gateway stays rejected.
    await c.apply(pod('vllm-2'));
    await setPodStatus(c, 'vllm-2', '10.244.1.12', true);
    await until('vllm-2 in EDS', async () =>
      (await endpoints())?.has('10.244.1.12:8000') ? true : undefined,
    );
  });

  test('--namespace and --controller-name scope what is compiled', async () => {
    // Another namespace: the default/inference-gateway Gateway is not seen. Another controller: our class is not
    // its class. Either way no Gateway is compiled, so nothing is published.
    const runs: [string[], number][] = [
      [['--namespace', 'kube-system'], 9092],
      [['--controller-name', 'example.com/other-controller'], 9093],
    ];
    for (const [flags, admin] of runs) {
      const p = c.spawn([
        'node',
        'bin/infergate.js',
        'serve',
        '--kubernetes',
        ...flags,
        '--xds-port',
        String(admin + 9000),
        '--admin-port',
        String(admin),
      ]);
      try {
        const groups = await until(`serve ${flags.join(' ')} up`, async () => {
          const t = await curl(c, `http://127.0.0.1:${admin}/debug/config`);
          return t ? Object.keys(JSON.parse(t)) : undefined;
        });
        expect(groups).toEqual([]);
      } finally {
        p.kill('SIGKILL');
      }
    }
    // The main serve (all namespaces, our controller) has it.
    const all = JSON.parse(await curl(c, 'http://127.0.0.1:9091/debug/config'));
    expect(Object.keys(all)).toContain('default/inference-gateway');
  });

  test('the API server restarted with its etcd compacted: watches break, get 410 Gone, re-list, converge', async () => {
    const relists = () => (serveLog.match(/"msg":"re-listing"[^\n]*410 Gone/g) ?? []).length;
    const before = relists();
    const pid = c.pid('kube-apiserver');
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    process.kill(pid, 'SIGKILL');
    const t0 = Date.now();
    // While it is down, etcd moves on and is compacted: every resourceVersion the watches hold has expired, so
    // the restarted server answers their resumption with 410 Gone and only a fresh list catches up.
    const etcd = ['etcdctl', '--endpoints', 'http://127.0.0.1:2379'];
    for (let i = 0; i < 3; i++) await c.exec([...etcd, 'put', '/infergate-test/tick', String(i)]);
    const rev = JSON.parse((await c.exec([...etcd, 'get', '/infergate-test/tick', '-w', 'json'])).stdout)
      .header.revision;
    expect((await c.exec([...etcd, 'compact', String(rev)])).code).toBe(0);
    // Started again inside the namespace with the same arguments; down stops it with the rest of the namespace.
    const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    await c.exec(['bash', '-c', `setsid ${quoted} >> ${c.dir}/logs/kube-apiserver.log 2>&1 < /dev/null &`]);
    await until(
      'apiserver ready',
      async () =>
        (await c.kubectl(['get', '--raw', '/readyz'], undefined, true)).code === 0 ? true : undefined,
      120_000,
    );
    // A change made after the restart reaches Envoy: the watches are back.
    await c.apply(pod('vllm-3'));
    await setPodStatus(c, 'vllm-3', '10.244.1.13', true);
    await until(
      'vllm-3 in EDS',
      async () => ((await endpoints())?.has('10.244.1.13:8000') ? true : undefined),
      60_000,
    );
    console.log(
      `API server killed + etcd compacted → a new pod in Envoy's EDS: ${Date.now() - t0} ms; re-lists after 410 Gone: ${relists() - before}`,
    );
    expect(relists()).toBeGreaterThan(before);
    const e = await endpoints();
    expect([...(e ?? [])].sort()).toEqual(['10.244.1.10:8000', '10.244.1.12:8000', '10.244.1.13:8000']);
  });
});
