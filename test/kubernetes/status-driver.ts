// Child-process driver for the status and leader suites: client-node is ESM-only and jest's CJS runtime cannot
// import it, so the tests run this under ts-node inside the cluster's namespace.
//   write            stdin {statuses, supportedFeatures?, addresses?} → one JSON report line on stdout
//   elect ID NS NAME  runs a LeaderElector; prints "leading|stopped|leader ID <epoch ms>" lines; SIGTERM = clean stop
//   conflict         like write, but the first patch of each object races a label change (expects a 409 + re-read)
//   session          a KubernetesSource's informers as the writer's cache; one stdin JSON line per pass
//                    {statuses, supportedFeatures?, waitFor?: [{kind, namespace, name, resourceVersion}], race?}
//                    → one report line {..., requests (API requests this pass), deliveries, statusOnlyUpdates};
//                    {settleMs} alone waits that long and reports deliveries and statusOnlyUpdates
//   health PORT       one JSON line: the gRPC health status of liveness, readiness and ext_proc on 127.0.0.1:PORT

import type { ResourceStatus } from '../../src/compiler/ir';
import { CONTROLLER_NAME } from '../../src/compiler/ir';
import { checkHealth } from '../../src/epp/server/health';
import { kubeClient } from '../../src/sources/kubernetes/client';
import { createInterface } from 'node:readline';
import type { KubeClient } from '../../src/sources/kubernetes/client';
import { GATEWAY, GATEWAY_CLASS, HTTP_ROUTE, POOL_V1 } from '../../src/sources/kubernetes/kinds';
import { LeaderElector } from '../../src/sources/kubernetes/leader';
import { KubernetesSource } from '../../src/sources/kubernetes/source';
import { STATUS_KINDS, StatusWriter } from '../../src/sources/kubernetes/status/writer';

async function readStdin(): Promise<string> {
  let s = '';
  for await (const chunk of process.stdin) s += String(chunk);
  return s;
}

async function main(): Promise<void> {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'health') {
    const out: Record<string, number | string> = {};
    for (const service of ['liveness', 'readiness', 'envoy.service.ext_proc.v3.ExternalProcessor'])
      out[service] = await check(Number(args[0]), service).catch((err: Error) => err.message);
    process.stdout.write(JSON.stringify(out) + '\n');
    return;
  }
  const client = await kubeClient();
  if (mode === 'session') return session(client);
  if (mode === 'write' || mode === 'conflict') {
    const input = JSON.parse(await readStdin()) as {
      statuses: ResourceStatus[];
      supportedFeatures?: string[];
      addresses?: Record<string, { type?: string; value: string }[]>;
      controllerName?: string;
    };
    const race = racer(client, () => mode === 'conflict');
    const writer = new StatusWriter(client, {
      controllerName: input.controllerName ?? CONTROLLER_NAME,
      beforePatch: race,
    });
    const report = await writer.write(input.statuses, {
      supportedFeatures: input.supportedFeatures,
      addresses: new Map(Object.entries(input.addresses ?? {})),
    });
    const requests = writer.requests();
    process.stdout.write(JSON.stringify({ ...report, writes: writer.writes(), requests }) + '\n');
    return;
  }
  if (mode === 'elect') {
    const [identity, namespace, name] = args;
    const say = (what: string) => process.stdout.write(`${what} ${Date.now()}\n`);
    const elector = new LeaderElector(client, {
      identity,
      namespace,
      name,
      leaseDurationMs: 3000,
      renewDeadlineMs: 2000,
      retryPeriodMs: 250,
      onStartedLeading: () => say(`leading ${identity}`),
      onStoppedLeading: () => say(`stopped ${identity}`),
      onNewLeader: (id) => say(`leader ${id}`),
      onError: (err) => process.stderr.write(`elector error: ${String(err)}\n`),
    });
    process.on('SIGTERM', () => void elector.stop().then(() => process.exit(0)));
    elector.start();
    return;
  }
  throw new Error(`status-driver: unknown mode ${mode}`);
}

