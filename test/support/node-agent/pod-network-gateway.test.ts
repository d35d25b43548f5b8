// infergate's own stack on the bridge pod network, laid out as the upstream conformance suite does it: two Gateways
// of one class, each with a managed Envoy on 0.0.0.0:80 (admin 127.0.0.1:19000), an EPP Pod and simulator Pods all
// on 0.0.0.0, the control plane run in the cluster namespace on a host address; each Gateway answers at the address
// its status reports (the Envoy Service's ClusterIP), through the agent's Service proxy.

import * as path from 'node:path';

import { waitFor } from '../../../src/util/wait';
import { Cluster, clusterToolsMissing } from '../../cluster/cluster';
import { tmpDir } from '../tmp';

const missing = clusterToolsMissing();
if (missing)
  console.log(`pod-network-gateway test skipped: the pinned cluster binaries are not cached (${missing})`);
const describeCluster = missing ? describe.skip : describe;

const GW = 'gateway.networking.k8s.io';
const INF = 'inference.networking.k8s.io';
const IMAGE = 'ghcr.io/infergate/infergate:dev';
const HOST = '10.244.0.10';
const BODY = JSON.stringify({ model: 'sim-model', prompt: 'Say hello', max_tokens: 2 });

const deployment = (name: string, replicas: number, container: object) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [container] } },
  },
});

const gateway = (name: string) => ({
  apiVersion: `${GW}/v1`,
  kind: 'Gateway',
  metadata: { name },
  spec: { gatewayClassName: 'infergate', listeners: [{ name: 'http', protocol: 'HTTP', port: 80 }] },
});
const route = (name: string, gw: string) => ({
  apiVersion: `${GW}/v1`,
  kind: 'HTTPRoute',
  metadata: { name },
  spec: {
    parentRefs: [{ name: gw }],
    rules: [{ backendRefs: [{ group: INF, kind: 'InferencePool', name: 'pool' }] }],
  },
});

