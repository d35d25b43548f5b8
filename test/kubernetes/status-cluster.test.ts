// Status write-back on a real API server: stage-1 statuses (buildIR on the objects we created) written through
// StatusWriter in a child process (client-node is ESM-only), then read back with kubectl. The last test runs the
// writer on a KubernetesSource's informer cache and counts its API requests per pass.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { emptyResourceSet, type ResourceSet } from '../../src/api/types';
import { SUPPORTED_FEATURES } from '../../src/compiler/features';
import { buildIR } from '../../src/compiler/gatewayapi/index';
import { CONTROLLER_NAME, type ResourceStatus } from '../../src/compiler/ir';
import { Cluster, clusterToolsMissing } from '../cluster/cluster';
import { tmpDir } from '../support/tmp';

const missing = clusterToolsMissing();
if (missing) console.log(`status-cluster skipped: the pinned cluster binaries are not cached (${missing})`);
const describeCluster = missing ? describe.skip : describe;

const GW = 'gateway.networking.k8s.io';
const OTHER = 'example.com/other-controller';
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const objects = [
  {
    apiVersion: `${GW}/v1`,
    kind: 'GatewayClass',
    metadata: { name: 'ig' },
    spec: { controllerName: CONTROLLER_NAME },
  },
  {
    apiVersion: `${GW}/v1`,
    kind: 'GatewayClass',
    metadata: { name: 'theirs' },
    spec: { controllerName: OTHER },
  },
  {
    apiVersion: `${GW}/v1`,
    kind: 'Gateway',
    metadata: { name: 'gw', namespace: 'default' },
    spec: { gatewayClassName: 'ig', listeners: [{ name: 'http', protocol: 'HTTP', port: 8080 }] },
  },
  {
    apiVersion: `${GW}/v1`,
    kind: 'Gateway',
    metadata: { name: 'ogw', namespace: 'default' },
    spec: { gatewayClassName: 'theirs', listeners: [{ name: 'http', protocol: 'HTTP', port: 8080 }] },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'epp', namespace: 'default' },
    spec: { selector: { app: 'epp' }, ports: [{ name: 'grpc', port: 9002, appProtocol: 'http2' }] },
  },
  {
    apiVersion: 'inference.networking.k8s.io/v1',
    kind: 'InferencePool',
    metadata: { name: 'pool', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'model' } },
      targetPorts: [{ number: 8000 }],
      endpointPickerRef: { name: 'epp', port: { number: 9002 } },
    },
  },
  {
    apiVersion: `${GW}/v1`,
    kind: 'HTTPRoute',
    metadata: { name: 'route', namespace: 'default' },
    spec: {
      parentRefs: [{ name: 'gw' }, { name: 'ogw' }],
      rules: [
        { backendRefs: [{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'pool' }] },
      ],
    },
  },
];

const theirEntry = (name: string) => ({
  parentRef: { group: GW, kind: 'Gateway', namespace: 'default', name },
  controllerName: OTHER,
  conditions: [
    {
      type: 'Accepted',
      status: 'True',
      reason: 'Accepted',
      message: 'theirs',
      observedGeneration: 1,
      lastTransitionTime: '2020-01-01T00:00:00Z',
    },
  ],
});

