// Status write-back on a real API server: stage-1 statuses (buildIR on the objects we created) written through
// StatusWriter in a child process (client-node is ESM-only), then read back with kubectl.

import { emptyResourceSet, type ResourceSet } from '../../src/api/types';
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

  /** buildIR on what the API server holds now (so metadata.generation is the server's). */
  async function compute(): Promise<ResourceStatus[]> {
    const rs: ResourceSet = emptyResourceSet();
    rs.gatewayClasses = (await list('gatewayclasses')) as ResourceSet['gatewayClasses'];
    rs.gateways = (await list('gateways')) as ResourceSet['gateways'];
    rs.httpRoutes = (await list('httproutes')) as ResourceSet['httpRoutes'];
    rs.inferencePools = (await list('inferencepools')) as ResourceSet['inferencePools'];
    rs.services = (await list('services')) as ResourceSet['services'];
    return buildIR(rs, { controllerName: CONTROLLER_NAME }).statuses;
  }

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
});
