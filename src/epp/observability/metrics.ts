// The EPP's Prometheus metrics under the reference EPP's names and labels, in a registry of their own. Label
// children are cached so recording on the request path is a Map lookup and an increment.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isUnreachable } from '../datastore/datastore';
import type { EndpointState } from '../types';

const DURATION_BUCKETS = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60, 120,
  180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600,
];
const TOKEN_BUCKETS = [
  1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32778, 65536, 131072, 262144, 524288,
  1048576,
];
const SCHEDULER_BUCKETS = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1];
const FC_QUEUE_BUCKETS = [
  0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
];
const FC_FAST_BUCKETS = [0.000001, 0.000005, 0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05];
const PLUGIN_BUCKETS = [0.000001, 0.000005, 0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1];

export interface PoolStats {
  poolName(): string;
  endpoints(): readonly EndpointState[];
  /** The director's unreachableAfterFailures (default 3), for inference_pool_unreachable_endpoints. */
  unreachableAfterFailures?: number;
}

/** Distinct fairness_id label values kept (clients choose them); later ones are recorded as `other`. */
export const FAIRNESS_ID_LABELS = 1000;

type FcQueueLabel = 'fairness_id' | 'priority' | 'inference_pool' | 'model_name' | 'target_model_name';

type Labels<K extends string> = Partial<Record<K, string | number>>;

export class EppMetrics {
  readonly registry = new Registry();
  readonly requestTotal: Counter<'model_name' | 'target_model_name' | 'priority'>;
  readonly requestErrorTotal: Counter<'model_name' | 'target_model_name' | 'error_code'>;
  readonly requestDuration: Histogram<'model_name' | 'target_model_name'>;
  readonly inputTokens: Histogram<'model_name' | 'target_model_name'>;
  readonly outputTokens: Histogram<'model_name' | 'target_model_name'>;
  readonly runningRequests: Gauge<'model_name'>;
  readonly schedulerE2e: Histogram;
  readonly pluginDuration: Histogram<'extension_point' | 'plugin_type' | 'plugin_name'>;
  readonly prefixIndexerSize: Gauge;
  readonly modelRewriteDecisions: Counter<'model_rewrite_name' | 'model_name' | 'target_model'>;
  readonly fcQueueDuration: Histogram<FcQueueLabel | 'outcome'>;
  readonly fcDispatchCycle: Histogram;
  readonly fcEnqueueDuration: Histogram<'fairness_id' | 'priority' | 'outcome'>;
  readonly fcQueueSize: Gauge<FcQueueLabel>;
  readonly fcQueueBytes: Gauge<FcQueueLabel>;
  readonly fcPoolSaturation: Gauge<'inference_pool'>;
  private readonly children = new Map<
    string,
    { inc(v?: number): void; observe?(v: number): void; dec?(v?: number): void }
  >();

