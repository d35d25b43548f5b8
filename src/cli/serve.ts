// `infergate serve <paths...>`: the control plane. Watches the resource files, compiles, publishes snapshots
// per Gateway, serves them over ADS (SotW and Delta) and exposes the admin endpoints. Thin glue only.

import { parseArgs } from 'node:util';
import { FileSource } from '../sources/file-source';
import { kubeClient } from '../sources/kubernetes/client';
import { KubernetesSource } from '../sources/kubernetes/source';
import { StatusController } from '../sources/kubernetes/status/controller';
import { FleetReconciler, type GatewayCondition } from '../sources/kubernetes/fleet/reconciler';
import { CONTROLLER_NAME, type ResourceStatus } from '../compiler/ir';
import { SUPPORTED_FEATURES } from '../compiler/features';
import { ConfigPipeline } from '../sources/pipeline';
import type { ResourceSource, SourceState } from '../sources/source';
import { logger } from '../util/log';
import { programmed, startAdmin, type AdminServer } from '../xds/admin';
import { SnapshotCache } from '../xds/cache';
import { ClientRegistry } from '../xds/clients';
import { XdsMetrics } from '../xds/metrics';
import { startXdsServer, type XdsServer } from '../xds/server';

const log = logger('serve');

export interface ControlPlaneOptions {
  /** Resource files and directories, read by a FileSource (unless `source` is given). */
  paths: string[];
  /** Where resources come from instead of `paths` (the Kubernetes source, a test's own). */
  source?: ResourceSource;
  /** Host the xDS and admin servers bind (default 127.0.0.1). */
  address?: string;
  xdsPort?: number;
  adminPort?: number;
  /** Address compiled listeners bind (default 0.0.0.0). */
  listenAddress?: string;
  debounceMs?: number;
  /** Watch the paths (default true). */
  watch?: boolean;
  /** How long a cluster no route uses any more stays published, so requests in flight on it finish. */
  clusterRetentionMs?: number;
  /** The GatewayClass controllerName we own (default infergate.io/gateway-controller). */
  controllerName?: string;
  /** Called after every compile (the status writer's cue). */
  onCompiled?: () => void;
}

export interface ControlPlane {
  xds: XdsServer;
  admin: AdminServer;
  cache: SnapshotCache;
  clients: ClientRegistry;
  metrics: XdsMetrics;
  pipeline: ConfigPipeline;
  source: ResourceSource;
  /** Re-read the files, recompile and publish now (what the watcher does after a change). */
  reload(): void;
  close(): Promise<void>;
}

export async function startControlPlane(o: ControlPlaneOptions): Promise<ControlPlane> {
  const address = o.address ?? '127.0.0.1';
  const metrics = new XdsMetrics({ processMetrics: true });
  const cache = new SnapshotCache();
  const clients = new ClientRegistry(metrics);
  const pipeline = new ConfigPipeline({
    cache,
    metrics,
    listenAddress: o.listenAddress,
    clusterRetentionMs: o.clusterRetentionMs,
    controllerName: o.controllerName,
  });
  let compiled = false;
  const compile = (state: SourceState) => {
    compiled = true;
    try {
      pipeline.run(state);
    } catch (err) {
      // A compiler crash must not take the control plane down: the last good snapshots stay.
      log.error('compile crashed; keeping the last good snapshots', { err });
      metrics.compileFailures.inc();
      metrics.lastCompileOk.set(0);
    }
    o.onCompiled?.();
  };
  // The source delivers its first state before start() resolves, so the first snapshots exist before xDS serves.
  const source = o.source ?? new FileSource(o.paths, { debounceMs: o.debounceMs, watch: o.watch });
  await source.start(compile);
  let xds: XdsServer | undefined;
  let admin: AdminServer;
  try {
    xds = await startXdsServer({ address: `${address}:${o.xdsPort ?? 18000}`, cache, clients });
    admin = await startAdmin(address, o.adminPort ?? 9091, {
      cache,
      clients,
      metrics,
      // Ready once the first full state (the files, or every informer's initial list) is compiled, Gateways or
      // none: a controller with nothing to serve yet is still ready (helm install --wait, Envoys finding it).
      ready: () => compiled,
      status: () => pipeline.status(),
    });
  } catch (err) {
    // A port in use: stop what already runs, or the watcher keeps the process alive.
    source.stop();
    pipeline.close();
    await xds?.close();
    throw err;
  }
  return {
    xds,
    admin,
    cache,
    clients,
    metrics,
    pipeline,
    source,
    reload: () => source.refresh?.(),
    close: async () => {
      source.stop();
      pipeline.close();
      await xds.close();
      await admin.close();
    },
  };
}

