// bench/peers: the three Endpoint Pickers under comparison and how each is started, in its default profile (no
// config file: queue ×2, KV cache ×2, prefix ×3, max-score picker, 50 ms scrapes in all three). infergate reads the
// pool and its Pods from resource files; the Go EPPs (GIE v1.5.0, llm-d v0.7.1) watch them in the test cluster's
// kube-apiserver (KUBECONFIG), serve ext_proc over h2c (--secure-serving=false) and metrics without TokenReview.
// Pure: names, argv and environment; run.ts/inside.ts spawn them.

export type EppName = 'infergate' | 'gie-v1.5.0' | 'llm-d-v0.7.1';
export const EPP_NAMES: readonly EppName[] = ['infergate', 'gie-v1.5.0', 'llm-d-v0.7.1'];
/** The peers infergate is compared with, in report order. */
export const PEERS: readonly EppName[] = ['gie-v1.5.0', 'llm-d-v0.7.1'];

/** Where an EPP listens: ext_proc, gRPC health, Prometheus metrics (all three take these as flags). */
export interface EppPorts {
  grpc: number;
  health: number;
  metrics: number;
}

export interface EppLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
}

export interface EppContext {
  /** `bin/infergate.js` of the build under test. */
  cli: string;
  /** The two peer binaries (scripts/peers.sh path). */
  gieBin: string;
  llmdBin: string;
  kubeconfig: string;
  pool: string;
  namespace: string;
  /** infergate's input: a file or directory with the same InferencePool and Pods the API server holds. */
  resources: string;
}

/**
 * The upstream EPPs' default tracing would export spans to localhost:4317; llm-d v0.7.1 starts its exporter even
 * with --tracing=false. Point it at a port nothing listens on (1) and sample nothing, for both Go EPPs alike.
 */
export const QUIET_TRACING: Record<string, string> = {
  OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
  OTEL_TRACES_SAMPLER: 'traceidratio',
  OTEL_TRACES_SAMPLER_ARG: '0',
};

export function launch(name: EppName, c: EppContext, p: EppPorts): EppLaunch {
  if (name === 'infergate') {
    return {
      command: process.execPath,
      args: [
        c.cli,
        'epp',
        '--pool',
        c.pool,
        '--pool-namespace',
        c.namespace,
        '--address',
        '127.0.0.1',
        '--grpc-port',
        String(p.grpc),
        '--health-port',
        String(p.health),
        '--metrics-port',
        String(p.metrics),
        c.resources,
      ],
      env: { INFERGATE_LOG_LEVEL: 'error' },
    };
  }
  // GIE v1.5.0 and llm-d v0.7.1 (built on GIE's framework) take the same flags; neither has --kubeconfig.
  return {
    command: name === 'gie-v1.5.0' ? c.gieBin : c.llmdBin,
    args: [
      '--pool-name',
      c.pool,
      '--pool-namespace',
      c.namespace,
      '--grpc-port',
      String(p.grpc),
      '--grpc-health-port',
      String(p.health),
      '--metrics-port',
      String(p.metrics),
      '--secure-serving=false',
      '--metrics-endpoint-auth=false',
      '--tracing=false',
    ],
    env: { KUBECONFIG: c.kubeconfig, NAMESPACE: c.namespace, POD_NAME: `${c.pool}-epp-0`, ...QUIET_TRACING },
  };
}

/** Repetition `rep`'s EPP order: the list rotated by `rep`, so each EPP runs first, second and last in turn. */
export function rotation<T>(items: readonly T[], rep: number): T[] {
  const k = ((rep % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
