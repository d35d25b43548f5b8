// helm/inferencepool with real Helm against a real API server: lint; `helm template` over a matrix of values, each
// render accepted by a server-side dry run; a values file written for upstream's GIE v1.5.0 chart installed
// unchanged, its EPP (on the chart's ServiceAccount, FailClose) picking the pod a completion through the managed
// Envoy lands on; an upgrade that changes the EndpointPickerConfig rolls the EPP; uninstall leaves nothing.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { load, loadAll } from 'js-yaml';
import { parseEndpointPickerConfig } from '../../src/epp/config/loader';
import { Cluster, clusterToolsMissing } from '../cluster/cluster';
import { leaseHolderPid, servedByPool, startNodeAgent, until } from '../kubernetes/fixtures';
import { tmpDir } from '../support/tmp';

const missing = clusterToolsMissing();
if (missing)
  console.log(`helm inferencepool skipped: the pinned cluster binaries are not cached (${missing})`);
const describeCluster = missing ? describe.skip : describe;

const CHART = 'helm/inferencepool';
const POOL = 'vllm-llama3-8b-instruct';
const EPP = `${POOL}-epp`;
const URL = 'http://infergate-inference-gateway.default.svc.cluster.local:8080/v1/completions';
const BODY = JSON.stringify({ model: 'meta-llama/Llama-3.1-8B-Instruct', prompt: 'Hello', max_tokens: 2 });

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  [k: string]: unknown;
}

/** Written for upstream's chart (GIE v1.5.0 keys and values): installs this chart with no edit. */
const UPSTREAM_VALUES = `
inferenceExtension:
  replicas: 1
  failureMode: FailClose
  flags:
    v: 3
    zap-encoder: json
    refresh-metrics-interval: 50ms
    grpc-health-port: 9003
  resources:
    requests:
      cpu: "1"
      memory: 1Gi
  monitoring:
    interval: 10s
    prometheus:
      enabled: false
inferencePool:
  targetPorts:
    - number: 8000
  modelServerType: vllm
  modelServers:
    matchLabels:
      app: ${POOL}
provider:
  name: none
`;

const CUSTOM_CONFIG = `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: random-picker
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
  - pluginRef: random-picker
`;

const base = { inferencePool: { modelServers: { matchLabels: { app: POOL } } } };