export async function runServe(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'xds-port': { type: 'string', default: '18000' },
      'admin-port': { type: 'string', default: '9091' },
      'xds-address': { type: 'string', default: '127.0.0.1' },
      'listen-address': { type: 'string' },
      kubernetes: { type: 'boolean', default: false },
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      'controller-name': { type: 'string' },
      'lease-namespace': { type: 'string' },
      'lease-name': { type: 'string' },
      'leader-elect-lease-duration': { type: 'string', default: '15s' },
      'leader-elect-renew-deadline': { type: 'string', default: '10s' },
      'leader-elect-retry-period': { type: 'string', default: '2s' },
      'disable-envoy-provisioning': { type: 'boolean', default: false },
      'envoy-xds-address': { type: 'string' },
      'kube-api-qps': { type: 'string', default: '100' },
      'kube-api-burst': { type: 'string', default: '200' },
    },
  });
  const k8sOnly = [
    'lease-namespace',
    'lease-name',
    'disable-envoy-provisioning',
    'envoy-xds-address',
  ] as const;
  const given = k8sOnly.filter((f) => values[f] !== undefined && values[f] !== false);
  if (!values.kubernetes && given.length) {
    console.error(`infergate serve: --${given.join(', --')} need --kubernetes`);
    return 2;
  }
  const qps = Number(values['kube-api-qps']);
  const burst = Number(values['kube-api-burst']);
  if (!(qps > 0) || !Number.isInteger(burst) || burst < 1) {
    console.error('infergate serve: --kube-api-qps must be > 0 and --kube-api-burst an integer ≥ 1');
    return 2;
  }
  let election: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  try {
    election = {
      leaseDurationMs: durationMs('leader-elect-lease-duration', values['leader-elect-lease-duration']!),
      renewDeadlineMs: durationMs('leader-elect-renew-deadline', values['leader-elect-renew-deadline']!),
      retryPeriodMs: durationMs('leader-elect-retry-period', values['leader-elect-retry-period']!),
    };
    // client-go's rules: lease duration > renew deadline > retry period × 1.2.
    if (election.leaseDurationMs <= election.renewDeadlineMs)
      throw new Error('--leader-elect-lease-duration must be greater than --leader-elect-renew-deadline');
    if (election.renewDeadlineMs <= election.retryPeriodMs * 1.2)
      throw new Error('--leader-elect-renew-deadline must be greater than 1.2 × --leader-elect-retry-period');
  } catch (err) {
    console.error(`infergate serve: ${(err as Error).message}`);
    return 2;
  }
  if (values.kubernetes && positionals.length) {
    console.error('infergate serve: --kubernetes reads the API server; do not also give resource paths');
    return 2;
  }
  if (!values.kubernetes && (values.kubeconfig || values.namespace)) {
    console.error('infergate serve: --kubeconfig and --namespace need --kubernetes');
    return 2;
  }
  if (!values.kubernetes && !positionals.length) {
    console.error('infergate serve: give at least one resource file or directory, or --kubernetes');
    return 2;
  }
  let source: ResourceSource | undefined;
  let status: StatusController | undefined;
  let statuses: () => ResourceStatus[] = () => [];
  let dataPlane: () => Record<string, GatewayCondition> = () => ({});
  if (values.kubernetes) {
    try {
      const client = await kubeClient({ kubeconfig: values.kubeconfig });
      const kube = new KubernetesSource({ client, namespace: values.namespace });
      source = kube;
      const ownNamespace = process.env.POD_NAMESPACE ?? 'default';
      const envoyXds =
        values['envoy-xds-address'] ?? `infergate.${ownNamespace}.svc.cluster.local:${values['xds-port']}`;
      // The managed Envoys are reconciled by the leader only, like status.
      const fleet = values['disable-envoy-provisioning']
        ? undefined
        : new FleetReconciler({
            client,
            xdsAddress: envoyXds,
            namespace: values.namespace,
            lookup: kube.lookup,
            onChange: () => status?.notify(),
          });
      // Every replica serves xDS; only the holder of the Lease writes status.
      status = new StatusController({
        client,
        controllerName: values['controller-name'] ?? CONTROLLER_NAME,
        statuses: () => statuses(),
        leaseNamespace: values['lease-namespace'],
        leaseName: values['lease-name'],
        election,
        fleet,
        lookup: kube.lookup,
        qps,
        burst,
        extras: () => ({ supportedFeatures: [...SUPPORTED_FEATURES] }),
        dataPlane: () => dataPlane(),
      });
      console.error(
        `infergate serve: Kubernetes API ${client.server} (${client.origin}), ` +
          `namespace ${values.namespace ?? '(all)'}, ` +
          (fleet ? `managed Envoys reach xDS at ${envoyXds}` : 'Envoy provisioning disabled'),
      );
    } catch (err) {
      console.error(`infergate serve: ${(err as Error).message}`);
      return 1;
    }
  }
  const port = (flag: string, text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${flag}: not a port: ${text}`);
    return n;
  };
  const cp = await startControlPlane({
    paths: positionals,
    source,
    controllerName: values['controller-name'],
    address: values['xds-address'],
    xdsPort: port('xds-port', values['xds-port']!),
    adminPort: port('admin-port', values['admin-port']!),
    listenAddress: values['listen-address'],
    onCompiled: () => status?.notify(),
  });
  statuses = () => (cp.pipeline.status() as { statuses: ResourceStatus[] }).statuses;
  dataPlane = () => programmed(cp) as unknown as Record<string, GatewayCondition>;
  try {
    await status?.start();
  } catch (err) {
    console.error(`infergate serve: ${(err as Error).message}`);
    await cp.close();
    return 1;
  }
  console.error(
    `infergate serve: xDS on ${values['xds-address']}:${cp.xds.port}, admin on http://${values['xds-address']}:${cp.admin.port}`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info('shutting down', { signal });
      Promise.all([status?.stop(), cp.close()]).then(() => resolve(), resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

/** A Go-style duration as the Kubernetes components take it: 15s, 500ms, 1m, 1m30s. */
export function durationMs(flag: string, text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text)
    throw new Error(`--${flag}: not a duration: ${JSON.stringify(text)} (e.g. 15s, 500ms, 1m)`);
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]], 0);
  if (ms <= 0) throw new Error(`--${flag}: must be positive`);
  return ms;
}
