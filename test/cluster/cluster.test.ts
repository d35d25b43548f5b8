// scripts/cluster against the real pinned control plane: CRD validation and defaults, Pods/Services/EndpointSlices
// with 10.244.x.y addresses, traffic inside the cluster's namespace only, two clusters side by side, clean down.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { waitFor } from '../../src/util/wait';
import { tmpDir } from '../support/tmp';
import { Cluster, clusterToolsMissing, processesIn } from './cluster';

const missing = clusterToolsMissing();
if (missing) console.log(`test/cluster skipped: the pinned cluster binaries are not cached (${missing})`);
const describeCluster = missing ? describe.skip : describe;

const POD_IP = '10.244.1.5';

const pool = (name: string, spec: object) => ({
  apiVersion: 'inference.networking.k8s.io/v1',
  kind: 'InferencePool',
  metadata: { name, namespace: 'default' },
  spec,
});

describeCluster('scripts/cluster', () => {
  jest.setTimeout(300_000);
  const a = new Cluster(tmpDir('cluster-a'));
  let netnsA = '';

  beforeAll(async () => {
    const r = await a.up();
    netnsA = a.netns();
    console.log(
      `scripts/cluster up: ${fs.readFileSync(path.join(a.dir, 'run/up-seconds'), 'utf8').trim()} s`,
    );
    expect(r.stderr).toMatch(/up in \d+ s/);
  }, 300_000);

  afterAll(async () => {
    await a.down();
  }, 60_000);

  test('exec keeps the caller’s cwd and environment and puts the pinned kubectl and helm on PATH', async () => {
    const cwd = tmpDir('cluster-cwd');
    const r = await a.exec(
      ['sh', '-c', 'pwd; echo "$PROBE"; echo "$KUBECONFIG"; kubectl version; helm version'],
      {
        cwd,
        env: { ...process.env, PROBE: 'kept' },
      },
    );
    expect(r.code).toBe(0);
    const [dir, probe, kubeconfig] = r.stdout.split('\n');
    expect(dir).toBe(fs.realpathSync(cwd));
    expect(probe).toBe('kept');
    expect(kubeconfig).toBe(path.join(a.dir, 'kubeconfig'));
    expect(r.stdout).toMatch(/Client Version: v1\.37\.2/);
    expect(r.stdout).toMatch(/Server Version: v1\.37\.2/);
    expect(r.stdout).toMatch(/v3\.22\.0/);
  });

  test('the InferencePool CRD’s CEL rules reject a bad pool with both messages', async () => {
    const bad = pool('bad', {
      selector: { matchLabels: { app: 'sim' } },
      targetPorts: [{ number: 8000 }, { number: 8000 }],
      endpointPickerRef: { name: 'epp' },
    });
    const r = await a.kubectl(['apply', '-f', '-'], JSON.stringify(bad), true);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('port number must be unique');
    expect(r.stderr).toContain("port is required when kind is 'Service' or unspecified");
  });

  test('a good InferencePool is stored with the CRD’s defaults', async () => {
    await a.apply(
      pool('good', {
        selector: { matchLabels: { app: 'sim' } },
        targetPorts: [{ number: 8000 }],
        endpointPickerRef: { name: 'epp', port: { number: 9002 } },
      }),
    );
    const got = await a.getJson<{ spec: { endpointPickerRef: Record<string, unknown> } }>([
      'inferencepool',
      'good',
    ]);
    expect(got.spec.endpointPickerRef).toMatchObject({ kind: 'Service', failureMode: 'FailClose' });
    expect(got.spec).toMatchObject({ appProtocol: 'http' });
  });

  test('a Pod patched Ready on 10.244.1.5 gets into its Service’s EndpointSlice; a loopback address is refused', async () => {
    await a.apply({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-1' },
      spec: { podCIDR: '10.244.1.0/24' },
    });
    await a.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'sim-0', namespace: 'default', labels: { app: 'sim' } },
      spec: {
        nodeName: 'node-1',
        containers: [{ name: 'sim', image: 'infergate:test', ports: [{ containerPort: 8000 }] }],
      },
    });
    const now = new Date().toISOString();
    const status = {
      phase: 'Running',
      podIP: POD_IP,
      podIPs: [{ ip: POD_IP }],
      startTime: now,
      conditions: ['Initialized', 'PodScheduled', 'ContainersReady', 'Ready'].map((type) => ({
        type,
        status: 'True',
        lastTransitionTime: now,
      })),
      containerStatuses: [
        {
          name: 'sim',
          image: 'infergate:test',
          imageID: '',
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: now } },
        },
      ],
    };
    const patch = [
      'patch',
      'pod',
      'sim-0',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status }),
    ];
    await a.kubectl(patch);
    await a.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'sim', namespace: 'default' },
      spec: { selector: { app: 'sim' }, ports: [{ port: 8000, targetPort: 8000 }] },
    });
    // The controller manager's EndpointSlice controller publishes the Ready pod's address.
    const addresses = await waitFor(
      'EndpointSlice for Service sim',
      async () => {
        const list = await a.getJson<{
          items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[];
        }>(['endpointslices', '-l', 'kubernetes.io/service-name=sim']);
        const ready = list.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready);
        return ready.length > 0 ? ready.flatMap((e) => e.addresses) : undefined;
      },
      { timeoutMs: 60_000, everyMs: 500 },
    );
    expect(addresses).toEqual([POD_IP]);

    const slice = (name: string, ip: string) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': 'manual' } },
      addressType: 'IPv4',
      ports: [{ port: 8000, protocol: 'TCP' }],
      endpoints: [{ addresses: [ip], conditions: { ready: true } }],
    });
    await a.apply(slice('manual-1', '10.244.1.6'));
    const loop = await a.kubectl(['apply', '-f', '-'], JSON.stringify(slice('manual-2', '127.0.0.5')), true);
    expect(loop.code).not.toBe(0);
    expect(loop.stderr).toMatch(/loopback/);
  });

  test('a server bound to 10.244.1.5 answers exec’d curl and node, and nothing outside the namespace', async () => {
    const server = a.spawn([
      'node',
      '-e',
      `require('http').createServer((q, s) => s.end('pod ' + q.socket.localAddress)).listen(8000, '${POD_IP}')`,
    ]);
    const exited = new Promise((resolve) => server.on('exit', resolve));
    try {
      const curl = await waitFor(
        `server on ${POD_IP}:8000`,
        async () => {
          const r = await a.exec(['curl', '-sf', '--max-time', '2', `http://${POD_IP}:8000/`]);
          return r.code === 0 ? r.stdout : undefined;
        },
        { timeoutMs: 30_000, everyMs: 200 },
      );
      expect(curl).toBe(`pod ${POD_IP}`);
      const viaNode = await a.exec([
        'node',
        '-e',
        `fetch('http://${POD_IP}:8000/').then((r) => r.text()).then((t) => process.stdout.write(t))`,
      ]);
      expect(viaNode.stdout).toBe(`pod ${POD_IP}`);
      // This test process lives in another network namespace: the server is not there (on a host with a default
      // route something else may answer, e.g. an egress proxy, but never our server).
      const outside = await fetch(`http://${POD_IP}:8000/`, { signal: AbortSignal.timeout(2000) })
        .then((r) => r.text())
        .catch((err: Error) => `unreachable: ${err.message}`);
      expect(outside).not.toBe(`pod ${POD_IP}`);
    } finally {
      server.kill('SIGTERM');
      await exited;
    }
  });

  test('a second cluster coexists with its own objects, and down cleans it up after a crash', async () => {
    const b = new Cluster(tmpDir('cluster-b'));
    try {
      await b.up();
      expect(b.netns()).not.toBe(netnsA);
      await a.kubectl(['create', 'configmap', 'only-in-a']);
      expect((await b.kubectl(['get', 'configmap', 'only-in-a'], undefined, true)).code).not.toBe(0);
      expect((await a.kubectl(['get', 'configmap', 'only-in-a'])).code).toBe(0);
      // A crash: the namespace holder and the API server die; etcd and the others keep the namespace alive.
      process.kill(b.pid('holder'), 'SIGKILL');
      process.kill(b.pid('kube-apiserver'), 'SIGKILL');
      expect(processesIn(b.netns()).length).toBeGreaterThan(0);
    } finally {
      const r = await b.down();
      expect(r.code).toBe(0);
    }
    expect(processesIn(b.netns())).toEqual([]);
    // Cluster a did not notice.
    expect((await a.kubectl(['get', '--raw', '/readyz'])).stdout).toBe('ok');
  });

  test('down stops every process in the namespace, so the namespace is gone', async () => {
    const leftover = a.spawn(['sleep', '600']);
    await waitFor('exec’d sleep', () => processesIn(netnsA).includes(leftover.pid ?? -1), {
      timeoutMs: 10_000,
    });
    const r = await a.down();
    expect(r.code).toBe(0);
    expect(processesIn(netnsA)).toEqual([]);
    const exec = await a.exec(['true']);
    expect(exec.code).not.toBe(0);
    expect(exec.stderr).toMatch(/no cluster running/);
  });
});
