// What the simulator records per server, and its /metrics text under each engine's names (one renderer per
// engine, registered by name). Gauges come from the engine's state at scrape time.

import type { EngineStats } from './engine';
import type { EngineFlavor, SimOptions } from './options';
import { Exposition, Histogram } from './prometheus';

// vLLM's own bucket boundaries (vllm/v1/metrics/loggers.py).
const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
  80.0, 160.0, 640.0, 2560.0,
];
const E2E_BUCKETS = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
  960.0, 1920.0, 7680.0,
];

export type FinishReason = 'stop' | 'length' | 'abort';

export class SimMetrics {
  readonly ttft = new Histogram(TTFT_BUCKETS);
  readonly e2e = new Histogram(E2E_BUCKETS);
  promptTokens = 0;
  generationTokens = 0;
  readonly finished: Record<FinishReason, number> = { stop: 0, length: 0, abort: 0 };
  /** P/D: requests prefilled by a remote server, remote prefills that failed (prefilled locally instead), and
   * prefill-only requests served for a decode server. */
  remotePrefills = 0;
  remotePrefillFallbacks = 0;
  prefillOnlyRequests = 0;
  /** Seconds since the epoch when the LoRA label set last changed (the value of vllm:lora_requests_info). */
  private loraKey = '';
  loraUpdatedAt = Date.now() / 1000;

  /** Call on every scrape and state change; bumps the LoRA timestamp when the adapter lists differ. */
  noteLoraState(stats: EngineStats): void {
    const key = `${stats.runningAdapters.join(',')}|${stats.waitingAdapters.join(',')}`;
    if (key !== this.loraKey) {
      this.loraKey = key;
      this.loraUpdatedAt = Date.now() / 1000;
    }
  }
}

export interface MetricsView {
  options: SimOptions;
  stats: EngineStats;
  metrics: SimMetrics;
}

type Renderer = (view: MetricsView) => string;

const renderVllm: Renderer = ({ options, stats, metrics }) => {
  const l = { model_name: options.model };
  const e = new Exposition()
    .gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', l, stats.running)
    .gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', l, stats.waiting)
    .gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', l, stats.kvUsage);
  if (options.legacyGpuCacheMetric) {
    e.gauge('vllm:gpu_cache_usage_perc', 'GPU KV-cache usage. 1 means 100 percent usage.', l, stats.kvUsage);
  }
  e.gauge(
    'vllm:lora_requests_info',
    'Running stats on lora requests.',
    {
      running_lora_adapters: stats.runningAdapters.join(','),
      waiting_lora_adapters: stats.waitingAdapters.join(','),
      max_lora: String(options.maxLoras),
      model_name: options.model,
    },
    metrics.loraUpdatedAt,
  )
    .gauge(
      'vllm:cache_config_info',
      'Information of the LLMEngine CacheConfig.',
      { ...l, block_size: String(options.blockSize), num_gpu_blocks: String(options.kvBlocks) },
      1,
    )
    .counter(
      'vllm:prefix_cache_queries_total',
      'Prefix cache queries, in tokens.',
      l,
      stats.prefixQueryTokens,
    )
    .counter('vllm:prefix_cache_hits_total', 'Prefix cache hits, in tokens.', l, stats.prefixHitTokens)
    .counter('vllm:prompt_tokens_total', 'Number of prefill tokens processed.', l, metrics.promptTokens)
    .counter(
      'vllm:generation_tokens_total',
      'Number of generation tokens processed.',
      l,
      metrics.generationTokens,
    )
    .family('vllm:request_success_total', 'counter', 'Count of successfully processed requests.');
  for (const [reason, n] of Object.entries(metrics.finished)) {
    e.sample('vllm:request_success_total', { ...l, finished_reason: reason }, n);
  }
  return e
    .histogram(
      'vllm:time_to_first_token_seconds',
      'Histogram of time to first token in seconds.',
      l,
      metrics.ttft,
    )
    .histogram(
      'vllm:e2e_request_latency_seconds',
      'Histogram of e2e request latency in seconds.',
      l,
      metrics.e2e,
    )
    .text();
};

