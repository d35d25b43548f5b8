// helm/infergate with real Helm on the test cluster: lint; a matrix of values rendered and accepted by the API
// server (server-side dry run); then installed with the node agent running its Pods, each replica authenticating with
// the chart's ServiceAccount token, so a missing RBAC rule fails here: a Gateway of the chart's GatewayClass is
// Programmed and a completion through its managed Envoy lands on a pool pod. An upgrade that scopes the controller to
// one namespace rolls the Deployment and the new replicas still write status (the Role path of the RBAC); uninstall
// leaves none of the chart's objects.

import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadAll } from 'js-yaml';
import { sleep, waitFor } from '../../src/util/wait';
import { Cluster, clusterToolsMissing } from '../cluster/cluster';
import { servedByPool } from '../kubernetes/fixtures';
import { tmpDir } from '../support/tmp';

const missing = clusterToolsMissing();
if (missing) console.log(`helm/infergate skipped: the pinned cluster binaries are not cached (${missing})`);
const describeCluster = missing ? describe.skip : describe;

const CHART = 'helm/infergate';
const NS = 'infergate-system';
const RELEASE = 'ig';
// The release name does not contain the chart's, so every object is "ig-infergate": the managed Envoys must be
// pointed at that Service (--envoy-xds-address), not at the binary's default "infergate".
const FULLNAME = 'ig-infergate';
const CONTROLLER = 'infergate.io/gateway-controller';
const URL = 'http://infergate-chart-gateway.default.svc.cluster.local:8080/v1/completions';
const BODY = JSON.stringify({ model: 'meta-llama/Llama-3.1-8B-Instruct', prompt: 'Hello', max_tokens: 2 });

type Condition = { type: string; status: string; reason: string; message: string };
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; generation?: number; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: {
    conditions?: Condition[];
    parents?: { controllerName?: string; conditions: Condition[] }[];
    readyReplicas?: number;
    updatedReplicas?: number;
  };
}
interface PodTemplate {
  template: { spec: { containers: { args: string[]; env: { name: string }[] }[] } };
}

const gateway = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name: 'chart-gateway', namespace: 'default' },
  spec: { gatewayClassName: 'infergate', listeners: [{ name: 'http', protocol: 'HTTP', port: 8080 }] },
};
const route = (name: string, hostname?: string) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name, namespace: 'default' },
  spec: {
    parentRefs: [{ name: 'chart-gateway' }],
    ...(hostname ? { hostnames: [hostname] } : {}),
    rules: [
      {
        backendRefs: [
          { group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'vllm-llama3-8b-instruct' },
        ],
      },
    ],
  },
});

const condition = (o: K8sObject, type: string) => o.status?.conditions?.find((x) => x.type === type);
const argsOf = (objs: K8sObject[]) =>
  (objs.find((o) => o.kind === 'Deployment')!.spec as unknown as PodTemplate).template.spec.containers[0]
    .args;