/** Values cases: each renders, passes a server-side dry run, and shows what that case is for. */
const MATRIX: { name: string; values: object; check: (objs: K8sObject[]) => void }[] = [
  {
    name: 'defaults',
    values: {},
    check(objs) {
      const kinds = objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
      expect(kinds).toEqual([
        `ConfigMap/${EPP}`,
        `Deployment/${EPP}`,
        `InferencePool/${POOL}`,
        `Role/${EPP}`,
        `RoleBinding/${EPP}`,
        `Service/${EPP}`,
        `ServiceAccount/${EPP}`,
      ]);
      const pool = find(objs, 'InferencePool');
      expect(pool.spec).toMatchObject({
        selector: { matchLabels: { app: POOL } },
        targetPorts: [{ number: 8000 }],
        endpointPickerRef: { name: EPP, port: { number: 9002 }, failureMode: 'FailOpen' },
      });
      const c = container(objs);
      expect(c.image).toBe('ghcr.io/infergate/infergate:0.1.0');
      expect(c.args).toEqual([
        'epp',
        '--kubernetes',
        '--pool-name',
        POOL,
        '--pool-namespace',
        'default',
        '--address',
        '$(POD_IP)',
        '--grpc-port',
        '9002',
        '--health-port',
        '9003',
        '--metrics-port',
        '9090',
        '--config-file',
        '/config/default-plugins.yaml',
        '--secure-serving',
      ]);
      expect(c.readinessProbe).toEqual({
        grpc: { port: 9003, service: 'inference-extension' },
        periodSeconds: 2,
      });
      const d = find(objs, 'Deployment');
      expect(d.spec).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' } });
      const svc = find(objs, 'Service');
      expect(svc.spec).toMatchObject({
        ports: [
          { name: 'grpc-ext-proc', port: 9002, appProtocol: 'kubernetes.io/tls' },
          { name: 'http-metrics', port: 9090 },
        ],
      });
    },
  },
  {
    name: 'HA: 2 replicas and leader election',
    values: { inferenceExtension: { replicas: 2 } },
    check(objs) {
      expect(find(objs, 'Deployment').spec).toMatchObject({ replicas: 2 });
      const c = container(objs);
      expect(c.args).toContain('--ha-enable-leader-election');
      expect(c.readinessProbe).toMatchObject({ grpc: { service: 'readiness' } });
      expect(c.livenessProbe).toMatchObject({ grpc: { service: 'liveness' } });
      const role = objs.find((o) => o.kind === 'Role' && o.metadata.name === `${EPP}-leader-election`);
      expect(role?.rules).toEqual([
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        {
          apiGroups: ['coordination.k8s.io'],
          resources: ['leases'],
          resourceNames: [`epp-default-${POOL}.gateway-api-inference-extension.sigs.k8s.io`],
          verbs: ['get', 'update'],
        },
      ]);
      expect(names(objs, 'RoleBinding')).toContain(`${EPP}-leader-election-binding`);
    },
  },
  {
    name: 'provider istio',
    values: { provider: { name: 'istio' } },
    check(objs) {
      const dr = find(objs, 'DestinationRule');
      expect(dr.spec).toEqual({
        host: `${EPP}.default.svc.cluster.local`,
        trafficPolicy: { tls: { mode: 'SIMPLE', insecureSkipVerify: true } },
      });
      const port = (find(objs, 'Service').spec as { ports: { appProtocol?: string }[] }).ports[0];
      expect(port.appProtocol).toBeUndefined();
    },
  },
  {
    name: 'provider gke',
    values: {
      provider: { name: 'gke' },
      experimentalHttpRoute: { enabled: true },
      inferenceExtension: { monitoring: { prometheus: { enabled: true } } },
    },
    check(objs) {
      expect(find(objs, 'HealthCheckPolicy').spec).toMatchObject({
        default: { timeoutSec: 2, checkIntervalSec: 2, config: { type: 'HTTP' } },
      });
      expect(find(objs, 'GCPBackendPolicy').spec).toMatchObject({ default: { timeoutSec: 300 } });
      expect(names(objs, 'PodMonitoring')).toEqual([POOL]);
      expect(names(objs, 'ServiceMonitor')).toEqual([]);
      const rule = (find(objs, 'HTTPRoute').spec as { rules: object[] }).rules[0];
      expect(rule).not.toHaveProperty('timeouts');
    },
  },
  {
    name: 'provider kgateway',
    values: { provider: { name: 'kgateway' } },
    check(objs) {
      expect(objs.map((o) => o.kind).sort()).toEqual([
        'ConfigMap',
        'Deployment',
        'InferencePool',
        'Role',
        'RoleBinding',
        'Service',
        'ServiceAccount',
      ]);
    },
  },
  {
    name: 'monitoring.prometheus',
    values: {
      inferenceExtension: { monitoring: { prometheus: { enabled: true, extraLabels: { team: 'a' } } } },
    },
    check(objs) {
      const sm = find(objs, 'ServiceMonitor');
      expect(sm.metadata.name).toBe(`${EPP}-monitor`);
      expect(sm.metadata.labels?.team).toBe('a');
      expect(sm.spec).toMatchObject({
        endpoints: [
          {
            port: 'http-metrics',
            path: '/metrics',
            interval: '10s',
            authorization: {
              credentials: { name: 'inference-gateway-sa-metrics-reader-secret', key: 'token' },
            },
          },
        ],
      });
      const secret = find(objs, 'Secret');
      expect(secret.type).toBe('kubernetes.io/service-account-token');
      expect(names(objs, 'ClusterRole')).toEqual([`${POOL}-default-epp`]);
    },
  },
  {
    name: 'custom pluginsCustomConfig',
    values: {
      inferenceExtension: {
        pluginsConfigFile: 'custom-plugins.yaml',
        pluginsCustomConfig: { 'custom-plugins.yaml': CUSTOM_CONFIG },
      },
    },
    check(objs) {
      expect(find(objs, 'ConfigMap').data?.['custom-plugins.yaml']).toBe(CUSTOM_CONFIG);
      expect(container(objs).args).toContain('/config/custom-plugins.yaml');
    },
  },
  {
    name: 'experimentalHttpRoute',
    values: { experimentalHttpRoute: { enabled: true, inferenceGatewayName: 'inference-gateway' } },
    check(objs) {
      expect(find(objs, 'HTTPRoute').spec).toEqual({
        parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'inference-gateway' }],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/' } }],
            backendRefs: [{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: POOL }],
            timeouts: { request: '300s' },
          },
        ],
      });
    },
  },
  {
    name: 'inferenceObjectives',
    values: {
      inferenceObjectives: [
        { name: 'critical', priority: 10 },
        { name: 'sheddable', priority: -1 },
      ],
    },
    check(objs) {
      const io = objs.filter((o) => o.kind === 'InferenceObjective');
      expect(io.map((o) => [o.metadata.name, o.spec])).toEqual([
        ['critical', { priority: 10, poolRef: { group: 'inference.networking.k8s.io', name: POOL } }],
        ['sheddable', { priority: -1, poolRef: { group: 'inference.networking.k8s.io', name: POOL } }],
      ]);
    },
  },
  {
    name: 'modelServerType sglang, upstream flags mapped or left out',
    values: {
      inferencePool: { modelServerType: 'sglang' },
      inferenceExtension: {
        flags: {
          v: 4,
          'secure-serving': false,
          'grpc-health-port': 9013,
          'metrics-port': 9091,
          tracing: false,
        },
      },
    },
    check(objs) {
      const c = container(objs);
      expect(c.args).not.toContain('--secure-serving');
      // Plaintext: the port says so, or infergate's control plane would dial TLS.
      const svc = find(objs, 'Service');
      expect((svc.spec as { ports: { appProtocol?: string }[] }).ports[0].appProtocol).toBe(
        'kubernetes.io/h2c',
      );
      expect(svc.metadata.annotations).toEqual({ 'infergate.io/epp-health-check': 'grpc' });
      expect(c.args.join(' ')).toContain('--health-port 9013 --metrics-port 9091');
      expect(c.args.some((a) => /^--(v|tracing)\b/.test(a))).toBe(false);
      expect(c.readinessProbe).toMatchObject({ grpc: { port: 9013 } });
      expect(find(objs, 'ConfigMap').data?.['default-plugins.yaml']).toContain('defaultEngine: "sglang"');
    },
  },
  {
    name: 'env, extra ports, volumes, tolerations and a sidecar',
    values: {
      inferenceExtension: {
        env: [{ name: 'EXTRA', value: '1' }],
        extraContainerPorts: [{ name: 'extra', containerPort: 9999 }],
        extraServicePorts: [{ name: 'extra', port: 9999, targetPort: 9999 }],
        volumes: [{ name: 'scratch', emptyDir: {} }],
        volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
        tolerations: [{ key: 'dedicated', operator: 'Exists' }],
        sidecar: {
          enabled: true,
          name: 'proxy',
          image: 'envoyproxy/envoy:v1.40.0',
          args: ['-c', '/etc/envoy/envoy.yaml'],
          volumeMounts: [{ name: 'proxy-config', mountPath: '/etc/envoy' }],
          configMap: { name: 'proxy-config', data: { 'envoy.yaml': 'static_resources: {}\n' } },
        },
      },
    },
    check(objs) {
      const pod = (find(objs, 'Deployment').spec as { template: { spec: Record<string, unknown> } }).template
        .spec;
      expect((pod.containers as { name: string }[]).map((x) => x.name)).toEqual(['epp', 'proxy']);
      expect((pod.volumes as { name: string }[]).map((x) => x.name)).toEqual([
        'plugins-config-volume',
        'proxy-config',
        'scratch',
      ]);
      expect(pod.tolerations).toEqual([{ key: 'dedicated', operator: 'Exists' }]);
      expect(names(objs, 'ConfigMap').sort()).toEqual(['proxy-config', EPP]);
    },
  },
];