describeCluster('status write-back on a real API server', () => {
  jest.setTimeout(300_000);
  const cluster = new Cluster(tmpDir('status-cluster'));

  beforeAll(async () => {
    await cluster.up();
    for (const o of objects) await cluster.apply(o);
  }, 300_000);
  afterAll(async () => {
    await cluster.down();
  }, 60_000);

  const get = (kind: string, name: string): Promise<Obj> =>
    cluster.getJson<Obj>(kind === 'gatewayclass' ? [kind, name] : [kind, name, '-n', 'default']);
  const list = async (kind: string): Promise<Obj[]> =>
    (await cluster.getJson<{ items: Obj[] }>([kind, '-A'])).items;

  /** buildIR on what the API server holds now (so metadata.generation is the server's), with each object's RV. */
  async function computeAt(): Promise<{ statuses: ResourceStatus[]; rv: Map<string, string> }> {
    const rs: ResourceSet = emptyResourceSet();
    rs.gatewayClasses = (await list('gatewayclasses')) as ResourceSet['gatewayClasses'];
    rs.gateways = (await list('gateways')) as ResourceSet['gateways'];
    rs.httpRoutes = (await list('httproutes')) as ResourceSet['httpRoutes'];
    rs.inferencePools = (await list('inferencepools')) as ResourceSet['inferencePools'];
    rs.services = (await list('services')) as ResourceSet['services'];
    const rv = new Map<string, string>();
    for (const o of [...rs.gatewayClasses, ...rs.gateways, ...rs.httpRoutes, ...rs.inferencePools])
      rv.set(`${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`, o.metadata.resourceVersion!);
    return { statuses: buildIR(rs, { controllerName: CONTROLLER_NAME }).statuses, rv };
  }
  const compute = async () => (await computeAt()).statuses;

  async function write(statuses: ResourceStatus[], mode = 'write'): Promise<Obj> {
    const input = JSON.stringify({
      statuses,
      supportedFeatures: ['HTTPRoute', 'Gateway'],
      addresses: { 'default/gw': [{ type: 'IPAddress', value: '10.244.0.50' }] },
    });
    const r = await cluster.exec(
      ['node', '-r', 'ts-node/register/transpile-only', 'test/kubernetes/status-driver.ts', mode],
      { input },
    );
    if (r.code !== 0) throw new Error(`status-driver write failed (${r.code}):\n${r.stderr}`);
    const report = JSON.parse(r.stdout) as Obj;
    expect(report.errors).toEqual([]);
    return report;
  }

  const cond = (conds: Obj[] | undefined, type: string): Obj | undefined =>
    conds?.find((c) => c.type === type);
  const ours = (parents: Obj[]): Obj[] => parents.filter((p) => p.controllerName === CONTROLLER_NAME);

  test('conditions appear, others untouched, no write when unchanged, LTT kept, stale pool parents removed', async () => {
    // Another controller's entries, present before we write.
    await cluster.kubectl([
      'patch',
      'httproute',
      'route',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { parents: [theirEntry('ogw')] } }),
    ]);
    await cluster.kubectl([
      'patch',
      'inferencepool',
      'pool',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { parents: [theirEntry('ogw')] } }),
    ]);

    const statuses = await compute();
    expect(statuses.map((s) => `${s.kind}/${s.name}`)).toEqual(
      expect.arrayContaining(['GatewayClass/ig', 'Gateway/gw', 'HTTPRoute/route', 'InferencePool/pool']),
    );
    const first = await write(statuses);
    expect(first.written).toBe(statuses.length);
    console.log(`first write: ${JSON.stringify(first)}`);

    const gc = await get('gatewayclass', 'ig');
    expect(cond(gc.status.conditions, 'Accepted')).toMatchObject({
      status: 'True',
      reason: 'Accepted',
      observedGeneration: 1,
    });
    expect(gc.status.supportedFeatures).toEqual([{ name: 'Gateway' }, { name: 'HTTPRoute' }]);
    expect((await get('gatewayclass', 'theirs')).status.conditions?.[0]?.reason).not.toBe('Accepted');

    const gw = await get('gateway', 'gw');
    expect(cond(gw.status.conditions, 'Accepted')).toMatchObject({ status: 'True', observedGeneration: 1 });
    expect(cond(gw.status.conditions, 'Programmed')).toBeDefined();
    expect(gw.status.addresses).toEqual([{ type: 'IPAddress', value: '10.244.0.50' }]);
    expect(gw.status.listeners).toHaveLength(1);
    expect(gw.status.listeners[0]).toMatchObject({ name: 'http', attachedRoutes: 1 });
    expect(cond(gw.status.listeners[0].conditions, 'Accepted')?.status).toBe('True');
    expect(cond(gw.status.listeners[0].conditions, 'ResolvedRefs')?.status).toBe('True');

    const route = await get('httproute', 'route');
    expect(route.status.parents).toContainEqual(theirEntry('ogw'));
    expect(ours(route.status.parents)).toHaveLength(1);
    const routeAccepted = cond(ours(route.status.parents)[0].conditions, 'Accepted');
    expect(routeAccepted).toMatchObject({ status: 'True', observedGeneration: 1 });
    expect(ours(route.status.parents)[0].parentRef).toMatchObject({ namespace: 'default', name: 'gw' });

    const pool = await get('inferencepool', 'pool');
    expect(pool.status.parents).toContainEqual(theirEntry('ogw'));
    expect(ours(pool.status.parents)).toHaveLength(1);
    expect(ours(pool.status.parents)[0].parentRef).toEqual({
      group: GW,
      kind: 'Gateway',
      namespace: 'default',
      name: 'gw',
    });
    expect(cond(ours(pool.status.parents)[0].conditions, 'Accepted')?.status).toBe('True');

    // Nothing changed: nothing written.
    const rvBefore = (await get('httproute', 'route')).metadata.resourceVersion;
    const second = await write(await compute());
    expect(second).toMatchObject({ written: 0, writes: 0, unchanged: statuses.length });
    expect((await get('httproute', 'route')).metadata.resourceVersion).toBe(rvBefore);

    // A spec change bumps generation: observedGeneration follows, lastTransitionTime stays (same status/reason).
    await new Promise((r) => setTimeout(r, 1100));
    await cluster.kubectl([
      'patch',
      'httproute',
      'route',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { hostnames: ['a.example'] } }),
    ]);
    const third = await write(await compute());
    expect(third.written).toBeGreaterThanOrEqual(1);
    const route2 = await get('httproute', 'route');
    expect(route2.metadata.generation).toBe(2);
    const accepted2 = cond(ours(route2.status.parents)[0].conditions, 'Accepted');
    expect(accepted2).toMatchObject({ status: 'True', observedGeneration: 2 });
    expect(accepted2?.lastTransitionTime).toBe(routeAccepted?.lastTransitionTime);
    expect(route2.status.parents).toContainEqual(theirEntry('ogw'));

    // No route references the pool any more: our entry goes, theirs stays.
    await cluster.kubectl(['delete', 'httproute', 'route', '-n', 'default']);
    const fourth = await write(await compute());
    expect(fourth.written).toBeGreaterThanOrEqual(1);
    const pool2 = await get('inferencepool', 'pool');
    expect(pool2.status.parents).toEqual([theirEntry('ogw')]);
    const gw2 = await get('gateway', 'gw');
    expect(gw2.status.listeners[0].attachedRoutes).toBe(0);
  });

  test('a concurrent change between read and patch is a 409: re-read, merged again, written', async () => {
    await cluster.apply({ ...objects[2], metadata: { name: 'gw-race', namespace: 'default' } });
    const statuses = (await compute()).filter((s) => s.kind === 'Gateway' && s.name === 'gw-race');
    expect(statuses).toHaveLength(1);
    const report = await write(statuses, 'conflict');
    expect(report).toMatchObject({ written: 1, conflicts: 1 });
    const gw = await get('gateway', 'gw-race');
    expect(gw.metadata.labels.raced).toBeDefined();
    expect(cond(gw.status.conditions, 'Accepted')?.status).toBe('True');
  });

  test('on the informer cache: an unchanged pass makes no API request, a change writes only what changed', async () => {
    const NS = 'cached';
    const ROUTES = 20;
    await cluster.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await cluster.apply({ ...objects[2], metadata: { name: 'cgw', namespace: NS } });
    await cluster.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'echo', namespace: NS },
      spec: { ports: [{ name: 'http', port: 80 }] },
    });
    const routeNames = Array.from({ length: ROUTES }, (_, i) => `r${String(i).padStart(2, '0')}`);
    const routes = routeNames.map((name) => ({
      apiVersion: `${GW}/v1`,
      kind: 'HTTPRoute',
      metadata: { name, namespace: NS },
      spec: {
        parentRefs: [{ name: 'cgw' }],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: `/${name}` } }],
            backendRefs: [{ name: 'echo', port: 80 }],
          },
        ],
      },
    }));
    await cluster.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: routes }),
    );

    const mine = (s: ResourceStatus) => s.namespace === NS || (s.kind === 'GatewayClass' && s.name === 'ig');
    /** The statuses of our objects, and the versions the driver's cache must have reached first. */
    const pass = async (extra: Obj = {}): Promise<Obj> => {
      const { statuses, rv } = await computeAt();
      const todo = statuses.filter(mine);
      const waitFor = todo.map((s) => ({
        kind: s.kind,
        namespace: s.namespace,
        name: s.name,
        resourceVersion: rv.get(`${s.kind} ${s.namespace}/${s.name}`),
      }));
      const report = await driver.send({
        statuses: todo,
        supportedFeatures: SUPPORTED_FEATURES,
        waitFor,
        ...extra,
      });
      expect(report.errors).toEqual([]);
      return report;
    };
    const total = ROUTES + 2; // the routes, their Gateway, the GatewayClass

    // Without the cache: a fresh writer GETs every object, even when nothing changes.
    const baseline = await write((await compute()).filter(mine));
    console.log(`no cache: ${JSON.stringify(baseline)}`);
    expect(baseline.written).toBeGreaterThanOrEqual(ROUTES + 1); // the GatewayClass may carry these already

    const driver = await startSession();
    try {
      const settled = await driver.send({ settleMs: 300 });
      const rest = await write((await compute()).filter(mine));
      console.log(`no cache, unchanged pass: ${JSON.stringify(rest)}`);
      expect(rest).toMatchObject({ written: 0, unchanged: total, requests: total + 1 }); // a GET each + the CRD

      // First cached pass: the GatewayClass gets the full feature list; one CRD read decides its shape.
      const first = await pass();
      console.log(`cached, first pass: ${JSON.stringify(first)}`);
      expect(first).toMatchObject({ written: 1, unchanged: total - 1, conflicts: 0, requests: 2 });
      const gc = await get('gatewayclass', 'ig');
      expect(gc.status.supportedFeatures).toEqual(SUPPORTED_FEATURES.map((name) => ({ name })));
      // Our write's watch event is status-only: cached, not delivered (no recompile).
      const afterFirst = await driver.send({ settleMs: 300 });
      expect(afterFirst.deliveries).toBe(settled.deliveries);
      expect(afterFirst.statusOnlyUpdates).toBe(settled.statusOnlyUpdates + 1);

      // Unchanged: zero API requests.
      const second = await pass();
      console.log(`cached, unchanged pass: ${JSON.stringify(second)}`);
      expect(second).toMatchObject({ written: 0, unchanged: total, requests: 0 });

      // One route's spec changes: only it is written, with one request (a patch on the cached resourceVersion).
      await cluster.kubectl([
        'patch',
        'httproute',
        'r07',
        '-n',
        NS,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { hostnames: ['r07.example'] } }),
      ]);
      // `again`: the same pass at once, before the cache need have our write's event; our patch's response
      // stands in for the cached object (else: a patch on a stale resourceVersion, a 409 and a GET).
      const third = await pass({ again: true });
      console.log(`cached, one route changed: ${JSON.stringify(third)}`);
      expect(third).toMatchObject({ written: 1, unchanged: total - 1, conflicts: 0, requests: 1 });
      expect(third.again).toMatchObject({ written: 0, unchanged: total, requests: 0 });
      const r07n = await cluster.getJson<Obj>(['httproute', 'r07', '-n', NS]);
      expect(cond(ours(r07n.status.parents)[0].conditions, 'Accepted')).toMatchObject({
        observedGeneration: 2,
      });

      // A concurrent writer between our read (the cache) and our patch: 409, a GET, a second patch.
      await cluster.kubectl([
        'patch',
        'httproute',
        'r08',
        '-n',
        NS,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { hostnames: ['r08.example'] } }),
      ]);
      const raced = await pass({ race: true });
      console.log(`cached, raced: ${JSON.stringify(raced)}`);
      expect(raced).toMatchObject({ written: 1, conflicts: 1, unchanged: total - 1, requests: 3 });
      const r08 = await cluster.getJson<Obj>(['httproute', 'r08', '-n', NS]);
      expect(r08.metadata.labels.raced).toBeDefined();
      expect(cond(ours(r08.status.parents)[0].conditions, 'Accepted')).toMatchObject({
        observedGeneration: 2,
      });
      expect(await pass()).toMatchObject({ written: 0, unchanged: total, requests: 0 });

      // Our own status writes never reached the compiler: the source delivered the two spec changes and the
      // label change only, and took every status-only event into its cache without a delivery.
      const end = await driver.send({ settleMs: 500 });
      console.log(
        `deliveries ${settled.deliveries} → ${end.deliveries}, status-only updates ${end.statusOnlyUpdates}`,
      );
      expect(end.deliveries - settled.deliveries).toBeLessThanOrEqual(3);
      expect(end.statusOnlyUpdates - settled.statusOnlyUpdates).toBe(3);
    } finally {
      await driver.close();
    }
  });

  /** The driver's session mode: one long-lived writer on an informer cache, one JSON line per pass. */
  async function startSession() {
    const child: ChildProcessWithoutNullStreams = spawn(
      path.resolve(__dirname, '../../scripts/cluster'),
      [
        'exec',
        cluster.dir,
        '--',
        'node',
        '-r',
        'ts-node/register/transpile-only',
        'test/kubernetes/status-driver.ts',
        'session',
      ],
      { cwd: path.resolve(__dirname, '../..') },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const next = async (): Promise<Obj> => {
      const r = await lines.next();
      if (r.done) throw new Error(`status-driver session ended:\n${stderr}`);
      return JSON.parse(r.value as string) as Obj;
    };
    const ready = await next();
    expect(ready.ready).toBe(true);
    return {
      send: async (o: object): Promise<Obj> => {
        child.stdin.write(JSON.stringify(o) + '\n');
        return next();
      },
      close: async () => {
        child.stdin.end();
        await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      },
    };
  }
});
