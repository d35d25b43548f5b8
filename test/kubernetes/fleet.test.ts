// Managed Envoy fleets, the pure parts: parameters, the rendered objects, and how fleet and data-plane facts adjust
// stage 1's Gateway / GatewayClass conditions. The cluster behaviour is in fleet-cluster.test.ts.

import { DEFAULT_PARAMS, parseParams } from '../../src/sources/kubernetes/fleet/params';
import { fleetName, renderFleet, type FleetGateway } from '../../src/sources/kubernetes/fleet/render';
import type { FleetReport, GatewayCondition } from '../../src/sources/kubernetes/fleet/reconciler';
import { withDataPlane, withFleet } from '../../src/sources/kubernetes/fleet/status';
import type { ResourceStatus } from '../../src/compiler/ir';

interface DeploymentSpec {
  replicas: number;
  selector: { matchLabels: Record<string, string> };
  template: {
    metadata: { annotations: Record<string, string> };
    spec: {
      containers: {
        image: string;
        args: string[];
        readinessProbe: { httpGet: unknown };
        ports: { containerPort: number }[];
      }[];
    };
  };
}
interface ServiceSpec {
  type: string;
  ports: unknown[];
}

const gw: FleetGateway = {
  namespace: 'team-a',
  name: 'inference-gateway',
  uid: '1234',
  className: 'infergate',
  ports: [
    { port: 8080, protocol: 'HTTP' },
    { port: 8443, protocol: 'HTTPS' },
    { port: 8080, protocol: 'HTTP' },
  ],
  labels: { team: 'a' },
  annotations: { 'example.com/owner': 'me' },
};

describe('fleet parameters', () => {
  test('defaults, every key read, every problem listed with the ConfigMap and key', () => {
    expect(parseParams(undefined, 'ConfigMap x/y')).toEqual({ ok: true, params: DEFAULT_PARAMS });
    const good = parseParams(
      {
        replicas: '3',
        image: 'registry.example/envoy:v1.40.0',
        serviceType: 'ClusterIP',
        logLevel: 'debug',
        adminPort: '0',
        readyPort: '19101',
        resources: '{"requests":{"cpu":"250m","memory":"1Gi"},"limits":{"memory":"2Gi"}}',
      },
      'ConfigMap x/y',
    );
    expect(good).toEqual({
      ok: true,
      params: {
        replicas: 3,
        image: 'registry.example/envoy:v1.40.0',
        serviceType: 'ClusterIP',
        logLevel: 'debug',
        adminPort: 0,
        readyPort: 19101,
        resources: { requests: { cpu: '250m', memory: '1Gi' }, limits: { memory: '2Gi' } },
      },
    });
    const bad = parseParams(
      { replicas: '-1', serviceType: 'External', resources: '{"requests":{"cpu":"lots"}}', colour: 'blue' },
      'ConfigMap x/y',
    );
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problems).toEqual([
      'ConfigMap x/y: data.replicas: must be an integer from 0 to 1000, not "-1"',
      'ConfigMap x/y: data.serviceType: must be one of ClusterIP, NodePort, LoadBalancer, not "External"',
      'ConfigMap x/y: data.resources: requests.cpu: not a quantity: "lots"',
      'ConfigMap x/y: data.colour: unknown key (known: replicas, image, serviceType, resources, logLevel, adminPort, readyPort)',
    ]);
  });

  test('a Gateway parametersRef overrides the class parameters key by key', () => {
    const base = { ...DEFAULT_PARAMS, replicas: 2, serviceType: 'ClusterIP' as const };
    const r = parseParams({ replicas: '4' }, 'ConfigMap a/b', base);
    expect(r.ok && r.params).toMatchObject({ replicas: 4, serviceType: 'ClusterIP' });
  });
});

