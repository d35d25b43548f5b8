// Child-process driver for the status and leader suites: client-node is ESM-only and jest's CJS runtime cannot
// import it, so the tests run this under ts-node inside the cluster's namespace.
//   write            stdin {statuses, supportedFeatures?, addresses?} → one JSON report line on stdout
//   elect ID NS NAME  runs a LeaderElector; prints "leading|stopped|leader ID <epoch ms>" lines; SIGTERM = clean stop
//   conflict         like write, but the first patch of each object races a label change (expects a 409 + re-read)
//   health PORT       one JSON line: the gRPC health status of liveness, readiness and ext_proc on 127.0.0.1:PORT

import type { ResourceStatus } from '../../src/compiler/ir';
import { CONTROLLER_NAME } from '../../src/compiler/ir';
import { checkHealth } from '../../src/epp/server/health';
import { kubeClient } from '../../src/sources/kubernetes/client';
import { LeaderElector } from '../../src/sources/kubernetes/leader';
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
  if (mode === 'write' || mode === 'conflict') {
    const input = JSON.parse(await readStdin()) as {
      statuses: ResourceStatus[];
      supportedFeatures?: string[];
      addresses?: Record<string, { type?: string; value: string }[]>;
      controllerName?: string;
    };
    const custom = client.config.makeApiClient(client.lib.CustomObjectsApi);
    const { setHeaderOptions, PatchStrategy } = client.lib;
    // Another writer changes the object after our read: its resourceVersion moves, so our patch must get 409.
    const race = async (s: ResourceStatus, attempt: number) => {
      if (mode !== 'conflict' || attempt > 0) return;
      const k = STATUS_KINDS[s.kind];
      const body = { metadata: { labels: { raced: String(Date.now()) } } };
      const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
      if (s.namespace)
        await custom.patchNamespacedCustomObject({ ...k, namespace: s.namespace, name: s.name, body }, merge);
      else await custom.patchClusterCustomObject({ ...k, name: s.name, body }, merge);
    };
    const writer = new StatusWriter(client, {
      controllerName: input.controllerName ?? CONTROLLER_NAME,
      beforePatch: race,
    });
    const report = await writer.write(input.statuses, {
      supportedFeatures: input.supportedFeatures,
      addresses: new Map(Object.entries(input.addresses ?? {})),
    });
    process.stdout.write(JSON.stringify({ ...report, writes: writer.writes() }) + '\n');
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

const check = (port: number, service: string) => checkHealth(`127.0.0.1:${port}`, service);

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