describeCluster('bridge pod network: two Gateways on port 80, an EPP and simulators on 0.0.0.0', () => {
  jest.setTimeout(300_000);
  const work = tmpDir('pod-network-gateway');
  const c = new Cluster(path.join(work, 'cluster'));
  const children: ReturnType<Cluster['spawn']>[] = [];
  const logs: Record<string, string> = {};

  const start = (name: string, cmd: string[]) => {
    const child = c.spawn(cmd);
    logs[name] = '';
    child.stdout?.on('data', (d: Buffer) => (logs[name] += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (logs[name] += d.toString()));
    children.push(child);
  };

  beforeAll(async () => {
    await c.up({ podNetwork: 'bridge' });
    start('agent', [
      'node',
      '-r',
      'ts-node/register/transpile-only',
      path.join(__dirname, 'main.ts'),
      '--node',
      'node-a',
      '--pod-cidr',
      '10.244.1.0/24',
    ]);
    // The EPP reads its pool and Pods with the default service account (what it may read is not under test here).
    await c.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'default-admin' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'default' }],
    });
    // The control plane in the cluster namespace, reached by the Envoy Pods through a Service on its host address.
    await c.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'infergate' },
      spec: { ports: [{ name: 'xds', port: 18000, appProtocol: 'kubernetes.io/h2c' }] },
    });
    await c.apply({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'infergate-1', labels: { 'kubernetes.io/service-name': 'infergate' } },
      addressType: 'IPv4',
      ports: [{ name: 'xds', port: 18000 }],
      endpoints: [{ addresses: [HOST], conditions: { ready: true } }],
    });
    start('serve', [
      'node',
      'bin/infergate.js',
      'serve',
      '--kubernetes',
      '--xds-address',
      HOST,
      '--envoy-xds-address',
      'infergate.default.svc.cluster.local:18000',
    ]);
    await c.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'envoy-params' },
      data: { serviceType: 'ClusterIP', replicas: '1', logLevel: 'warning' },
    });
    await c.apply({
      apiVersion: `${GW}/v1`,
      kind: 'GatewayClass',
      metadata: { name: 'infergate' },
      spec: {
        controllerName: 'infergate.io/gateway-controller',
        parametersRef: { group: '', kind: 'ConfigMap', name: 'envoy-params', namespace: 'default' },
      },
    });
    for (const gw of ['gw-a', 'gw-b']) {
      await c.apply(gateway(gw));
      await c.apply(route(gw, gw));
    }
    await c.apply({
      apiVersion: `${INF}/v1`,
      kind: 'InferencePool',
      metadata: { name: 'pool' },
      spec: {
        selector: { matchLabels: { app: 'sim' } },
        targetPorts: [{ number: 3000 }],
        endpointPickerRef: { name: 'pool-epp', port: { number: 9002 } },
      },
    });
    // No --address: the EPP binds 0.0.0.0:9002/9003, as the conformance suite's EPPs do.
    await c.apply(
      deployment('pool-epp', 1, {
        name: 'epp',
        image: IMAGE,
        args: ['epp', '--kubernetes', '--pool-name', 'pool', '--pool-namespace', 'default'],
        readinessProbe: { grpc: { port: 9003, service: 'readiness' }, periodSeconds: 1 },
      }),
    );
    await c.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'pool-epp' },
      spec: {
        selector: { app: 'pool-epp' },
        ports: [{ name: 'grpc', port: 9002, appProtocol: 'kubernetes.io/h2c' }],
      },
    });
    await c.apply(
      deployment('sim', 3, {
        name: 'vllm',
        image: IMAGE,
        args: ['sim', '--address', '0.0.0.0', '--port', '3000', '--model', 'sim-model'],
        readinessProbe: { httpGet: { path: '/health', port: 3000 }, periodSeconds: 1, failureThreshold: 1 },
      }),
    );
  }, 300_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGTERM');
    if (process.env.NODE_AGENT_LOG) for (const [k, v] of Object.entries(logs)) console.log(`${k} log:\n${v}`);
    await c.down();
  }, 60_000);

  test('each Gateway answers at its status address (a ClusterIP, port 80) from its own Envoy Pod', async () => {
    const envoyIPs = new Set<string>();
    for (const gw of ['gw-a', 'gw-b']) {
      const address = await waitFor(
        `${gw} status address`,
        async () => {
          const g = await c.getJson<{ status?: { addresses?: { value: string }[] } }>(['gateway', gw]);
          return g.status?.addresses?.[0]?.value;
        },
        { timeoutMs: 120_000, everyMs: 1000 },
      );
      expect(address).toMatch(/^10\.96\./);
      const head = await waitFor(
        `a 200 from ${gw} at ${address}:80`,
        async () => {
          const r = await c.exec(
            [
              'curl',
              '-s',
              '-o',
              '/dev/null',
              '-D',
              '-',
              '--max-time',
              '10',
              '-H',
              'content-type: application/json',
              '--data-binary',
              '@-',
              `http://${address}/v1/completions`,
            ],
            { input: BODY },
          );
          return /^HTTP\/1\.1 200/.test(r.stdout) ? r.stdout : undefined;
        },
        { timeoutMs: 120_000, everyMs: 1000 },
      );
      expect(head).toMatch(/^x-infergate-sim: 0\.0\.0\.0:3000\r?$/im);
      expect(head).toMatch(/^server: envoy\r?$/im);
      const pods = await c.getJson<{ items: { status: { podIP?: string } }[] }>([
        'pods',
        '-l',
        `gateway.networking.k8s.io/gateway-name=${gw}`,
      ]);
      for (const p of pods.items) if (p.status.podIP) envoyIPs.add(p.status.podIP);
    }
    // Two Envoy Pods, each with its own :80 and admin :19000.
    expect(envoyIPs.size).toBe(2);
  });
});