function find(objs: K8sObject[], kind: string): K8sObject {
  const o = objs.find((x) => x.kind === kind);
  if (!o) throw new Error(`no ${kind} rendered (got ${objs.map((x) => x.kind).join(', ')})`);
  return o;
}

function names(objs: K8sObject[], kind: string): string[] {
  return objs.filter((o) => o.kind === kind).map((o) => o.metadata.name);
}

type Container = { image: string; args: string[]; readinessProbe: object; livenessProbe: object };
function container(objs: K8sObject[]): Container {
  return (find(objs, 'Deployment').spec as { template: { spec: { containers: Container[] } } }).template.spec
    .containers[0];
}

/** The kinds providers and monitoring render whose CRDs (Prometheus operator, Istio, GKE) this cluster lacks: a
 * schema-free CRD each, so the dry run still checks names, namespaces and the envelope of those objects. */
function foreignCrds(): object[] {
  const kinds: [string, string, string, string][] = [
    ['monitoring.coreos.com', 'v1', 'ServiceMonitor', 'servicemonitors'],
    ['networking.istio.io', 'v1beta1', 'DestinationRule', 'destinationrules'],
    ['networking.gke.io', 'v1', 'HealthCheckPolicy', 'healthcheckpolicies'],
    ['networking.gke.io', 'v1', 'GCPBackendPolicy', 'gcpbackendpolicies'],
    ['monitoring.googleapis.com', 'v1', 'PodMonitoring', 'podmonitorings'],
  ];
  return kinds.map(([group, version, kind, plural]) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  }));
}

