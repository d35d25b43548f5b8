// `infergate epp`: the Endpoint Picker for one InferencePool. Wires the director (src/epp/director.ts) to the
// ext_proc handler, the worker parser and the servers; stops gracefully on SIGINT/SIGTERM.

import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { Registry } from 'prom-client';
import { ExtProcStream, DEFAULT_MAX_BODY_BYTES } from '../epp/extproc/stream';
import { RECEIVE_MESSAGE_MARGIN_BYTES, serve, type RunningServer } from '../epp/server/server';
import type { Director } from '../epp/types';
import { DEFAULT_WORKER_THRESHOLD_BYTES, WorkerParser } from '../epp/workers/pool';
import type { HashParams } from '../epp/workers/task';
import { loadEndpointPickerConfig } from '../epp/config/loader';
import { Datastore } from '../epp/datastore/datastore';
import { FilePoolSource, type PoolSource } from '../epp/datastore/source';
import { kubeClient } from '../sources/kubernetes/client';
import { LeaderElector } from '../sources/kubernetes/leader';
import { eppSource } from '../sources/kubernetes/epp';
import { createDirector } from '../epp/director';
import { EppMetrics } from '../epp/observability/metrics';
import { MetricsScraper } from '../epp/scrape/scraper';
import { logger } from '../util/log';

const log = logger('epp.cli');
/** How long a stopping EPP keeps answering while reporting NOT_SERVING (Envoy health-checks it every second). */
const DRAIN_MS = 3000;

export interface EppDirectorOptions {
  pool: string;
  namespace: string;
  paths: string[];
  configFile?: string;
  /** Where the pool's resources come from instead of `paths` (the Kubernetes source). */
  source?: PoolSource;
}

/** What the CLI needs from the core: a director, readiness (datastore synced), its metrics registry. */
export interface DirectorHandle {
  director: Director;
  ready(): boolean;
  registry?: Registry;
  close?(): Promise<void> | void;
}

export interface StartEppOptions {
  handle: DirectorHandle;
  address?: string;
  grpcPort: number;
  healthPort?: number;
  metricsPort?: number;
  secure?: boolean;
  certPath?: string;
  maxBodyBytes?: number;
  workerThreads?: number;
  workerThresholdBytes?: number;
  /** Leader election on: only the Lease holder reports ready. */
  leader?: () => boolean;
}

export interface RunningEpp extends RunningServer {
  parser: WorkerParser;
}

/** Starts the EPP servers around a director (used by the CLI and by tests). */
export async function startEpp(o: StartEppOptions): Promise<RunningEpp> {
  const maxBodyBytes = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const parser = new WorkerParser({
    threads: o.workerThreads,
    thresholdBytes: o.workerThresholdBytes,
    hash: (): HashParams | undefined => {
      const p = o.handle.director.prefixHashParams?.('');
      return p && { blockChars: p.blockChars, maxBlocks: p.maxBlocks };
    },
  });
  await parser.warm();
  const server = await serve({
    newStream: (send) => new ExtProcStream({ director: o.handle.director, parser, maxBodyBytes }, send),
    // A BUFFERED body arrives as one message: let one up to the body limit (and a bit over) through to the
    // handler, which answers 413 over the limit.
    maxReceiveMessageBytes: maxBodyBytes + RECEIVE_MESSAGE_MARGIN_BYTES,
    address: o.address,
    grpcPort: o.grpcPort,
    healthPort: o.healthPort,
    metricsPort: o.metricsPort,
    secure: o.secure,
    certPath: o.certPath,
    ready: () => o.handle.ready(),
    leader: o.leader,
    registry: o.handle.registry,
  });
  return {
    ...server,
    parser,
    async close(graceMs?: number, drainMs?: number) {
      await server.close(graceMs, drainMs);
      await parser.close();
      await o.handle.close?.();
    },
  };
}