const renderSglang: Renderer = ({ options, stats, metrics }) => {
  const l = { model_name: options.model };
  const hitRate = stats.prefixQueryTokens ? stats.prefixHitTokens / stats.prefixQueryTokens : 0;
  return new Exposition()
    .gauge('sglang:num_running_reqs', 'The number of running requests.', l, stats.running)
    .gauge('sglang:num_queue_reqs', 'The number of requests in the waiting queue.', l, stats.waiting)
    .gauge('sglang:token_usage', 'The token usage.', l, stats.kvUsage)
    .gauge('sglang:cache_hit_rate', 'The prefix cache hit rate.', l, hitRate)
    .gauge(
      'sglang:cache_config_info',
      'Cache configuration.',
      { ...l, page_size: String(options.blockSize), num_pages: String(options.kvBlocks) },
      1,
    )
    .counter('sglang:prompt_tokens_total', 'Number of prefill tokens processed.', l, metrics.promptTokens)
    .counter(
      'sglang:generation_tokens_total',
      'Number of generation tokens processed.',
      l,
      metrics.generationTokens,
    )
    .histogram(
      'sglang:time_to_first_token_seconds',
      'Histogram of time to first token in seconds.',
      l,
      metrics.ttft,
    )
    .histogram(
      'sglang:e2e_request_latency_seconds',
      'Histogram of End-to-end request latency in seconds',
      l,
      metrics.e2e,
    )
    .text();
};

const renderTriton: Renderer = ({ options, stats }) => {
  const l = { model: 'tensorrt_llm', version: '1' };
  const e = new Exposition().family('nv_trt_llm_request_metrics', 'gauge', 'TRT LLM request metrics');
  e.sample('nv_trt_llm_request_metrics', { ...l, request_type: 'waiting' }, stats.waiting)
    .sample('nv_trt_llm_request_metrics', { ...l, request_type: 'scheduled' }, stats.running)
    .sample('nv_trt_llm_request_metrics', { ...l, request_type: 'active' }, stats.running + stats.waiting)
    .sample('nv_trt_llm_request_metrics', { ...l, request_type: 'max' }, options.maxNumSeqs);
  const block = (type: string, v: number) =>
    e.sample('nv_trt_llm_kv_cache_block_metrics', { ...l, kv_cache_block_type: type }, v);
  e.family('nv_trt_llm_kv_cache_block_metrics', 'gauge', 'TRT LLM KV cache block metrics');
  block('fraction', stats.kvUsage);
  block('tokens_per', options.blockSize);
  block('max', options.kvBlocks);
  block('used', stats.usedBlocks);
  block('free', options.kvBlocks - stats.usedBlocks);
  return e.text();
};

export const RENDERERS: Record<EngineFlavor, Renderer> = {
  vllm: renderVllm,
  sglang: renderSglang,
  'triton-trtllm': renderTriton,
};

/** The simulator's own P/D counters, under every engine's names. */
function renderDisagg({ options, metrics }: MetricsView): string {
  const l = { model_name: options.model, role: options.role };
  return new Exposition()
    .counter(
      'infergate_sim_remote_prefills_total',
      'Requests whose prompt a remote prefill server computed (x-prefiller-host-port).',
      l,
      metrics.remotePrefills,
    )
    .counter(
      'infergate_sim_remote_prefill_fallbacks_total',
      'Remote prefills that failed, so the prompt was prefilled locally.',
      l,
      metrics.remotePrefillFallbacks,
    )
    .counter(
      'infergate_sim_prefill_only_requests_total',
      'Prefill-only requests served (prefill role, or kv_transfer_params.do_remote_decode).',
      l,
      metrics.prefillOnlyRequests,
    )
    .text();
}

export function renderMetrics(view: MetricsView): string {
  return RENDERERS[view.options.engine](view) + renderDisagg(view);
}