  constructor(pool?: PoolStats) {
    const registers = [this.registry];
    const ml = ['model_name', 'target_model_name'] as const;
    this.requestTotal = new Counter({
      name: 'inference_objective_request_total',
      help: 'Counter of inference objective requests broken out for each model and target model.',
      labelNames: [...ml, 'priority'],
      registers,
    });
    this.requestErrorTotal = new Counter({
      name: 'inference_objective_request_error_total',
      help: 'Counter of inference objective requests errors broken out for each model and target model.',
      labelNames: [...ml, 'error_code'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'inference_objective_request_duration_seconds',
      help: 'Inference objective response latency distribution in seconds for each model and target model.',
      labelNames: ml,
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.inputTokens = new Histogram({
      name: 'inference_objective_input_tokens',
      help: 'Inference objective input token count distribution for requests in each model.',
      labelNames: ml,
      buckets: TOKEN_BUCKETS,
      registers,
    });
    this.outputTokens = new Histogram({
      name: 'inference_objective_output_tokens',
      help: 'Inference objective output token count distribution for requests in each model.',
      labelNames: ml,
      buckets: TOKEN_BUCKETS,
      registers,
    });
    this.runningRequests = new Gauge({
      name: 'inference_objective_running_requests',
      help: 'Inference objective number of running requests in each model.',
      labelNames: ['model_name'],
      registers,
    });
    this.schedulerE2e = new Histogram({
      name: 'inference_extension_scheduler_e2e_duration_seconds',
      help: 'Scheduling cycle end-to-end latency distribution in seconds.',
      buckets: SCHEDULER_BUCKETS,
      registers,
    });
    this.pluginDuration = new Histogram({
      name: 'inference_extension_plugin_duration_seconds',
      help: 'Plugin processing latency distribution in seconds for each extension point, plugin type and plugin name.',
      labelNames: ['extension_point', 'plugin_type', 'plugin_name'],
      buckets: PLUGIN_BUCKETS,
      registers,
    });
    this.prefixIndexerSize = new Gauge({
      name: 'inference_extension_prefix_indexer_size',
      help: 'Size of the prefix indexer.',
      registers,
    });
    this.modelRewriteDecisions = new Counter({
      name: 'inference_extension_model_rewrite_decisions_total',
      help: 'Total number of model rewrite decisions.',
      labelNames: ['model_rewrite_name', 'model_name', 'target_model'],
      registers,
    });
    this.fcQueueDuration = new Histogram({
      name: 'inference_extension_flow_control_request_queue_duration_seconds',
      help: 'Distribution of the total time requests spend in the flow control layer, by outcome.',
      labelNames: ['fairness_id', 'priority', 'outcome', 'inference_pool', 'model_name', 'target_model_name'],
      buckets: FC_QUEUE_BUCKETS,
      registers,
    });
    this.fcDispatchCycle = new Histogram({
      name: 'inference_extension_flow_control_dispatch_cycle_duration_seconds',
      help: 'Distribution of the time a flow control dispatch cycle takes.',
      buckets: FC_FAST_BUCKETS,
      registers,
    });
    this.fcEnqueueDuration = new Histogram({
      name: 'inference_extension_flow_control_request_enqueue_duration_seconds',
      help: 'Distribution of the time taken to enqueue a request in the flow control layer, by outcome.',
      labelNames: ['fairness_id', 'priority', 'outcome'],
      buckets: FC_FAST_BUCKETS,
      registers,
    });
    const ql = ['fairness_id', 'priority', 'inference_pool', 'model_name', 'target_model_name'] as const;
    this.fcQueueSize = new Gauge({
      name: 'inference_extension_flow_control_queue_size',
      help: 'Current number of requests queued in the flow control layer.',
      labelNames: ql,
      registers,
    });
    this.fcQueueBytes = new Gauge({
      name: 'inference_extension_flow_control_queue_bytes',
      help: 'Current bytes of request bodies queued in the flow control layer.',
      labelNames: ql,
      registers,
    });
    this.fcPoolSaturation = new Gauge({
      name: 'inference_extension_flow_control_pool_saturation',
      help: 'Saturation of the inference pool as the flow control layer last saw it.',
      labelNames: ['inference_pool'],
      registers,
    });
    if (pool) this.registerPoolGauges(pool);
  }

  /** The flow controller's observer for pool `pool` (label children cached; model labels already bounded). */
  flowControlObserver(pool: string): {
    queue(
      flowId: string,
      priority: number,
      l: { model: string; target: string },
      n: number,
      bytes: number,
    ): void;
    left(
      flowId: string,
      priority: number,
      l: { model: string; target: string },
      outcome: string,
      s: number,
    ): void;
    enqueued(flowId: string, priority: number, outcome: string, s: number): void;
    dispatchCycle(s: number): void;
    saturation(v: number): void;
  } {
    const gauges = new Map<
      string,
      { size: Gauge.Internal<FcQueueLabel>; bytes: Gauge.Internal<FcQueueLabel> }
    >();
    const hist = new Map<string, { observe(v: number): void }>();
    const sat = this.fcPoolSaturation.labels({ inference_pool: pool });
    // Clients choose fairness ids: the first FAIRNESS_ID_LABELS keep their own label value, the rest count as other.
    const ids = new Set<string>();
    const fid = (id: string) => {
      if (ids.has(id)) return id;
      if (ids.size >= FAIRNESS_ID_LABELS) return 'other';
      ids.add(id);
      return id;
    };
    return {
      queue: (flowId, priority, l, n, bytes) => {
        flowId = fid(flowId);
        const id = `${flowId}\0${priority}\0${l.model}\0${l.target}`;
        let g = gauges.get(id);
        if (!g) {
          const labels = {
            fairness_id: flowId,
            priority: String(priority),
            inference_pool: pool,
            model_name: l.model,
            target_model_name: l.target,
          };
          g = { size: this.fcQueueSize.labels(labels), bytes: this.fcQueueBytes.labels(labels) };
          gauges.set(id, g);
        }
        g.size.inc(n);
        g.bytes.inc(bytes);
      },
      left: (flowId, priority, l, outcome, s) => {
        flowId = fid(flowId);
        const id = `q\0${flowId}\0${priority}\0${outcome}\0${l.model}\0${l.target}`;
        let h = hist.get(id);
        if (!h) {
          h = this.fcQueueDuration.labels({
            fairness_id: flowId,
            priority: String(priority),
            outcome,
            inference_pool: pool,
            model_name: l.model,
            target_model_name: l.target,
          });
          hist.set(id, h);
        }
        h.observe(s);
      },
      enqueued: (flowId, priority, outcome, s) => {
        flowId = fid(flowId);
        const id = `e\0${flowId}\0${priority}\0${outcome}`;
        let h = hist.get(id);
        if (!h) {
          h = this.fcEnqueueDuration.labels({ fairness_id: flowId, priority: String(priority), outcome });
          hist.set(id, h);
        }
        h.observe(s);
      },
      dispatchCycle: (s) => this.fcDispatchCycle.observe(s),
      saturation: (v) => sat.set(v),
    };
  }

  /** Pool averages, computed when Prometheus scrapes (no timer). */
  private registerPoolGauges(pool: PoolStats): void {
    const registers = [this.registry];
    const avg = (name: string, help: string, f: (e: EndpointState) => number | undefined) =>
      new Gauge({
        name,
        help,
        labelNames: ['name'],
        registers,
        collect() {
          let sum = 0;
          let n = 0;
          for (const e of pool.endpoints()) {
            const v = f(e);
            if (v !== undefined) {
              sum += v;
              n++;
            }
          }
          this.set({ name: pool.poolName() }, n > 0 ? sum / n : 0);
        },
      });
    avg(
      'inference_pool_average_kv_cache_utilization',
      'The average kv cache utilization for an inference server pool.',
      (e) => e.metrics?.kvCacheUsagePercent,
    );
    avg(
      'inference_pool_average_queue_size',
      'The average number of requests pending in the model server queue.',
      (e) => e.metrics?.waitingQueueSize,
    );
    avg(
      'inference_pool_average_running_requests',
      'The average number of running requests across the pool.',
      (e) => e.metrics?.runningRequestsSize,
    );
    new Gauge({
      name: 'inference_pool_ready_pods',
      help: 'The number of ready pods in the inference server pool.',
      labelNames: ['name'],
      registers,
      collect() {
        this.set({ name: pool.poolName() }, new Set(pool.endpoints().map((e) => e.endpoint.pod)).size);
      },
    });
    new Gauge({
      name: 'inference_pool_unreachable_endpoints',
      help: 'The number of endpoints left out of scheduling after consecutive failed metrics scrapes.',
      labelNames: ['name'],
      registers,
      collect() {
        let n = 0;
        for (const e of pool.endpoints()) if (isUnreachable(e, pool.unreachableAfterFailures)) n++;
        this.set({ name: pool.poolName() }, n);
      },
    });
  }

  private child<K extends string>(
    metric: { labels(l: Labels<K>): { inc(v?: number): void } },
    id: string,
    labels: Labels<K>,
  ): { inc(v?: number): void; observe?(v: number): void; dec?(v?: number): void } {
    let c = this.children.get(id);
    if (!c) {
      c = metric.labels(labels);
      this.children.set(id, c);
    }
    return c;
  }

  request(model: string, target: string, priority: number): void {
    this.child(this.requestTotal, `rt\0${model}\0${target}\0${priority}`, {
      model_name: model,
      target_model_name: target,
      priority,
    }).inc();
  }

  requestError(model: string, target: string, code: string): void {
    this.child(this.requestErrorTotal, `re\0${model}\0${target}\0${code}`, {
      model_name: model,
      target_model_name: target,
      error_code: code,
    }).inc();
  }

  running(model: string, delta: number): void {
    this.child(this.runningRequests as unknown as Counter<'model_name'>, `rr\0${model}`, {
      model_name: model,
    }).inc(delta);
  }

  observe(h: 'duration' | 'input' | 'output', model: string, target: string, v: number): void {
    const metric =
      h === 'duration' ? this.requestDuration : h === 'input' ? this.inputTokens : this.outputTokens;
    const c =
      this.children.get(`${h}\0${model}\0${target}`) ??
      metric.labels({ model_name: model, target_model_name: target });
    this.children.set(`${h}\0${model}\0${target}`, c as never);
    (c as { observe(v: number): void }).observe(v);
  }

  rewrite(rewriteName: string, model: string, target: string): void {
    this.child(this.modelRewriteDecisions, `mr\0${rewriteName}\0${model}\0${target}`, {
      model_rewrite_name: rewriteName,
      model_name: model,
      target_model: target,
    }).inc();
  }

  /** A cached observer per plugin (scheduling/types PluginTimerFactory). */
  pluginTimer = (point: string, plugin: { type: string; name: string }): ((seconds: number) => void) => {
    const h = this.pluginDuration.labels({
      extension_point: point,
      plugin_type: plugin.type,
      plugin_name: plugin.name,
    });
    return (s) => h.observe(s);
  };
}
