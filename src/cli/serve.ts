// `infergate serve <paths...>`: the control plane. Watches the resource files, compiles, publishes snapshots
// per Gateway, serves them over ADS (SotW and Delta) and exposes the admin endpoints. Thin glue only.

import { parseArgs } from 'node:util';
import { FileSource } from '../sources/file-source';
import { kubeClient } from '../sources/kubernetes/client';
import { KubernetesSource } from '../sources/kubernetes/source';
import { StatusController } from '../sources/kubernetes/status/controller';
import { CONTROLLER_NAME, type ResourceStatus } from '../compiler/ir';
import { ConfigPipeline } from '../sources/pipeline';
import type { ResourceSource, SourceState } from '../sources/source';
import { logger } from '../util/log';
import { startAdmin, type AdminServer } from '../xds/admin';
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
  const compile = (state: SourceState) => {
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
      ready: () => cache.groups().length > 0,
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
    },
  });
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
  if (values.kubernetes) {
    try {
      const client = await kubeClient({ kubeconfig: values.kubeconfig });
      source = new KubernetesSource({ client, namespace: values.namespace });
      // Every replica serves xDS; only the holder of the Lease writes status.
      status = new StatusController({
        client,
        controllerName: values['controller-name'] ?? CONTROLLER_NAME,
        statuses: () => statuses(),
        leaseNamespace: values['lease-namespace'],
      });
      console.error(
        `infergate serve: Kubernetes API ${client.server} (${client.origin}), ` +
          `namespace ${values.namespace ?? '(all)'}`,
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
  status?.start();
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
