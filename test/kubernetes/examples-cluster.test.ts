// examples/kubernetes applied as a user would (`kubectl apply -f examples/kubernetes/`), with the node agent running
// every Pod: the control plane (2 `serve` replicas), the managed Envoy, the EPP and the model servers, each
// authenticating with its own ServiceAccount's token, so a missing RBAC rule in the example fails here. A completion
// through the Gateway lands on a pool pod; the status leader's process SIGKILLed under a steady load fails no
// request, and the other replica takes over within the default lease.

import * as path from 'node:path';
import { waitFor } from '../../src/util/wait';
import { Cluster, clusterToolsMissing } from '../cluster/cluster';
import { tmpDir } from '../support/tmp';
import { leaseHolderPid, servedByPool, startNodeAgent, steadyLoad } from './fixtures';

const missing = clusterToolsMissing();
if (missing) console.log(`examples-cluster skipped: the pinned cluster binaries are not cached (${missing})`);
const describeCluster = missing ? describe.skip : describe;

const URL = 'http://infergate-inference-gateway.default.svc.cluster.local:8080/v1/completions';
const BODY = JSON.stringify({ model: 'meta-llama/Llama-3.1-8B-Instruct', prompt: 'Hello', max_tokens: 2 });

type Condition = { type: string; status: string; reason: string; message: string };
interface Obj {
  status?: {
    conditions?: Condition[];
    addresses?: { value: string }[];
    parents?: { controllerName?: string; conditions: Condition[] }[];
  };
}

describeCluster('examples/kubernetes on the test cluster', () => {
  jest.setTimeout(600_000);
  const c = new Cluster(path.join(tmpDir('examples-cluster'), 'cluster'));
  let agent: ReturnType<typeof startNodeAgent> | undefined;
  const programmed = (o: Obj) => o.status?.conditions?.find((x) => x.type === 'Programmed');

  beforeAll(async () => {
    await c.up();
    agent = startNodeAgent(c);
    await c.kubectl(['apply', '-f', 'examples/kubernetes/']);
  }, 600_000);

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

  test('the Gateway is Programmed and a completion lands on a pool pod', async () => {
    const t0 = Date.now();
    const gw = await waitFor(
      'Gateway inference-gateway Programmed',
      async () => {
        const g = await c.getJson<Obj>(['gateway', 'inference-gateway']);
        return programmed(g)?.status === 'True' ? g : undefined;
      },
      { timeoutMs: 240_000, everyMs: 500 },
    );
    console.log(`examples/kubernetes: Gateway Programmed ${Date.now() - t0} ms after kubectl apply returned`);
    expect(gw.status?.addresses?.length).toBe(1);
    expect(await servedByPool(c, URL, BODY, 'vllm-llama3-8b-instruct')).toMatch(/^10\.244\.1\.\d+$/);
    const route = await c.getJson<Obj>(['httproute', 'llm-route']);
    const ours = route.status?.parents?.find((p) => p.controllerName === 'infergate.io/gateway-controller');
    expect(ours?.conditions.map((x) => `${x.type}=${x.status}`).sort()).toEqual([
      'Accepted=True',
      'ResolvedRefs=True',
    ]);
  });

  test('the example grants no more than it needs: no Pod deletes, no Secrets writes, no access to RBAC', async () => {
    const can = async (sa: string, verb: string, what: string) =>
      (
        await c.kubectl(
          ['auth', 'can-i', `--as=system:serviceaccount:${sa}`, verb, what, '-n', 'default'],
          undefined,
          true,
        )
      ).stdout.trim();
    expect(await can('infergate-system:infergate', 'create', 'deployments')).toBe('yes');
    expect(await can('infergate-system:infergate', 'delete', 'pods')).toBe('no');
    expect(await can('infergate-system:infergate', 'create', 'secrets')).toBe('no');
    expect(await can('infergate-system:infergate', 'create', 'rolebindings')).toBe('no');
    expect(await can('default:vllm-llama3-8b-instruct-epp', 'watch', 'pods')).toBe('yes');
    expect(await can('default:vllm-llama3-8b-instruct-epp', 'list', 'secrets')).toBe('no');
  });

  test('the status leader’s process SIGKILLed under load: 0 failed requests, the other replica writes status', async () => {
    const load = await steadyLoad(c, URL, BODY);
    await new Promise((r) => setTimeout(r, 3000));
    const leader = await leaseHolderPid(c, 'infergate-system', 'infergate-status-writer');
    expect(leader).toBeDefined();
    await c.exec(['kill', '-9', String(leader)]);
    const killedAt = Date.now();
    await c.apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'after-failover', namespace: 'default' },
      spec: {
        parentRefs: [{ name: 'inference-gateway' }],
        hostnames: ['after.example'],
        rules: [
          {
            backendRefs: [
              {
                group: 'inference.networking.k8s.io',
                kind: 'InferencePool',
                name: 'vllm-llama3-8b-instruct',
              },
            ],
          },
        ],
      },
    });
    await waitFor(
      'the new route’s status from the other replica',
      async () => {
        const r = await c.getJson<Obj>(['httproute', 'after-failover']);
        return r.status?.parents?.some((p) => p.controllerName === 'infergate.io/gateway-controller');
      },
      { timeoutMs: 120_000, everyMs: 200 },
    );
    const took = Date.now() - killedAt;
    const next = await leaseHolderPid(c, 'infergate-system', 'infergate-status-writer');
    await new Promise((r) => setTimeout(r, 2000));
    const result = await load.stop();
    console.log(
      `examples/kubernetes: leader serve (pid ${leader}) SIGKILLed; pid ${next} wrote the next status ${took} ms later ` +
        `(default lease 15 s); ${result.ok} of ${result.sent} requests 200, ${result.failed} failed`,
    );
    expect(next).not.toBe(leader);
    expect(result.failures).toEqual([]);
    expect(result.failed).toBe(0);
    expect(result.sent).toBeGreaterThan(20);
  });
});
