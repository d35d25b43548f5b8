// The one place a Kubernetes client is built: kubeconfig from --kubeconfig, else KUBECONFIG / ~/.kube/config, else
// the in-cluster service account. @kubernetes/client-node 1.x is ESM-only and this project compiles to CommonJS,
// so it is loaded with a real dynamic import (Node 20 runs it; jest's CJS runtime cannot, so tests drive the CLI).

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export type K8s = typeof import('@kubernetes/client-node', { with: { 'resolution-mode': 'import' } });
export type KubeConfig = InstanceType<K8s['KubeConfig']>;

// A Function-built import() is not rewritten to require() by any CJS transform (tsc keeps import() under
// nodenext, but ts-jest or other tooling may not), so the ESM package always loads through Node's ESM loader.
const importEsm = new Function('m', 'return import(m)') as (m: string) => Promise<K8s>;

let loaded: Promise<K8s> | undefined;

/** The client library, loaded once. */
export function k8s(): Promise<K8s> {
  return (loaded ??= importEsm('@kubernetes/client-node'));
}

export interface ClientOptions {
  /** A kubeconfig file (--kubeconfig); overrides KUBECONFIG. */
  kubeconfig?: string;
  /** A context name in that kubeconfig (default: its current-context). */
  context?: string;
}

export interface KubeClient {
  lib: K8s;
  config: KubeConfig;
  /** Where the configuration came from: a file path or "in-cluster". */
  origin: string;
  /** The API server URL the client talks to. */
  server: string;
}

/** Builds the client the sources, status writer and leader election share. Throws a clear error when none fits. */
export async function kubeClient(opts: ClientOptions = {}): Promise<KubeClient> {
  const lib = await k8s();
  const config = new lib.KubeConfig();
  let origin: string;
  const env = process.env.KUBECONFIG;
  const home = join(homedir(), '.kube', 'config');
  if (opts.kubeconfig) {
    if (!existsSync(opts.kubeconfig)) throw new Error(`--kubeconfig ${opts.kubeconfig}: no such file`);
    config.loadFromFile(opts.kubeconfig);
    origin = opts.kubeconfig;
  } else if (env) {
    // KUBECONFIG may list several files (path-separated), as kubectl merges them.
    config.loadFromDefault();
    origin = env;
  } else if (process.env.KUBERNETES_SERVICE_HOST) {
    config.loadFromCluster();
    origin = 'in-cluster';
  } else if (existsSync(home)) {
    config.loadFromFile(home);
    origin = home;
  } else {
    throw new Error(
      'no Kubernetes configuration: pass --kubeconfig FILE, set KUBECONFIG, or run in a Pod (service account)',
    );
  }
  if (opts.context) config.setCurrentContext(opts.context);
  const cluster = config.getCurrentCluster();
  if (!cluster)
    throw new Error(`kubeconfig ${origin}: no current cluster (context "${config.getCurrentContext()}")`);
  return { lib, config, origin, server: cluster.server };
}