/** Another writer changes the object after our read: its resourceVersion moves, so our patch must get 409. */
function racer(client: KubeClient, on: () => boolean) {
  const custom = client.config.makeApiClient(client.lib.CustomObjectsApi);
  const { setHeaderOptions, PatchStrategy } = client.lib;
  return async (s: ResourceStatus, attempt: number) => {
    if (!on() || attempt > 0) return;
    const k = STATUS_KINDS[s.kind];
    const body = { metadata: { labels: { raced: String(Date.now()) } } };
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    if (s.namespace)
      await custom.patchNamespacedCustomObject({ ...k, namespace: s.namespace, name: s.name, body }, merge);
    else await custom.patchClusterCustomObject({ ...k, name: s.name, body }, merge);
  };
}

interface Pass {
  statuses?: ResourceStatus[];
  supportedFeatures?: string[];
  waitFor?: { kind: ResourceStatus['kind']; namespace: string; name: string; resourceVersion: string }[];
  race?: boolean;
  settleMs?: number;
  /** Right after the pass, the same statuses again, without waiting for our write's watch event. */
  again?: boolean;
}

// What serve --kubernetes does: the informers feed the compile and are the writer's cache. Here the statuses come
// from the test (buildIR on what it listed); waitFor holds a pass until the cache has seen what the test saw, as a
// compile from the same cache would have.
async function session(client: KubeClient): Promise<void> {
  const source = new KubernetesSource({
    client,
    watches: [GATEWAY_CLASS, GATEWAY, HTTP_ROUTE, POOL_V1].map((kind) => ({ kind })),
  });
  let deliveries = 0;
  await source.start(() => deliveries++);
  let race = false;
  const writer = new StatusWriter(client, {
    controllerName: CONTROLLER_NAME,
    lookup: source.lookup,
    beforePatch: racer(client, () => race),
  });
  const say = (o: object) =>
    process.stdout.write(
      JSON.stringify({ ...o, deliveries, statusOnlyUpdates: source.statusOnlyUpdates }) + '\n',
    );
  say({ ready: true });
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const pass = JSON.parse(line) as Pass;
    if (pass.settleMs !== undefined) {
      await new Promise((r) => setTimeout(r, pass.settleMs));
      say({});
      continue;
    }
    const deadline = Date.now() + 10_000;
    for (const w of pass.waitFor ?? []) {
      const k = STATUS_KINDS[w.kind];
      const ref = { ...k, kind: w.kind, namespace: w.namespace, name: w.name };
      while (source.lookup(ref)?.metadata.resourceVersion !== w.resourceVersion) {
        if (Date.now() > deadline)
          throw new Error(`cache never saw ${w.kind} ${w.name}@${w.resourceVersion}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    race = !!pass.race;
    const statuses = pass.statuses ?? [];
    const extras = { supportedFeatures: pass.supportedFeatures };
    const rvs = () =>
      statuses.map(
        (s) =>
          source.lookup({ ...STATUS_KINDS[s.kind], kind: s.kind, namespace: s.namespace, name: s.name })
            ?.metadata.resourceVersion,
      );
    const seen = rvs();
    let before = writer.requests();
    const report = await writer.write(statuses, extras);
    const requests = writer.requests() - before;
    let again: object | undefined;
    if (pass.again) {
      // How many objects the cache still holds at the version we read (our write's event not yet in).
      const now = rvs();
      const behind = now.filter((rv, i) => rv === seen[i]).length - report.unchanged;
      before = writer.requests();
      again = { ...(await writer.write(statuses, extras)), requests: writer.requests() - before, behind };
    }
    say({ ...report, requests, again });
  }
  source.stop();
}

const check = (port: number, service: string) => checkHealth(`127.0.0.1:${port}`, service);

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