describe('rendered fleet objects', () => {
  const objs = renderFleet(
    gw,
    { ...DEFAULT_PARAMS, replicas: 2 },
    'infergate.infergate-system.svc.cluster.local:18000',
  );

  test('owned by the Gateway, labelled as Gateway API asks, infrastructure labels and annotations copied', () => {
    for (const o of [objs.configMap, objs.deployment, objs.service]) {
      expect(o.metadata.name).toBe('infergate-inference-gateway');
      expect(o.metadata.namespace).toBe('team-a');
      expect(o.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'Gateway',
          name: 'inference-gateway',
          uid: '1234',
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(o.metadata.labels).toMatchObject({
        team: 'a',
        'gateway.networking.k8s.io/gateway-name': 'inference-gateway',
        'gateway.networking.k8s.io/gateway-class-name': 'infergate',
        'app.kubernetes.io/managed-by': 'infergate',
      });
      expect(o.metadata.annotations).toEqual({ 'example.com/owner': 'me' });
    }
  });

  test('the bootstrap is the ADS bootstrap of `compile --mode ads --gateway NS/NAME`, plus a ready listener', () => {
    const b = JSON.parse((objs.configMap.data as Record<string, string>)['bootstrap.json']);
    expect(b.node.cluster).toBe('team-a/inference-gateway');
    expect(b.admin.address.socket_address).toEqual({ address: '127.0.0.1', port_value: 19000 });
    const xds = b.static_resources.clusters.find((c: { name: string }) => c.name === 'infergate_xds');
    expect(xds.type).toBe('STRICT_DNS');
    // getaddrinfo reads /etc/hosts afresh on each lookup (c-ares kept failing after the name appeared).
    expect(xds.typed_dns_resolver_config.name).toBe('envoy.network.dns_resolver.getaddrinfo');
    expect(JSON.stringify(xds.load_assignment)).toContain('infergate.infergate-system.svc.cluster.local');
    expect(b.static_resources.listeners.map((l: { name: string }) => l.name)).toEqual(['infergate_ready']);
    expect(b.static_resources.listeners[0].address.socket_address.port_value).toBe(19001);
  });

  test('the Deployment runs Envoy on that bootstrap, node id = Pod name, probed on the ready listener', () => {
    const spec = objs.deployment.spec as DeploymentSpec;
    expect(spec.replicas).toBe(2);
    expect(spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/managed-by': 'infergate',
      'gateway.networking.k8s.io/gateway-name': 'inference-gateway',
    });
    const c = spec.template.spec.containers[0];
    expect(c.image).toBe(DEFAULT_PARAMS.image);
    expect(c.args).toEqual(
      expect.arrayContaining(['--config-path', '/etc/envoy/bootstrap.json', '--service-node', '$(POD_NAME)']),
    );
    expect(c.readinessProbe.httpGet).toEqual({ path: '/ready', port: 19001 });
    expect(c.ports.map((p: { containerPort: number }) => p.containerPort)).toEqual([8080, 8443, 19001]);
    expect(spec.template.metadata.annotations['infergate.io/bootstrap-hash']).toMatch(/^[0-9a-f]{16}$/);
  });

  test('the Service exposes each listener port once, not the ready port', () => {
    const spec = objs.service.spec as ServiceSpec;
    expect(spec.type).toBe('LoadBalancer');
    expect(spec.ports).toEqual([
      { name: 'http-8080', port: 8080, targetPort: 8080, protocol: 'TCP' },
      { name: 'https-8443', port: 8443, targetPort: 8443, protocol: 'TCP' },
    ]);
  });

  test('the same inputs render the same bytes; a changed xDS address changes the bootstrap hash (a rollout)', () => {
    const again = renderFleet(
      gw,
      { ...DEFAULT_PARAMS, replicas: 2 },
      'infergate.infergate-system.svc.cluster.local:18000',
    );
    expect(JSON.stringify(again)).toBe(JSON.stringify(objs));
    const moved = renderFleet(gw, { ...DEFAULT_PARAMS, replicas: 2 }, 'other.infergate-system.svc:18000');
    const hash = (o: typeof objs) =>
      (o.deployment.spec as DeploymentSpec).template.metadata.annotations['infergate.io/bootstrap-hash'];
    expect(hash(moved)).not.toBe(hash(objs));
  });

  test('long Gateway names are cut to a DNS label with a hash', () => {
    const long = 'g'.repeat(70);
    const n = fleetName('ns', long);
    expect(n.length).toBeLessThanOrEqual(63);
    expect(n).toMatch(/^infergate-g+-[0-9a-f]{8}$/);
    expect(fleetName('other', long)).not.toBe(n);
  });
});