describeCluster('helm/infergate on the test cluster', () => {
  jest.setTimeout(300_000);
  const c = new Cluster(path.join(tmpDir('helm-infergate'), 'cluster'));
  let agent: ChildProcess | undefined;
  let agentLog = '';

  const helm = async (args: string[]) => {
    const r = await c.exec(['helm', ...args], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const render = async (sets: string[]) => {
    const text = await helm(['template', RELEASE, CHART, '-n', NS, ...sets.flatMap((s) => ['--set', s])]);
    return { text, objs: (loadAll(text) as (K8sObject | null)[]).filter((o): o is K8sObject => !!o) };
  };
  // What the chart's ServiceAccount may do, as the API server's authorizer answers.
  const can = async (ns: string, ...args: string[]) =>
    (
      await c.kubectl(
        ['auth', 'can-i', `--as=system:serviceaccount:${NS}:${FULLNAME}`, '-n', ns, ...args],
        undefined,
        true,
      )
    ).stdout.trim();
  const routeStatus = async (name: string) => {
    const r = await c.getJson<K8sObject>(['httproute', name]);
    return r.status?.parents?.find((p) => p.controllerName === CONTROLLER);
  };
  const fullyRolled = async () => {
    const d = await c.getJson<K8sObject>(['deployment', FULLNAME, '-n', NS]);
    const pods = await c.getJson<{ items: K8sObject[] }>([
      'pods',
      '-n',
      NS,
      '-l',
      `app.kubernetes.io/instance=${RELEASE}`,
    ]);
    return { d, pods: pods.items };
  };

  beforeAll(async () => {
    await c.up();
    agent = c.spawn([
      'node',
      '-r',
      'ts-node/register/transpile-only',
      'test/support/node-agent/main.ts',
      '--node',
      'node-a',
      '--pod-cidr',
      '10.244.1.0/24',
    ]);
    agent.stdout?.on('data', (d: Buffer) => (agentLog += d.toString()));
    agent.stderr?.on('data', (d: Buffer) => (agentLog += d.toString()));
    await c.kubectl(['create', 'namespace', NS]);
    await c.kubectl(['create', 'namespace', 'team-a']);
  }, 300_000);

  afterAll(async () => {
    agent?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    await c.down();
  }, 120_000);

  afterEach(() => {
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts)
      console.log(`node agent log:\n${agentLog.slice(-6000)}`);
  });

  test('helm lint --strict passes', async () => {
    const out = await helm(['lint', '--strict', CHART]);
    expect(out).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  test('values.schema.json refuses a misspelt key and a bad fleet parameter before anything is applied', async () => {
    const refused = async (set: string) => {
      const r = await c.exec(['helm', 'template', RELEASE, CHART, '-n', NS, '--set', set]);
      expect(r.code).not.toBe(0);
      return r.stderr;
    };
    expect(await refused('replica=3')).toContain("additional properties 'replica' not allowed");
    expect(await refused('gatewayClass.envoy.serviceType=Internal')).toContain(
      '/gatewayClass/envoy/serviceType',
    );
    expect(await refused('leaderElection.leaseDuration=15')).toContain('/leaderElection/leaseDuration');
  });

  const matrix: { name: string; sets: string[]; check: (objs: K8sObject[]) => void }[] = [
    {
      name: 'defaults',
      sets: [],
      check: (objs) => {
        const d = objs.find((o) => o.kind === 'Deployment')!;
        expect(d.spec?.replicas).toBe(2);
        const ctr = (d.spec as unknown as PodTemplate).template.spec.containers[0] as unknown as {
          image: string;
        };
        expect(ctr.image).toBe('ghcr.io/infergate/infergate:0.1.0');
        expect(argsOf(objs).slice(0, 4)).toEqual(['serve', '--kubernetes', '--xds-address', '$(POD_IP)']);
        expect(argsOf(objs)).toContain(`${FULLNAME}.${NS}.svc.cluster.local:18000`);
        const kinds = objs.map((o) => o.kind).sort();
        expect(kinds).toEqual(
          [
            'ClusterRole',
            'ClusterRoleBinding',
            'ConfigMap',
            'Deployment',
            'GatewayClass',
            'PodDisruptionBudget',
            'Role',
            'RoleBinding',
            'Service',
            'ServiceAccount',
          ].sort(),
        );
        const svc = objs.find((o) => o.kind === 'Service')!;
        expect(svc.spec?.ports).toEqual([
          { name: 'xds', port: 18000, targetPort: 'xds', appProtocol: 'kubernetes.io/h2c' },
          { name: 'admin', port: 9091, targetPort: 'admin', appProtocol: 'http' },
        ]);
      },
    },
    {
      name: '3 replicas',
      sets: ['replicas=3', 'podDisruptionBudget.minAvailable=2'],
      check: (objs) => {
        expect(objs.find((o) => o.kind === 'Deployment')!.spec?.replicas).toBe(3);
        expect(objs.find((o) => o.kind === 'PodDisruptionBudget')!.spec?.minAvailable).toBe(2);
      },
    },
    {
      name: 'provisioning off',
      sets: ['disableEnvoyProvisioning=true'],
      check: (objs) => {
        expect(argsOf(objs)).toContain('--disable-envoy-provisioning');
        expect(argsOf(objs)).not.toContain('--envoy-xds-address');
        const rules = objs.find((o) => o.kind === 'ClusterRole') as unknown as {
          rules: { resources: string[]; verbs: string[] }[];
        };
        expect(rules.rules.filter((r) => r.verbs.includes('create'))).toEqual([]);
        // No fleet to size: the GatewayClass has no parametersRef and there is no parameters ConfigMap.
        expect(objs.find((o) => o.kind === 'GatewayClass')!.spec?.parametersRef).toBeUndefined();
        expect(objs.filter((o) => o.kind === 'ConfigMap')).toEqual([]);
      },
    },
    {
      name: 'namespace scoped',
      sets: ['watchNamespace=team-a'],
      check: (objs) => {
        expect(argsOf(objs).join(' ')).toContain('--namespace team-a');
        const roles = objs
          .filter((o) => o.kind === 'Role')
          .map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
        expect(roles.sort()).toEqual([`${NS}/${FULLNAME}-leases`, `team-a/${FULLNAME}`]);
        const cr = objs.find((o) => o.kind === 'ClusterRole') as unknown as {
          rules: { resources: string[] }[];
        };
        expect(cr.rules.flatMap((r) => r.resources).sort()).toEqual([
          'customresourcedefinitions',
          'gatewayclasses',
          'gatewayclasses/status',
          'namespaces',
        ]);
      },
    },
    {
      name: 'scoped to its own namespace, a ServiceAccount of the user’s',
      sets: [`watchNamespace=${NS}`, 'serviceAccount.create=false', 'serviceAccount.name=platform-infergate'],
      check: (objs) => {
        expect(objs.filter((o) => o.kind === 'ServiceAccount')).toEqual([]);
        const d = objs.find((o) => o.kind === 'Deployment')!.spec as unknown as {
          template: { spec: { serviceAccountName: string } };
        };
        expect(d.template.spec.serviceAccountName).toBe('platform-infergate');
        const bindings = objs.filter((o) => o.kind.endsWith('Binding')) as unknown as {
          subjects: object[];
        }[];
        expect(bindings).toHaveLength(3);
        for (const b of bindings)
          expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: 'platform-infergate', namespace: NS }]);
        // The parameters ConfigMap is in the watched namespace already: no extra by-name rule.
        const leases = objs.find((o) => o.metadata.name === `${FULLNAME}-leases`) as unknown as {
          rules: object[];
        };
        expect(leases.rules).toEqual([
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
        ]);
      },
    },
    {
      name: 'custom class params and flags',
      sets: [
        'gatewayClass.name=edge',
        'controllerName=example.com/edge',
        'gatewayClass.envoy.replicas=3',
        'gatewayClass.envoy.serviceType=NodePort',
        'gatewayClass.envoy.logLevel=debug',
        'gatewayClass.envoy.adminPort=0',
        'gatewayClass.envoy.readyPort=19101',
        'gatewayClass.envoy.resources.limits.memory=1Gi',
        'leaderElection.leaseDuration=30s',
        'leaderElection.renewDeadline=20s',
        'leaderElection.retryPeriod=4s',
        'kubeApi.qps=20',
        'kubeApi.burst=40',
        'nodeSelector.kubernetes\\.io/os=linux',
        'tolerations[0].key=dedicated,tolerations[0].operator=Exists',
      ],
      check: (objs) => {
        const cm = objs.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
        expect(cm.data).toEqual({
          replicas: '3',
          image: 'docker.io/envoyproxy/envoy:v1.40.0',
          serviceType: 'NodePort',
          resources: JSON.stringify({
            limits: { memory: '1Gi' },
            requests: { cpu: '100m', memory: '256Mi' },
          }),
          logLevel: 'debug',
          adminPort: '0',
          readyPort: '19101',
        });
        const gc = objs.find((o) => o.kind === 'GatewayClass')!;
        expect(gc.metadata.name).toBe('edge');
        expect(gc.spec?.controllerName).toBe('example.com/edge');
        expect(argsOf(objs).join(' ')).toContain(
          '--controller-name example.com/edge --envoy-xds-address ig-infergate.infergate-system.svc.cluster.local:18000 ' +
            '--leader-elect-lease-duration 30s --leader-elect-renew-deadline 20s --leader-elect-retry-period 4s ' +
            '--kube-api-qps 20 --kube-api-burst 40',
        );
      },
    },
  ];

  test.each(matrix)('helm template ($name) is accepted by a server-side dry run', async ({ sets, check }) => {
    const { text, objs } = await render(sets);
    check(objs);
    const r = await c.kubectl(['apply', '--dry-run=server', '-f', '-'], text);
    expect(r.stdout.trim().split('\n')).toHaveLength(objs.length);
  });

  test('monitoring on renders a ServiceMonitor for the admin port (no CRD here: checked as YAML)', async () => {
    const { objs } = await render([
      'monitoring.serviceMonitor.enabled=true',
      'monitoring.serviceMonitor.labels.release=prom',
    ]);
    const sm = objs.find((o) => o.kind === 'ServiceMonitor')!;
    expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(sm.metadata.labels?.release).toBe('prom');
    expect(sm.spec).toEqual({
      selector: {
        matchLabels: { 'app.kubernetes.io/name': 'infergate', 'app.kubernetes.io/instance': RELEASE },
      },
      namespaceSelector: { matchNames: [NS] },
      endpoints: [{ port: 'admin', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }],
    });
    // The Service's admin port is what it selects; everything else is accepted by the API server.
    const svc = objs.find((o) => o.kind === 'Service')!;
    expect(svc.metadata.labels).toMatchObject((sm.spec!.selector as { matchLabels: object }).matchLabels);
    const rest = objs.filter((o) => o.kind !== 'ServiceMonitor');
    await c.kubectl(
      ['apply', '--dry-run=server', '-f', '-'],
      JSON.stringify({ kind: 'List', apiVersion: 'v1', items: rest }),
    );
  });

  test('helm install: a Gateway of the chart’s class is Programmed and a completion lands on a pool pod', async () => {
    const t0 = Date.now();
    await helm(['install', RELEASE, CHART, '-n', NS, '--set', 'gatewayClass.envoy.serviceType=ClusterIP']);
    // Before any Gateway exists: what a replica's /readyz says (helm install --wait waits on it).
    const ip = await waitFor(
      'a control-plane replica to have an address',
      async () =>
        (await fullyRolled()).pods.map((p) => (p.status as { podIP?: string } | undefined)?.podIP)[0],
      { timeoutMs: 60_000, everyMs: 200 },
    );
    const readyz = async () =>
      (await c.exec(['curl', '-s', '-w', ' %{http_code}', `http://${ip}:9091/readyz`])).stdout.trim();
    await waitFor('the admin server to answer', async () => !(await readyz()).endsWith('000'), {
      timeoutMs: 60_000,
      everyMs: 200,
    });
    await sleep(3000);
    const ready = await readyz();
    console.log(`helm/infergate: /readyz of a replica with no Gateway yet: ${ready}`);
    await c.kubectl(['apply', '-f', 'examples/kubernetes/20-pool.yaml']);
    await c.apply(gateway);
    await c.apply(route('chart-route'));
    await waitFor(
      'Gateway chart-gateway Programmed',
      async () =>
        condition(await c.getJson<K8sObject>(['gateway', 'chart-gateway']), 'Programmed')?.status === 'True',
      { timeoutMs: 180_000, everyMs: 500 },
    );
    console.log(`helm/infergate: Gateway Programmed ${Date.now() - t0} ms after helm install started`);
    const cls = await c.getJson<K8sObject>(['gatewayclass', 'infergate']);
    expect(condition(cls, 'Accepted')?.status).toBe('True');
    expect(await servedByPool(c, URL, BODY, 'vllm-llama3-8b-instruct', 60_000)).toMatch(/^10\.244\.1\.\d+$/);
    expect((await routeStatus('chart-route'))?.conditions.map((x) => `${x.type}=${x.status}`).sort()).toEqual(
      ['Accepted=True', 'ResolvedRefs=True'],
    );
    // Both replicas run on the chart's ServiceAccount, which can do what provisioning needs and no more.
    const { pods: cp } = await fullyRolled();
    expect(cp).toHaveLength(2);
    expect(cp.map((p) => (p.spec as { serviceAccountName: string }).serviceAccountName)).toEqual([
      FULLNAME,
      FULLNAME,
    ]);
    // …and authenticate as it: the node agent gives them the in-cluster token, never the test's admin kubeconfig.
    const agentDir = path.join(c.dir, 'node-agent/node-a');
    const logs = fs
      .readdirSync(agentDir)
      .filter((d) => d.startsWith(`${NS}_${FULLNAME}-`))
      .map((d) => fs.readFileSync(path.join(agentDir, d, 'infergate.log'), 'utf8'));
    expect(logs).toHaveLength(2);
    for (const log of logs) expect(log).toContain('Kubernetes API https://127.0.0.1:6443 (in-cluster)');
    expect(await can('default', 'create', 'deployments')).toBe('yes');
    expect(await can('default', 'patch', 'gateways.gateway.networking.k8s.io', '--subresource=status')).toBe(
      'yes',
    );
    expect(await can(NS, 'update', 'leases')).toBe('yes');
    expect(await can('default', 'update', 'leases')).toBe('no');
    expect(await can('default', 'delete', 'pods')).toBe('no');
    expect(await can('default', 'create', 'secrets')).toBe('no');
    expect(await can('default', 'create', 'rolebindings')).toBe('no');
  });

  test('the PodDisruptionBudget lets one replica be evicted and refuses the second', async () => {
    await waitFor(
      'the PDB controller to allow one disruption',
      async () =>
        (await c.getJson<{ status?: { disruptionsAllowed?: number } }>(['pdb', FULLNAME, '-n', NS])).status
          ?.disruptionsAllowed === 1,
      { timeoutMs: 30_000, everyMs: 200 },
    );
    const [a, b] = (await fullyRolled()).pods.map((p) => p.metadata.name);
    const evict = (pod: string) =>
      c.kubectl(
        ['create', '--raw', `/api/v1/namespaces/${NS}/pods/${pod}/eviction`, '-f', '-'],
        JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: NS } }),
        true,
      );
    expect((await evict(a)).code).toBe(0);
    const second = await evict(b);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain('disruption budget');
    // The Deployment replaces the evicted replica; both Ready again before the upgrade.
    await waitFor(
      'two Ready replicas again, the evicted one gone',
      async () => {
        const x = await fullyRolled();
        return (
          x.pods.length === 2 && !x.pods.some((p) => p.metadata.name === a) && x.d.status?.readyReplicas === 2
        );
      },
      { timeoutMs: 60_000, everyMs: 300 },
    );
  });

  test('helm upgrade scoping the controller to one namespace rolls the Deployment; the new replicas write status', async () => {
    const before = await fullyRolled();
    const oldPods = new Set(before.pods.map((p) => p.metadata.name));
    const t0 = Date.now();
    // --wait returns once the new replicas are Ready, which they are once they have compiled the Gateway.
    await helm([
      'upgrade',
      RELEASE,
      CHART,
      '-n',
      NS,
      '--reuse-values',
      '--set',
      'watchNamespace=default',
      '--wait',
      '--timeout',
      '120s',
    ]);
    console.log(`helm/infergate: helm upgrade --wait returned after ${Date.now() - t0} ms`);
    const after = await waitFor(
      'the rollout to replace both replicas',
      async () => {
        const x = await fullyRolled();
        const fresh = x.pods.filter((p) => !oldPods.has(p.metadata.name));
        return fresh.length === 2 && x.pods.length === 2 && x.d.status?.readyReplicas === 2 ? x : undefined;
      },
      { timeoutMs: 120_000, everyMs: 500 },
    );
    console.log(`helm/infergate: upgrade rolled both replicas in ${Date.now() - t0} ms`);
    expect(after.d.metadata.generation).toBeGreaterThan(before.d.metadata.generation!);
    expect(argsOf([after.d]).join(' ')).toContain('--namespace default');
    // The namespaced rules now come from a Role in default; a route added now gets status from the new leader.
    expect(await can('kube-system', 'list', 'httproutes.gateway.networking.k8s.io')).toBe('no');
    expect(await can('default', 'list', 'httproutes.gateway.networking.k8s.io')).toBe('yes');
    // Outside the watched namespace only the class's parameters ConfigMap is readable, by name.
    expect(await can(NS, 'get', `configmap/${FULLNAME}-envoy-fleet`)).toBe('yes');
    expect(await can(NS, 'get', 'configmap/other')).toBe('no');
    await c.apply(route('after-upgrade', 'after.example'));
    await waitFor(
      'status of the route added after the upgrade',
      async () => (await routeStatus('after-upgrade')) ?? undefined,
      {
        timeoutMs: 90_000,
        everyMs: 500,
      },
    );
    expect((await routeStatus('after-upgrade'))?.conditions.find((x) => x.type === 'Accepted')?.status).toBe(
      'True',
    );
    expect(await servedByPool(c, URL, BODY, 'vllm-llama3-8b-instruct', 60_000)).toMatch(/^10\.244\.1\.\d+$/);
  });

  test('helm uninstall (after the Gateway, which owns its Envoy objects) leaves none of the chart’s objects', async () => {
    await c.kubectl(['delete', 'gateway', 'chart-gateway', '--wait=true', '--timeout=60s']);
    await waitFor(
      'the managed Envoy objects to be collected with their Gateway',
      async () => {
        const r = await c.kubectl(
          [
            'get',
            'deployments,services,configmaps',
            '-l',
            'app.kubernetes.io/managed-by=infergate',
            '-o',
            'name',
          ],
          undefined,
          true,
        );
        return r.code === 0 && r.stdout.trim() === '' ? true : undefined;
      },
      { timeoutMs: 60_000, everyMs: 500 },
    );
    await helm(['uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '90s']);
    const left = async () => {
      const r = await c.kubectl(
        [
          'get',
          'deployments,replicasets,pods,services,serviceaccounts,configmaps,roles,rolebindings,poddisruptionbudgets,' +
            'clusterroles,clusterrolebindings,gatewayclasses',
          '-A',
          '-l',
          `app.kubernetes.io/instance=${RELEASE}`,
          '-o',
          'name',
        ],
        undefined,
        true,
      );
      return r.stdout.trim();
    };
    await waitFor(
      'every object of the release to be gone',
      async () => ((await left()) === '' ? true : undefined),
      {
        timeoutMs: 60_000,
        everyMs: 500,
      },
    );
    // The ReplicaSets' Pods carry no chart label of their own beyond the template's; check by name too.
    const rest = await c.kubectl(['get', 'all,lease', '-n', NS, '-o', 'name'], undefined, true);
    console.log(
      `helm/infergate: left in ${NS} after uninstall: ${rest.stdout.trim().split('\n').join(', ') || 'nothing'}`,
    );
    expect(rest.stdout.split('\n').filter((l) => l && !l.startsWith('lease.'))).toEqual([]);
  });
});
