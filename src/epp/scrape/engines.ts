// Which metrics each model-server engine exposes (reference EPP core-metrics-extractor, §4 of the reference), and
// the pure extraction of EndpointMetrics from a scraped page.

import type { EndpointMetrics } from '../types';
import { parsePromText, type PromSample } from './prom-text';

export const ENGINE_LABEL = 'inference.networking.k8s.io/engine-type';
export const DEFAULT_ENGINE = 'vllm';

/** A PromQL-like selector `family{label="value"}`. */
export interface MetricSpec {
  name: string;
  labels?: Record<string, string>;
}

export interface EngineConfig {
  name: string;
  /** Alternatives in order: the first family present wins (vLLM renamed its KV metric). */
  queued: MetricSpec[];
  running: MetricSpec[];
  kvUsage: MetricSpec[];
  lora?: MetricSpec;
  /** An info metric carrying the block size and block count as labels. */
  cacheInfo?: { spec: MetricSpec; blockSizeLabel: string; numBlocksLabel: string };
  /** Or gauges carrying them. */
  blockSize?: MetricSpec;
  numBlocks?: MetricSpec;
}

const triton = (labels: Record<string, string>, name = 'nv_trt_llm_request_metrics'): MetricSpec => ({
  name,
  labels,
});

export const ENGINES: Record<string, EngineConfig> = {
  vllm: {
    name: 'vllm',
    queued: [{ name: 'vllm:num_requests_waiting' }],
    running: [{ name: 'vllm:num_requests_running' }],
    kvUsage: [{ name: 'vllm:kv_cache_usage_perc' }, { name: 'vllm:gpu_cache_usage_perc' }],
    lora: { name: 'vllm:lora_requests_info' },
    cacheInfo: {
      spec: { name: 'vllm:cache_config_info' },
      blockSizeLabel: 'block_size',
      numBlocksLabel: 'num_gpu_blocks',
    },
  },
  sglang: {
    name: 'sglang',
    queued: [{ name: 'sglang:num_queue_reqs' }],
    running: [{ name: 'sglang:num_running_reqs' }],
    kvUsage: [{ name: 'sglang:token_usage' }],
    cacheInfo: {
      spec: { name: 'sglang:cache_config_info' },
      blockSizeLabel: 'page_size',
      numBlocksLabel: 'num_pages',
    },
  },
  'trtllm-serve': {
    name: 'trtllm-serve',
    queued: [{ name: 'trtllm_num_requests_waiting' }],
    running: [{ name: 'trtllm_num_requests_running' }],
    kvUsage: [{ name: 'trtllm_kv_cache_utilization' }],
    blockSize: { name: 'trtllm_kv_cache_tokens_per_block' },
    numBlocks: { name: 'trtllm_kv_cache_max_blocks' },
  },
  'triton-tensorrt-llm': {
    name: 'triton-tensorrt-llm',
    queued: [triton({ request_type: 'waiting' })],
    running: [triton({ request_type: 'scheduled' })],
    kvUsage: [triton({ kv_cache_block_type: 'fraction' }, 'nv_trt_llm_kv_cache_block_metrics')],
    blockSize: triton({ kv_cache_block_type: 'tokens_per' }, 'nv_trt_llm_kv_cache_block_metrics'),
    numBlocks: triton({ kv_cache_block_type: 'max' }, 'nv_trt_llm_kv_cache_block_metrics'),
  },
};

/** Every family name an engine reads (the parser's filter). */
export function familiesOf(e: EngineConfig): Set<string> {
  const specs = [
    ...e.queued,
    ...e.running,
    ...e.kvUsage,
    e.lora,
    e.cacheInfo?.spec,
    e.blockSize,
    e.numBlocks,
  ];
  return new Set(specs.filter((s): s is MetricSpec => s !== undefined).map((s) => s.name));
}

const matches = (s: PromSample, spec: MetricSpec) => {
  if (spec.labels) for (const [k, v] of Object.entries(spec.labels)) if (s.labels[k] !== v) return false;
  return true;
};

/** The last series matching the spec (pages have no timestamps, so the last one is the latest). */
function latest(families: Map<string, PromSample[]>, spec: MetricSpec | undefined): PromSample | undefined {
  if (!spec) return undefined;
  const list = families.get(spec.name);
  if (!list) return undefined;
  for (let i = list.length - 1; i >= 0; i--) if (matches(list[i], spec)) return list[i];
  return undefined;
}

const firstOf = (families: Map<string, PromSample[]>, specs: MetricSpec[]) => {
  for (const s of specs) {
    const v = latest(families, s);
    if (v) return v;
  }
  return undefined;
};

/** The lora_requests_info series with the largest value (its value is the last-update timestamp). */
function latestLora(
  families: Map<string, PromSample[]>,
  spec: MetricSpec | undefined,
): PromSample | undefined {
  const list = spec ? families.get(spec.name) : undefined;
  let best: PromSample | undefined;
  for (const s of list ?? []) if (!best || s.value > best.value) best = s;
  return best;
}

const csv = (s: string | undefined) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');

const positiveInt = (s: string | number | undefined) => {
  const n = typeof s === 'number' ? s : Number(s);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : undefined;
};

export type ExtractResult = { metrics: EndpointMetrics } | { error: string };

/** EndpointMetrics from a /metrics page. Fails only when none of queue, running and KV usage is present. */
export function extractMetrics(
  text: string,
  engine: EngineConfig,
  now: number,
  families?: Set<string>,
): ExtractResult {
  const page = parsePromText(text, families ?? familiesOf(engine));
  const queued = firstOf(page, engine.queued);
  const running = firstOf(page, engine.running);
  const kv = firstOf(page, engine.kvUsage);
  if (!queued && !running && !kv) return { error: `no ${engine.name} metrics found` };
  const metrics: EndpointMetrics = {
    waitingQueueSize: queued?.value ?? 0,
    runningRequestsSize: running?.value ?? 0,
    kvCacheUsagePercent: kv?.value ?? 0,
    activeModels: [],
    waitingModels: [],
    maxActiveModels: 0,
    updateTime: now,
  };
  const lora = latestLora(page, engine.lora);
  if (lora) {
    metrics.activeModels = csv(lora.labels.running_lora_adapters);
    metrics.waitingModels = csv(lora.labels.waiting_lora_adapters);
    metrics.maxActiveModels = positiveInt(lora.labels.max_lora) ?? 0;
  }
  if (engine.cacheInfo) {
    const info = latest(page, engine.cacheInfo.spec);
    const bs = positiveInt(info?.labels[engine.cacheInfo.blockSizeLabel]);
    const nb = positiveInt(info?.labels[engine.cacheInfo.numBlocksLabel]);
    if (bs) metrics.cacheBlockSize = bs;
    if (nb) metrics.cacheNumBlocks = nb;
  }
  const bs = positiveInt(latest(page, engine.blockSize)?.value);
  const nb = positiveInt(latest(page, engine.numBlocks)?.value);
  if (bs) metrics.cacheBlockSize = bs;
  if (nb) metrics.cacheNumBlocks = nb;
  return { metrics };
}
