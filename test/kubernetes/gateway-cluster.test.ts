// The whole product on a real API server: two `serve --kubernetes` replicas (host processes in the cluster's
// namespace, behind a Service), and as Pods run by the node agent — the Envoy the controller provisions for the
// Gateway, the EPP (`epp --kubernetes`) and simulator Deployments. Resources applied with kubectl become traffic
// through the managed Envoy and status as the specs say; pods added, made unready or deleted reach EDS and the EPP's
// candidates (measured and printed); a selector change moves traffic; the status leader SIGKILLed under a steady
// load loses no request and the other replica takes over; the Gateway deleted takes its fleet with it.

import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { waitFor } from '../../src/util/wait';
import { Cluster, clusterToolsMissing } from '../cluster/cluster';
import { tmpDir } from '../support/tmp';
import { leaseHolderPid, postThrough, startNodeAgent, steadyLoad } from './fixtures';

const missing = clusterToolsMissing();
if (missing) console.log(`gateway-cluster skipped: the pinned cluster binaries are not cached (${missing})`);
const describeCluster = missing ? describe.skip : describe;

const GW = 'gateway.networking.k8s.io';
const INF = 'inference.networking.k8s.io';
const FLEET = 'infergate-inference-gateway';
const GATEWAY_URL = `http://${FLEET}.default.svc.cluster.local:8080`;
const BODY = JSON.stringify({ model: 'sim-model', prompt: 'Say hello', max_tokens: 2 });
// serve's Lease timing here: a takeover within a few seconds instead of client-go's 15 s default.
const LEASE = ['--leader-elect-lease-duration', '4s', '--leader-elect-renew-deadline', '3s'];
const REPLICAS = ['10.244.0.10', '10.244.0.11'];

type Condition = {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
};
interface Obj {
  metadata: { name: string; generation?: number; uid?: string };
  spec?: Record<string, unknown>;
  status?: {
    conditions?: Condition[];
    addresses?: { type: string; value: string }[];
    listeners?: { name: string; attachedRoutes: number; conditions: Condition[] }[];
    parents?: {
      parentRef: { name: string; namespace?: string };
      controllerName?: string;
      conditions: Condition[];
    }[];
    readyReplicas?: number;
    podIP?: string;
  };
}

/** One of our GatewayClasses, sized by the ConfigMap default/PARAMS. */
const gatewayClass = (name: string, params: string) => ({
  apiVersion: `${GW}/v1`,
  kind: 'GatewayClass',
  metadata: { name },
  spec: {
    controllerName: 'infergate.io/gateway-controller',
    parametersRef: { group: '', kind: 'ConfigMap', name: params, namespace: 'default' },
  },
});

const gateway = (name: string, className: string, listeners: object[], extra: object = {}) => ({
  apiVersion: `${GW}/v1`,
  kind: 'Gateway',
  metadata: { name, namespace: 'default' },
  spec: { gatewayClassName: className, ...extra, listeners },
});

/** An HTTPRoute to InferencePool POOL from PARENT (a parentRef: name, optional sectionName). */
const httpRoute = (
  name: string,
  parent: { name: string; sectionName?: string },
  pool: string,
  hostnames?: string[],
) => ({
  apiVersion: `${GW}/v1`,
  kind: 'HTTPRoute',
  metadata: { name, namespace: 'default' },
  spec: {
    parentRefs: [parent],
    ...(hostnames ? { hostnames } : {}),
    rules: [{ backendRefs: [{ group: INF, kind: 'InferencePool', name: pool }] }],
  },
});

const inferencePool = (name: string, app: string, epp: string, failureMode?: string) => ({
  apiVersion: `${INF}/v1`,
  kind: 'InferencePool',
  metadata: { name, namespace: 'default' },
  spec: {
    selector: { matchLabels: { app } },
    targetPorts: [{ number: 8000 }],
    endpointPickerRef: { name: epp, port: { number: 9002 }, ...(failureMode ? { failureMode } : {}) },
  },
});