export async function runEpp(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        pool: { type: 'string' },
        // Upstream's EPP calls it --pool-name.
        'pool-name': { type: 'string' },
        'pool-namespace': { type: 'string' },
        kubernetes: { type: 'boolean', default: false },
        kubeconfig: { type: 'string' },
        'ha-enable-leader-election': { type: 'boolean', default: false },
        'config-file': { type: 'string' },
        'grpc-port': { type: 'string', default: '9002' },
        'health-port': { type: 'string' },
        // Upstream's names, so `infergate epp` runs with the upstream EPP's (and lwepp's) arguments unchanged.
        'grpc-health-port': { type: 'string' },
        'zap-encoder': { type: 'string' },
        'metrics-port': { type: 'string', default: '9090' },
        'secure-serving': { type: 'boolean', default: false },
        'cert-path': { type: 'string' },
        address: { type: 'string', default: '0.0.0.0' },
        'max-body-bytes': { type: 'string', default: String(DEFAULT_MAX_BODY_BYTES) },
        'worker-threads': { type: 'string' },
        'worker-threshold-bytes': { type: 'string', default: String(DEFAULT_WORKER_THRESHOLD_BYTES) },
      },
    });
  } catch (err) {
    console.error(`infergate epp: ${(err as Error).message}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.pool && values['pool-name'] && values.pool !== values['pool-name'])
    return usage('--pool and --pool-name name different pools');
  const pool = values.pool ?? values['pool-name'];
  if (!pool) return usage('--pool NAME is required');
  const h1 = values['health-port'];
  const h2 = values['grpc-health-port'];
  if (h1 !== undefined && h2 !== undefined && h1 !== h2)
    return usage('--health-port and --grpc-health-port name different ports');
  const healthPort = h1 ?? h2 ?? '9003';
  // Logs are JSON lines whatever the encoder; the flag is accepted so upstream's arguments work unchanged.
  const zap = values['zap-encoder'];
  if (zap !== undefined && zap !== 'json' && zap !== 'console')
    return usage(`--zap-encoder must be json or console, got ${JSON.stringify(zap)}`);
  // In a Pod (the API server's Service in the environment) with no paths, read the API server as upstream's EPP
  // always does: its arguments carry no --kubernetes.
  const inPod =
    !values.kubernetes &&
    positionals.length === 0 &&
    !values.kubeconfig &&
    !!process.env.KUBERNETES_SERVICE_HOST;
  if (inPod) log.info('no resource paths and running in a Pod: reading the API server (--kubernetes)');
  const kubernetes = values.kubernetes || inPod;
  if (kubernetes && positionals.length)
    return usage('--kubernetes reads the API server; do not also give resource paths');
  if (!kubernetes && values.kubeconfig) return usage('--kubeconfig needs --kubernetes');
  if (!kubernetes && values['ha-enable-leader-election'])
    return usage('--ha-enable-leader-election needs --kubernetes');
  if (!kubernetes && positionals.length === 0)
    return usage('give the resource paths (files or directories) to read the pool from, or --kubernetes');
  const maxBodyBytes = Number(values['max-body-bytes']);
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0)
    return usage(
      `--max-body-bytes must be a positive integer, got ${JSON.stringify(values['max-body-bytes'])}`,
    );
  const namespace = values['pool-namespace'] || process.env.NAMESPACE || 'default';
  let handle: DirectorHandle;
  let elector: LeaderElector | undefined;
  try {
    const client = kubernetes ? await kubeClient({ kubeconfig: values.kubeconfig }) : undefined;
    const source = client ? eppSource({ client, pool, namespace }) : undefined;
    // Upstream's Lease name and namespace, so mixed upstream/infergate replicas never both lead.
    if (client && values['ha-enable-leader-election'])
      elector = new LeaderElector(client, {
        namespace,
        name: `epp-${namespace}-${pool}.gateway-api-inference-extension.sigs.k8s.io`,
        identity: `${hostname()}_${process.pid}`,
        onStartedLeading: () => log.info('leading: ready'),
        onStoppedLeading: () => log.info('not leading: not ready'),
        onError: (err) => log.warn('leader election: API error (retrying)', { err }),
      });
    handle = await buildCore({
      pool,
      namespace,
      paths: positionals,
      source,
      configFile: values['config-file'],
    });
  } catch (err) {
    const e = err as Error & { problems?: string[] };
    console.error(`infergate epp: ${e.problems ? e.problems.join('\n') : e.message}`);
    return 1;
  }
  const epp = await startEpp({
    handle,
    address: values.address,
    grpcPort: portOf(values['grpc-port']),
    healthPort: portOf(healthPort),
    metricsPort: portOf(values['metrics-port']),
    secure: values['secure-serving'],
    certPath: values['cert-path'],
    maxBodyBytes,
    workerThreads: values['worker-threads'] === undefined ? undefined : Number(values['worker-threads']),
    workerThresholdBytes: Number(values['worker-threshold-bytes']),
    leader: elector && (() => elector.isLeader()),
  });
  elector?.start();
  console.error(
    `infergate epp: pool ${namespace}/${pool}${kubernetes ? ' (Kubernetes)' : ''}; ext_proc on ${values.address}:${epp.grpcPort}` +
      `${values['secure-serving'] ? ' (TLS)' : ''}, health ${epp.healthPort}, metrics ${epp.metricsPort}`,
  );
  await untilSignal();
  // Release the Lease first: another replica becomes ready while this one drains.
  await elector?.stop();
  // Report NOT_SERVING long enough for Envoy's health checks (1 s interval, 2 failures) to stop sending streams
  // here, so a FailOpen pool never sees a request whose body already went to a closing EPP.
  await epp.close(5000, DRAIN_MS);
  return 0;
}

function usage(message: string): number {
  console.error(`infergate epp: ${message}\n\nUsage: infergate epp --pool NAME [--pool-namespace NS] (<paths...> | --kubernetes [--kubeconfig FILE])
       [--ha-enable-leader-election] [--config-file epp.yaml]
       [--grpc-port 9002] [--health-port 9003 | --grpc-health-port 9003] [--metrics-port 9090] [--secure-serving] [--cert-path DIR]
       [--address 0.0.0.0] [--max-body-bytes N] [--worker-threads N] [--worker-threshold-bytes N]`);
  return 2;
}

/** The decision core for one pool: datastore from resource files, scraper, config, metrics and director. */
export async function buildCore(o: EppDirectorOptions): Promise<DirectorHandle> {
  const config = loadEndpointPickerConfig(o.configFile);
  const datastore = new Datastore({ name: o.pool, namespace: o.namespace });
  await datastore.attach(o.source ?? new FilePoolSource(o.paths));
  if (!datastore.synced)
    log.warn('InferencePool not found yet; not ready', { pool: `${o.namespace}/${o.pool}` });
  const metrics = new EppMetrics({ poolName: () => o.pool, endpoints: () => datastore.endpoints() });
  const scraper = new MetricsScraper(datastore);
  scraper.start();
  const director = createDirector({ datastore, config, metrics });
  return {
    director,
    ready: () => datastore.synced,
    registry: metrics.registry,
    close() {
      scraper.stop();
      director.close();
      datastore.close();
    },
  };
}

export function portOf(v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port ${JSON.stringify(v)}`);
  return n;
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