describeCluster('helm/inferencepool', () => {
  jest.setTimeout(300_000);
  const dir = tmpDir('helm-inferencepool');
  const c = new Cluster(path.join(dir, 'cluster'));
  let agent: ReturnType<typeof startNodeAgent> | undefined;
  const upstreamValues = path.join(dir, 'upstream-values.yaml');
  fs.writeFileSync(upstreamValues, UPSTREAM_VALUES);

  const helm = async (args: string[], allowFailure = false) => {
    const r = await c.exec(['helm', ...args], { timeoutMs: 180_000 });
    if (r.code !== 0 && !allowFailure)
      throw new Error(`helm ${args.join(' ')} failed (${r.code}):\n${r.stderr}`);
    return r;
  };
  const valuesFile = (name: string, values: object) => {
    const f = path.join(dir, `${name.replace(/\W+/g, '-')}.json`);
    fs.writeFileSync(f, JSON.stringify(values));
    return f;
  };
  const render = async (file: string) =>
    (await helm(['template', POOL, CHART, '--namespace', 'default', '-f', file])).stdout;

  beforeAll(async () => {
    await c.up();
    agent = startNodeAgent(c);
    await c.kubectl(
      ['apply', '-f', '-'],
      foreignCrds()
        .map((o) => JSON.stringify(o))
        .join('\n'),
    );
    await c.kubectl(['apply', '-f', 'examples/kubernetes/00-control-plane.yaml']);
    await c.kubectl(['apply', '-f', 'examples/kubernetes/10-gateway.yaml']);
  }, 300_000);

  afterAll(async () => {
    agent?.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    await c.down();
  }, 120_000);

  afterEach(() => {
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts)
      console.log(`node agent log:\n${(agent?.log() ?? '').slice(-6000)}`);
  });

  test('helm lint passes (with and without values); without modelServers.matchLabels the render fails saying so', async () => {
    for (const args of [[], ['-f', valuesFile('base', base)]]) {
      const lint = await helm(['lint', CHART, '--strict', ...args]);
      expect(lint.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    }
    const r = await helm(['template', POOL, CHART], true);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('.Values.inferencePool.modelServers.matchLabels is required');
  });

  test.each(MATRIX.map((m) => [m.name, m] as const))(
    'helm template %s: accepted by a server-side dry run',
    async (_name, m) => {
      const values = JSON.parse(JSON.stringify(base)) as Record<string, Record<string, unknown>>;
      for (const [k, v] of Object.entries(m.values)) values[k] = { ...values[k], ...(v as object) };
      const out = await render(valuesFile(m.name, values));
      const objs = (loadAll(out) as (K8sObject | null)[]).filter((o): o is K8sObject => !!o);
      m.check(objs);
      // Every EndpointPickerConfig file the chart writes is one infergate's EPP reads.
      const config = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === EPP);
      for (const [file, text] of Object.entries(config?.data ?? {}))
        expect(() => parseEndpointPickerConfig(text)).not.toThrow(file);
      const dry = await c.kubectl(['apply', '--dry-run=server', '-f', '-'], out, true);
      expect(dry.stderr).toBe('');
      expect(dry.code).toBe(0);
    },
  );

  test('a values file written for upstream’s chart renders unchanged, dropping the flags infergate does not take', async () => {
    expect(load(UPSTREAM_VALUES)).toMatchObject({
      inferencePool: { modelServers: { matchLabels: { app: POOL } } },
    });
    const objs = (loadAll(await render(upstreamValues)) as K8sObject[]).filter(Boolean);
    const args = container(objs).args;
    expect(
      args.filter((a) => /^--(v|zap-encoder|refresh-metrics-interval|grpc-health-port)$/.test(a)),
    ).toEqual([]);
    expect(args.join(' ')).toContain('--health-port 9003');
    expect(find(objs, 'InferencePool').spec).toMatchObject({
      endpointPickerRef: { failureMode: 'FailClose' },
    });
  });

  test('helm install (upstream values) → a completion through the managed Envoy lands on a pool pod; upgrade rolls the EPP; uninstall leaves nothing', async () => {
    const t0 = Date.now();
    await helm([
      'install',
      POOL,
      CHART,
      '--namespace',
      'default',
      '-f',
      upstreamValues,
      '--wait',
      '--timeout',
      '150s',
    ]);
    console.log(`helm install --wait: ${Date.now() - t0} ms`);
    const eppPods = async () =>
      (
        await c.getJson<{
          items: {
            metadata: { name: string; uid: string; annotations?: Record<string, string> };
            spec: { serviceAccountName: string; containers: { args: string[] }[] };
            status: { podIP?: string; conditions?: { type: string; status: string }[] };
          }[];
        }>(['pods', '-l', `inferencepool=${EPP}`])
      ).items;
    const [epp] = await eppPods();
    expect(epp.spec.serviceAccountName).toBe(EPP);

    await c.apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: POOL, namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: POOL } },
        template: {
          metadata: { labels: { app: POOL } },
          spec: {
            containers: [
              {
                name: 'vllm',
                image: 'ghcr.io/infergate/infergate:0.1.0',
                args: [
                  'sim',
                  '--address',
                  '$(POD_IP)',
                  '--port',
                  '8000',
                  '--model',
                  'meta-llama/Llama-3.1-8B-Instruct',
                ],
                env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
                ports: [{ name: 'http', containerPort: 8000 }],
                readinessProbe: { httpGet: { path: '/health', port: 8000 }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    });
    // FailClose: a 200 needs the EPP (TLS, on the chart's ServiceAccount) to have read the pool and its pods.
    const completion = async (what: string) => {
      const t = Date.now();
      expect(await servedByPool(c, URL, BODY, POOL, 180_000)).toMatch(/^10\.244\.1\.\d+$/);
      console.log(`${what}: ${Date.now() - t} ms`);
    };
    await completion('a 200 through the Gateway from the chart’s EPP');

    // The EPP answers ext_proc over TLS (self-signed, upstream's default). It reads the API with the in-cluster token
    // of the chart's ServiceAccount (the node agent never hands it the test's admin kubeconfig): without the Role's
    // pods rule it never becomes Ready and the install above times out (tried once by hand).
    const [running] = await eppPods();
    const tls = await c.exec(
      ['openssl', 's_client', '-connect', `${running.status.podIP}:9002`, '-alpn', 'h2'],
      {
        input: '',
      },
    );
    expect(tls.stdout).toContain('BEGIN CERTIFICATE');
    expect(tls.stdout).toContain('ALPN protocol: h2');
    const agentDir = path.join(c.dir, 'node-agent/node-a');
    const eppLogs = fs
      .readdirSync(agentDir)
      .filter((d) => d.startsWith(`default_${EPP}-`))
      .map((d) => fs.readFileSync(path.join(agentDir, d, 'epp.log'), 'utf8'));
    expect(eppLogs).toHaveLength(1);
    expect(eppLogs[0]).toContain('(TLS)');

    const can = async (verb: string, what: string) =>
      (
        await c.kubectl(
          ['auth', 'can-i', `--as=system:serviceaccount:default:${EPP}`, verb, what, '-n', 'default'],
          undefined,
          true,
        )
      ).stdout.trim();
    expect(await can('watch', 'pods')).toBe('yes');
    expect(await can('list', 'inferencepools.inference.networking.k8s.io')).toBe('yes');
    expect(await can('update', 'inferencepools.inference.networking.k8s.io/status')).toBe('no');
    expect(await can('list', 'secrets')).toBe('no');
    expect(await can('create', 'leases.coordination.k8s.io')).toBe('no');

    // A new EndpointPickerConfig: new checksum on the pod template, a new EPP pod running that file.
    const checksum = async () =>
      (
        await c.getJson<{ spec: { template: { metadata: { annotations: Record<string, string> } } } }>([
          'deployment',
          EPP,
        ])
      ).spec.template.metadata.annotations['checksum/config'];
    const before = await checksum();
    const custom = path.join(dir, 'custom-plugins.yaml');
    fs.writeFileSync(custom, CUSTOM_CONFIG);
    const t1 = Date.now();
    await helm([
      'upgrade',
      POOL,
      CHART,
      '--namespace',
      'default',
      '-f',
      upstreamValues,
      '--set',
      'inferenceExtension.pluginsConfigFile=custom-plugins.yaml',
      '--set-file',
      'inferenceExtension.pluginsCustomConfig.custom-plugins\\.yaml=' + custom,
      '--wait',
      '--timeout',
      '150s',
    ]);
    console.log(`helm upgrade --wait: ${Date.now() - t1} ms`);
    expect(await checksum()).not.toBe(before);
    const rolled = await until(
      'the old EPP pod gone and a new one Ready',
      async () => {
        const pods = await eppPods();
        const ready = pods.filter((p) =>
          p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
        );
        return pods.length === 1 && ready.length === 1 && pods[0].metadata.uid !== epp.metadata.uid
          ? pods[0]
          : undefined;
      },
      120_000,
    );
    expect(rolled.spec.containers[0].args).toContain('/config/custom-plugins.yaml');
    await completion('a 200 through the Gateway after the upgrade');

    // HA: 2 replicas elect a leader through the chart's Lease Role; only the leader is Ready. (No --wait: Helm
    // waits for every replica of a Recreate Deployment to be Ready, and a follower never is.)
    const t2 = Date.now();
    await helm([
      'upgrade',
      POOL,
      CHART,
      '--namespace',
      'default',
      '-f',
      upstreamValues,
      '--set',
      'inferenceExtension.replicas=2',
    ]);
    const lease = `epp-default-${POOL}.gateway-api-inference-extension.sigs.k8s.io`;
    await until(
      'two EPP pods running, exactly one Ready, the Lease held',
      async () => {
        const pods = await eppPods();
        const ready = pods.filter((p) =>
          p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
        );
        const holder = await leaseHolderPid(c, 'default', lease);
        return pods.length === 2 && pods.every((p) => p.status.podIP) && ready.length === 1 && holder
          ? true
          : undefined;
      },
      120_000,
    );
    console.log(`HA upgrade: one leader Ready of 2 after ${Date.now() - t2} ms`);
    expect(await can('update', `leases.coordination.k8s.io/${lease}`)).toBe('yes');
    expect(await can('update', 'leases.coordination.k8s.io/some-other-lease')).toBe('no');
    await completion('a 200 through the Gateway from the elected EPP');

    await helm(['uninstall', POOL, '--namespace', 'default', '--wait', '--timeout', '120s']);
    const left = await until(
      'the chart’s objects gone',
      async () => {
        const r = await c.kubectl(
          [
            'get',
            'deployments,services,configmaps,serviceaccounts,roles,rolebindings,inferencepools,pods,secrets',
            '-l',
            `app.kubernetes.io/instance=${POOL}`,
            '-o',
            'name',
          ],
          undefined,
          true,
        );
        const pods = await eppPods();
        const named = await c.kubectl(['get', 'inferencepool', POOL, '-o', 'name'], undefined, true);
        return r.code === 0 && r.stdout.trim() === '' && pods.length === 0 && named.code !== 0
          ? true
          : undefined;
      },
      60_000,
    );
    expect(left).toBe(true);
    const releases = await helm(['list', '--all', '--namespace', 'default', '-q']);
    expect(releases.stdout.trim()).toBe('');
  });
});