describe('fleet and data-plane facts over stage 1', () => {
  const stage1: ResourceStatus[] = [
    {
      kind: 'GatewayClass',
      namespace: '',
      name: 'infergate',
      conditions: [
        { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'ok', observedGeneration: 1 },
      ],
    },
    {
      kind: 'Gateway',
      namespace: 'team-a',
      name: 'inference-gateway',
      conditions: [
        { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'ok', observedGeneration: 3 },
        {
          type: 'Programmed',
          status: 'True',
          reason: 'Programmed',
          message: '1 of 1',
          observedGeneration: 3,
        },
      ],
    },
    {
      kind: 'Gateway',
      namespace: 'team-a',
      name: 'broken',
      conditions: [
        { type: 'Programmed', status: 'False', reason: 'Invalid', message: 'No listener is programmed' },
      ],
    },
  ];
  const report = (over: Partial<FleetReport>): FleetReport => ({
    addresses: new Map(),
    programmed: new Map(),
    classProblems: new Map(),
    gatewayProblems: new Map(),
    applied: 0,
    deleted: 0,
    errors: [],
    ...over,
  });
  const cond = (s: ResourceStatus[], name: string, type: string) =>
    s.find((x) => x.name === name)!.conditions!.find((c) => c.type === type);

  test('Programmed follows the fleet only where stage 1 programmed the Gateway; generation kept', () => {
    const pending = { status: 'False' as const, reason: 'Pending', message: '0 of 1 replicas ready' };
    const out = withFleet(
      stage1,
      report({
        programmed: new Map<string, GatewayCondition>([
          ['team-a/inference-gateway', pending],
          ['team-a/broken', { status: 'True', reason: 'Programmed', message: 'ready' }],
        ]),
      }),
    );
    expect(cond(out, 'inference-gateway', 'Programmed')).toEqual({
      type: 'Programmed',
      ...pending,
      observedGeneration: 3,
    });
    expect(cond(out, 'broken', 'Programmed')!.reason).toBe('Invalid');
  });

  test('bad class parameters: GatewayClass Accepted False InvalidParameters; bad Gateway parameters likewise', () => {
    const out = withFleet(
      stage1,
      report({
        classProblems: new Map([['infergate', ['ConfigMap x/y not found']]]),
        gatewayProblems: new Map([['team-a/inference-gateway', ['data.replicas: bad']]]),
      }),
    );
    expect(cond(out, 'infergate', 'Accepted')).toEqual({
      type: 'Accepted',
      status: 'False',
      reason: 'InvalidParameters',
      message: 'ConfigMap x/y not found',
      observedGeneration: 1,
    });
    expect(cond(out, 'inference-gateway', 'Accepted')!.reason).toBe('InvalidParameters');
    expect(cond(out, 'inference-gateway', 'Programmed')!.status).toBe('False');
  });

  test('a NACK makes a programmed Gateway Programmed False with Envoy’s error; Unknown (ACKs pending) does not', () => {
    const nack = { status: 'False' as const, reason: 'Invalid', message: 'envoy-1 rejected LDS v7: bad' };
    const out = withDataPlane(stage1, { 'team-a/inference-gateway': nack });
    expect(cond(out, 'inference-gateway', 'Programmed')).toMatchObject(nack);
    const pending = withDataPlane(stage1, {
      'team-a/inference-gateway': {
        status: 'Unknown',
        reason: 'Pending',
        message: '1 of 1 nodes have ACKs outstanding',
      },
    });
    expect(cond(pending, 'inference-gateway', 'Programmed')!.status).toBe('True');
  });
});