const sim = (name: string, replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default' },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name, pool: 'llm' } },
      spec: {
        containers: [
          {
            name: 'vllm',
            image: 'ghcr.io/infergate/infergate:dev',
            args: ['sim', '--address', '$(POD_IP)', '--port', '8000', '--model', 'sim-model'],
            env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
            readinessProbe: {
              httpGet: { path: '/health', port: 8000 },
              periodSeconds: 1,
              failureThreshold: 1,
            },
          },
        ],
      },
    },
  },
});

describeCluster('serve --kubernetes end to end: managed Envoy → EPP → simulator Pods', () => {
  jest.setTimeout(600_000);
  const work = tmpDir('gateway-cluster');
  const c = new Cluster(path.join(work, 'cluster'));
  const serves = new Map<string, { child: ChildProcess; log: string; exited: boolean }>();
  let agent: ReturnType<typeof startNodeAgent> | undefined;

  const get = (args: string[]) => c.getJson<Obj>(args);
  const cond = (o: Obj, type: string) => o.status?.conditions?.find((x) => x.type === type);

  function startServe(ip: string): void {
    const child = c.spawn([
      'node',
      'bin/infergate.js',
      'serve',
      '--kubernetes',
      '--xds-address',
      ip,
      '--envoy-xds-address',
      'infergate.default.svc.cluster.local:18000',
      ...LEASE,
      '--leader-elect-retry-period',
      '500ms',
    ]);
    const s = { child, log: '', exited: false };
    child.stdout?.on('data', (d: Buffer) => (s.log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (s.log += d.toString()));
    child.on('exit', () => (s.exited = true));
    serves.set(ip, s);
  }

  /** The replica holding the status Lease. */
  async function leaderIp(): Promise<string | undefined> {
    const pid = await leaseHolderPid(c, 'default', 'infergate-status-writer');
    for (const [ip, s] of serves) if (!s.exited && s.child.pid === pid) return ip;
    return undefined;
  }

  const post = () => postThrough(c, `${GATEWAY_URL}/v1/completions`, BODY);

  async function podIps(app: string): Promise<Set<string>> {
    const list = await c.getJson<{ items: Obj[] }>(['pods', '-l', `app=${app}`]);
    return new Set(list.items.map((p) => p.status?.podIP).filter((x): x is string => !!x));
  }

  async function eppMetricsUrl(): Promise<string> {
    const ip = [...(await podIps('pool-epp'))][0];
    return `http://${ip}:9090/metrics`;
  }

  /** Runs the propagation probe while ACTION happens; returns its timings (ms since the probe started). */
  async function propagation(selector: string, want: number, action: () => Promise<unknown>) {
    const probe = c.spawn([
      'node',
      '-r',
      'ts-node/register/transpile-only',
      'test/kubernetes/tools/propagation.ts',
      'default',
      selector,
      String(want),
      'http://127.0.0.1:19000',
      await eppMetricsUrl(),
      '8000',
      '60000',
    ]);
    let out = '';
    let exited = false;
    const exit = new Promise<void>((resolve) =>
      probe.on('exit', () => {
        exited = true;
        resolve();
      }),
    );
    probe.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    probe.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('the propagation probe to watch', () => out.includes('watching'), {
      timeoutMs: 60_000,
      abortIf: () => (exited ? `the probe exited: ${out}` : undefined),
    });
    await new Promise((r) => setTimeout(r, 500)); // the watch's initial list is in
    await action();
    await exit;
    const line = out.trim().split('\n').pop()!;
    return JSON.parse(line) as { api?: number; eds?: number; epp?: number };
  }

  beforeAll(async () => {
    await c.up();
    agent = startNodeAgent(c);
    // The EPP Pod reads its pool and Pods with the default service account: least privilege, as a chart would grant.
    await c.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'epp', namespace: 'default' },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [INF], resources: ['inferencepools'], verbs: ['get', 'list', 'watch'] },
        {
          apiGroups: ['inference.networking.x-k8s.io'],
          resources: ['inferencepools', 'inferenceobjectives', 'inferencemodelrewrites', 'inferencemodels'],
          verbs: ['get', 'list', 'watch'],
        },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
      ],
    });
    await c.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'epp', namespace: 'default' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'epp' },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'default' }],
    });
    // The control plane's Service: both replicas, so the managed Envoys reach either by name.
    await c.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'infergate', namespace: 'default' },
      spec: { ports: [{ name: 'xds', port: 18000, appProtocol: 'kubernetes.io/h2c' }] },
    });
    await c.apply({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'infergate-1',
        namespace: 'default',
        labels: { 'kubernetes.io/service-name': 'infergate' },
      },
      addressType: 'IPv4',
      ports: [{ name: 'xds', port: 18000 }],
      endpoints: REPLICAS.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    });
    for (const ip of REPLICAS) startServe(ip);
    await waitFor('a status leader', () => leaderIp(), { timeoutMs: 60_000, everyMs: 250 });

    await c.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'envoy-params', namespace: 'default' },
      data: { serviceType: 'ClusterIP', replicas: '1', logLevel: 'warning' },
    });
    await c.apply(gatewayClass('infergate', 'envoy-params'));
    await c.apply(
      gateway('inference-gateway', 'infergate', [{ name: 'http', protocol: 'HTTP', port: 8080 }], {
        infrastructure: { labels: { team: 'llm' } },
      }),
    );
    await c.apply(httpRoute('llm', { name: 'inference-gateway' }, 'pool'));
    await c.apply(inferencePool('pool', 'sim-a', 'pool-epp', 'FailClose'));
    await c.apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'pool-epp', namespace: 'default' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'pool-epp' } },
        template: {
          metadata: { labels: { app: 'pool-epp' } },
          spec: {
            containers: [
              {
                name: 'epp',
                image: 'ghcr.io/infergate/infergate:dev',
                args: [
                  'epp',
                  '--kubernetes',
                  '--pool-name',
                  'pool',
                  '--pool-namespace',
                  'default',
                  '--address',
                  '$(POD_IP)',
                ],
                env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
                readinessProbe: { grpc: { port: 9003, service: 'readiness' }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    });
    await c.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'pool-epp', namespace: 'default' },
      spec: {
        selector: { app: 'pool-epp' },
        ports: [{ name: 'grpc', port: 9002, appProtocol: 'kubernetes.io/h2c' }],
      },
    });
    await c.apply(sim('sim-a', 2));
    await c.apply(sim('sim-b', 1));
  }, 600_000);

  afterAll(async () => {
    for (const s of serves.values()) if (!s.exited) s.child.kill('SIGKILL');
    agent?.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    await c.down();
  }, 120_000);

  afterEach(() => {
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts)
      console.log(
        `node agent log (tail):\n${(agent?.log() ?? '').slice(-4000)}\n` +
          [...serves].map(([ip, s]) => `serve ${ip} log (tail):\n${s.log.slice(-4000)}`).join('\n'),
      );
  });

  test('the controller provisions the Envoy fleet and the Gateway becomes Programmed with its address', async () => {
    const t0 = Date.now();
    const gw = await waitFor(
      'Gateway Programmed',
      async () => {
        const g = await get(['gateway', 'inference-gateway']);
        return cond(g, 'Programmed')?.status === 'True' ? g : undefined;
      },
      { timeoutMs: 180_000, everyMs: 500 },
    );
    console.log(
      `Gateway Programmed ${Date.now() - t0} ms after the first check (fleet provisioned, Envoy ready)`,
    );
    const svc = await get(['service', FLEET]);
    expect(gw.status?.addresses).toEqual([
      { type: 'IPAddress', value: (svc.spec as { clusterIP: string }).clusterIP },
    ]);
    expect(cond(gw, 'Accepted')).toMatchObject({
      status: 'True',
      observedGeneration: gw.metadata.generation,
    });
    expect(cond(gw, 'Programmed')!.message).toMatch(/1 of 1 replicas ready/);
    expect(gw.status?.listeners?.[0]).toMatchObject({ name: 'http', attachedRoutes: 1 });
    const cls = await get(['gatewayclass', 'infergate']);
    expect(cond(cls, 'Accepted')).toMatchObject({ status: 'True' });
    // The owned objects: owner reference to the Gateway, the infrastructure label, the class parameters applied.
    const dep = await get(['deployment', FLEET]);
    const owner = (dep.metadata as { ownerReferences?: { kind: string; uid: string; controller: boolean }[] })
      .ownerReferences;
    expect(owner).toEqual([
      expect.objectContaining({ kind: 'Gateway', uid: gw.metadata.uid, controller: true }),
    ]);
    expect((dep.metadata as { labels?: Record<string, string> }).labels).toMatchObject({ team: 'llm' });
    expect((svc.spec as { type: string }).type).toBe('ClusterIP');
    const route = await get(['httproute', 'llm']);
    const parent = route.status!.parents!.find(
      (p) => p.controllerName === 'infergate.io/gateway-controller',
    )!;
    expect(parent.conditions.map((x) => `${x.type}=${x.status}`).sort()).toEqual([
      'Accepted=True',
      'ResolvedRefs=True',
    ]);
    const pool = await get(['inferencepool', 'pool']);
    expect(pool.status?.parents?.[0].parentRef).toMatchObject({
      name: 'inference-gateway',
      namespace: 'default',
    });
  });

  test('a completion through the managed Envoy is served by a pool pod the EPP picked', async () => {
    const simA = await waitFor(
      'two sim-a pods',
      async () => {
        const ips = await podIps('sim-a');
        return ips.size === 2 ? ips : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const r = await waitFor(
      'a 200 through the Gateway',
      async () => {
        const x = await post();
        return x.code === '200' ? x : undefined;
      },
      { timeoutMs: 60_000, everyMs: 500 },
    );
    expect([...simA].some((ip) => r.servedBy.startsWith(ip))).toBe(true);
  });

  test('a pod added, made unready, or deleted reaches EDS and the EPP’s candidates (timed)', async () => {
    const timings: string[] = [];
    const added = await propagation('app=sim-a', 3, () =>
      c.kubectl(['scale', 'deployment', 'sim-a', '--replicas', '3']),
    );
    timings.push(
      `added: Ready in the API at ${added.api} ms, EDS +${added.eds! - added.api!} ms, EPP +${added.epp! - added.api!} ms`,
    );
    // Unready: stop one simulator's process (SIGSTOP), so its readiness probe times out.
    const ips = [...(await podIps('sim-a'))];
    const pid = (await c.exec(['pgrep', '-f', `sim --address ${ips[0]} `])).stdout.trim().split('\n')[0];
    const unready = await propagation('app=sim-a', 2, () => c.exec(['kill', '-STOP', pid]));
    await c.exec(['kill', '-CONT', pid]);
    timings.push(
      `unready: not Ready in the API at ${unready.api} ms, EDS +${unready.eds! - unready.api!} ms, EPP +${unready.epp! - unready.api!} ms`,
    );
    await waitFor('the stopped pod Ready again', async () => (await podIps('sim-a')).size === 3, {
      timeoutMs: 60_000,
    });
    // All three back in EDS and the EPP before the next change is timed.
    await propagation('app=sim-a', 3, async () => undefined);
    const deleted = await propagation('app=sim-a', 2, () =>
      c.kubectl(['scale', 'deployment', 'sim-a', '--replicas', '2']),
    );
    timings.push(
      `deleted: gone from the API at ${deleted.api} ms, EDS +${deleted.eds! - deleted.api!} ms, EPP +${deleted.epp! - deleted.api!} ms`,
    );
    console.log(`propagation after the API server shows the change:\n  ${timings.join('\n  ')}`);
    for (const t of [added, unready, deleted]) {
      expect(t.api).toBeDefined();
      expect(t.eds).toBeDefined();
      expect(t.epp).toBeDefined();
      // Generous bounds (a loaded CI machine); the figures above are what to read.
      expect(t.eds! - t.api!).toBeLessThan(5000);
      expect(t.epp! - t.api!).toBeLessThan(5000);
    }
  });

  test('an InferencePool selector change moves traffic to the pods it now selects', async () => {
    const simB = await podIps('sim-b');
    expect(simB.size).toBe(1);
    await c.kubectl([
      'patch',
      'inferencepool',
      'pool',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { selector: { matchLabels: { app: 'sim-b' } } } }),
    ]);
    const b = [...simB][0];
    await waitFor(
      'a completion served by sim-b',
      async () => {
        const r = await post();
        return r.code === '200' && r.servedBy.startsWith(b) ? r : undefined;
      },
      { timeoutMs: 60_000, everyMs: 250 },
    );
    for (let i = 0; i < 10; i++) {
      const r = await post();
      expect(r).toMatchObject({ code: '200' });
      expect(r.servedBy.startsWith(b)).toBe(true);
    }
    await c.kubectl([
      'patch',
      'inferencepool',
      'pool',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { selector: { matchLabels: { app: 'sim-a' } } } }),
    ]);
  });

  test('broken resources get their conditions: a missing backend, a bad parametersRef', async () => {
    await c.apply(
      httpRoute('missing-backend', { name: 'inference-gateway' }, 'no-such-pool', ['missing.example']),
    );
    const route = await waitFor(
      'ResolvedRefs False on the broken route',
      async () => {
        const r = await get(['httproute', 'missing-backend']);
        const p = r.status?.parents?.find((x) => x.controllerName === 'infergate.io/gateway-controller');
        return p?.conditions.find((x) => x.type === 'ResolvedRefs')?.status === 'False' ? p : undefined;
      },
      { timeoutMs: 60_000, everyMs: 250 },
    );
    expect(route.conditions.find((x) => x.type === 'ResolvedRefs')).toMatchObject({
      reason: 'BackendNotFound',
    });
    await c.apply(gatewayClass('infergate-bad', 'absent'));
    await c.apply(gateway('bad-params', 'infergate-bad', [{ name: 'http', protocol: 'HTTP', port: 8090 }]));
    const cls = await waitFor(
      'GatewayClass Accepted False InvalidParameters',
      async () => {
        const g = await get(['gatewayclass', 'infergate-bad']);
        return cond(g, 'Accepted')?.reason === 'InvalidParameters' ? g : undefined;
      },
      { timeoutMs: 60_000, everyMs: 250 },
    );
    expect(cond(cls, 'Accepted')).toMatchObject({
      status: 'False',
      message: expect.stringContaining('ConfigMap default/absent not found'),
    });
    // Nothing is provisioned for it, and the good Gateway is untouched.
    expect((await c.kubectl(['get', 'deployment', 'infergate-bad-params'], undefined, true)).code).not.toBe(
      0,
    );
    expect((await post()).code).toBe('200');
  });

  test('a listener protocol conflict, an unsupported protocol, a missing EPP Service, no matching parent: as the specs say', async () => {
    // A class whose fleets have no replicas: status only, no second Envoy in this namespace.
    await c.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'no-envoy', namespace: 'default' },
      data: { replicas: '0', serviceType: 'ClusterIP' },
    });
    await c.apply(gatewayClass('infergate-status-only', 'no-envoy'));
    await c.apply(
      gateway('conflicts', 'infergate-status-only', [
        { name: 'a', protocol: 'HTTP', port: 8085, hostname: 'same.example' },
        {
          name: 'b',
          protocol: 'HTTPS',
          port: 8085,
          hostname: 'same.example',
          tls: { mode: 'Terminate', certificateRefs: [{ name: 'absent-cert' }] },
        },
        { name: 'udp', protocol: 'UDP', port: 8086 },
        { name: 'ok', protocol: 'HTTP', port: 8087 },
      ]),
    );
    await c.apply(inferencePool('no-epp', 'sim-a', 'absent-epp'));
    await c.apply(httpRoute('to-no-epp', { name: 'conflicts', sectionName: 'ok' }, 'no-epp'));
    await c.apply(httpRoute('no-parent', { name: 'conflicts', sectionName: 'no-such-listener' }, 'no-epp'));
    let last = '';
    const gw = await waitFor(
      'listener statuses on Gateway conflicts',
      async () => {
        const g = await get(['gateway', 'conflicts']);
        last = JSON.stringify(g.status);
        const ok = g.status?.listeners?.find((l) => l.name === 'ok');
        return ok?.attachedRoutes === 1 && cond(g, 'Programmed')?.message.includes('0 of 0') ? g : undefined;
      },
      { timeoutMs: 60_000, everyMs: 250 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last status: ${last}`);
    });
    const listener = (name: string, type: string) =>
      gw.status!.listeners!.find((l) => l.name === name)!.conditions.find((x) => x.type === type)!;
    for (const name of ['a', 'b']) {
      expect(listener(name, 'Conflicted')).toMatchObject({ status: 'True', reason: 'ProtocolConflict' });
      expect(listener(name, 'Programmed')).toMatchObject({ status: 'False' });
    }
    expect(listener('udp', 'Accepted')).toMatchObject({ status: 'False', reason: 'UnsupportedProtocol' });
    expect(listener('ok', 'Programmed')).toMatchObject({ status: 'True' });
    expect(gw.status!.listeners!.find((l) => l.name === 'ok')!.attachedRoutes).toBe(1);
    // Stage 1 programs the good listener, but the fleet has no ready replica: Programmed False, Pending.
    expect(cond(gw, 'Programmed')).toMatchObject({
      status: 'False',
      message: expect.stringContaining('0 of 0'),
    });
    const pool = await waitFor(
      'InferencePool no-epp parent status',
      async () => {
        const p = await get(['inferencepool', 'no-epp']);
        return p.status?.parents?.length ? p : undefined;
      },
      { timeoutMs: 60_000, everyMs: 250 },
    );
    expect(pool.status!.parents![0].parentRef).toMatchObject({ name: 'conflicts', namespace: 'default' });
    expect(pool.status!.parents![0].conditions.find((x) => x.type === 'ResolvedRefs')).toMatchObject({
      status: 'False',
      reason: 'InvalidExtensionRef',
    });
    const route = await get(['httproute', 'no-parent']);
    const parent = route.status!.parents!.find(
      (p) => p.controllerName === 'infergate.io/gateway-controller',
    )!;
    expect(parent.conditions.find((x) => x.type === 'Accepted')).toMatchObject({
      status: 'False',
      reason: 'NoMatchingParent',
    });
  });

  test('the status leader SIGKILLed under a steady load: no request fails, the other replica takes over', async () => {
    const load = await steadyLoad(c, `${GATEWAY_URL}/v1/completions`, BODY);
    await new Promise((r) => setTimeout(r, 3000));
    const leader = (await leaderIp())!;
    const other = REPLICAS.find((ip) => ip !== leader)!;
    serves.get(leader)!.child.kill('SIGKILL');
    const killedAt = Date.now();
    // A change only the new leader can write: a new route's status.
    await c.apply(httpRoute('after-failover', { name: 'inference-gateway' }, 'pool', ['after.example']));
    await waitFor(
      'the new route’s status from the surviving replica',
      async () => {
        const r = await get(['httproute', 'after-failover']);
        return r.status?.parents?.some((p) => p.controllerName === 'infergate.io/gateway-controller');
      },
      { timeoutMs: 60_000, everyMs: 100 },
    );
    const took = Date.now() - killedAt;
    expect(await leaderIp()).toBe(other);
    await new Promise((r) => setTimeout(r, 3000));
    const result = await load.stop();
    console.log(
      `leader ${leader} SIGKILLed: replica ${other} wrote the next status ${took} ms later (lease 4 s); ` +
        `steady load through the managed Envoy: ${result.ok} of ${result.sent} requests 200, ${result.failed} failed`,
    );
    expect(result.failures).toEqual([]);
    expect(result.failed).toBe(0);
    expect(result.sent).toBeGreaterThan(20);
    startServe(leader); // back to two replicas
  });

  test('the Gateway deleted: its Deployment, Service and ConfigMap go with it', async () => {
    await c.kubectl(['delete', 'gateway', 'inference-gateway']);
    await waitFor(
      'the fleet objects deleted',
      async () => {
        const r = await c.kubectl(
          [
            'get',
            'deployment,service,configmap',
            '-l',
            'gateway.networking.k8s.io/gateway-name=inference-gateway',
            '-o',
            'name',
          ],
          undefined,
          true,
        );
        return r.code === 0 && r.stdout.trim() === '';
      },
      { timeoutMs: 90_000, everyMs: 500 },
    );
  });
});
