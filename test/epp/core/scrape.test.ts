import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';
import { ENGINES, extractMetrics } from '../../../src/epp/scrape/engines';
import { parsePromText } from '../../../src/epp/scrape/prom-text';
import { MetricsScraper } from '../../../src/epp/scrape/scraper';
import type { EndpointMetrics, EndpointState } from '../../../src/epp/types';

const VLLM = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 3.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 2.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.4213
# HELP vllm:lora_requests_info Running stats on lora requests.
# TYPE vllm:lora_requests_info gauge
vllm:lora_requests_info{max_lora="4",running_lora_adapters="old",waiting_lora_adapters=""} 1.7e+09
vllm:lora_requests_info{max_lora="4",running_lora_adapters="sql-lora, tweet-summary",waiting_lora_adapters=" food-review "} 1.7000001e+09
# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig
# TYPE vllm:cache_config_info gauge
vllm:cache_config_info{block_size="16",cache_dtype="auto",enable_prefix_caching="True",gpu_memory_utilization="0.9",num_cpu_blocks="2048",num_gpu_blocks="27456",prefix_caching_hash_algo="builtin"} 1.0
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{le="0.001",model_name="m"} 0.0
vllm:time_to_first_token_seconds_bucket{le="+Inf",model_name="m"} 12.0
vllm:time_to_first_token_seconds_count{model_name="m"} 12.0
vllm:prompt_tokens_total{model_name="m"} 1234.0 1700000000000
`;
const VLLM_OLD = `vllm:num_requests_running{model_name="m"} 1
vllm:num_requests_waiting{model_name="m"} 0
vllm:gpu_cache_usage_perc{model_name="m"} 0.25
`;
const SGLANG = `# HELP sglang:num_running_reqs The number of running requests.
# TYPE sglang:num_running_reqs gauge
sglang:num_running_reqs{model_name="qwen",engine_type="unified"} 5.0
# TYPE sglang:num_queue_reqs gauge
sglang:num_queue_reqs{model_name="qwen",engine_type="unified"} 1.0
# TYPE sglang:token_usage gauge
sglang:token_usage{model_name="qwen",engine_type="unified"} 0.75
sglang:cache_config_info{page_size="32",num_pages="8000"} 1.0
`;
const TRITON = `# HELP nv_trt_llm_request_metrics TRT LLM request metrics
# TYPE nv_trt_llm_request_metrics gauge
nv_trt_llm_request_metrics{model="tensorrt_llm",request_type="context",version="1"} 1
nv_trt_llm_request_metrics{model="tensorrt_llm",request_type="scheduled",version="1"} 6
nv_trt_llm_request_metrics{model="tensorrt_llm",request_type="max",version="1"} 512
nv_trt_llm_request_metrics{model="tensorrt_llm",request_type="waiting",version="1"} 4
# HELP nv_trt_llm_kv_cache_block_metrics TRT LLM KV cache block metrics
# TYPE nv_trt_llm_kv_cache_block_metrics gauge
nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="fraction",model="tensorrt_llm",version="1"} 0.5
nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="tokens_per",model="tensorrt_llm",version="1"} 64
nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="max",model="tensorrt_llm",version="1"} 4000
`;

const pick = (r: ReturnType<typeof extractMetrics>): EndpointMetrics => {
  if ('error' in r) throw new Error(r.error);
  return r.metrics;
};

describe('Prometheus text parser', () => {
  it('reads only wanted families, with labels, escapes, exponents, timestamps and special values', () => {
    const text =
      'a{x="q\\"uo\\\\te",y="l\\nf"} 1.5e3 123\n# comment\nb 2\na{x="z"} +Inf\nc_bucket{le="1"} 3\na NaN\n';
    const got = parsePromText(text, new Set(['a']));
    expect([...got.keys()]).toEqual(['a']);
    const [s1, s2, s3] = got.get('a')!;
    expect(s1).toEqual({ labels: { x: 'q"uo\\te', y: 'l\nf' }, value: 1500 });
    expect(s2.value).toBe(Infinity);
    expect(s3.value).toBeNaN();
  });

  it('extracts vLLM metrics: latest LoRA series by value, CSV trimmed, cache_config_info', () => {
    expect(pick(extractMetrics(VLLM, ENGINES.vllm, 42))).toEqual({
      waitingQueueSize: 2,
      runningRequestsSize: 3,
      kvCacheUsagePercent: 0.4213,
      activeModels: ['sql-lora', 'tweet-summary'],
      waitingModels: ['food-review'],
      maxActiveModels: 4,
      cacheBlockSize: 16,
      cacheNumBlocks: 27456,
      updateTime: 42,
    });
    expect(pick(extractMetrics(VLLM_OLD, ENGINES.vllm, 1)).kvCacheUsagePercent).toBe(0.25);
  });

  it('extracts SGLang and Triton TensorRT-LLM metrics', () => {
    expect(pick(extractMetrics(SGLANG, ENGINES.sglang, 1))).toMatchObject({
      waitingQueueSize: 1,
      runningRequestsSize: 5,
      kvCacheUsagePercent: 0.75,
      cacheBlockSize: 32,
      cacheNumBlocks: 8000,
    });
    expect(pick(extractMetrics(TRITON, ENGINES['triton-tensorrt-llm'], 1))).toMatchObject({
      waitingQueueSize: 4,
      runningRequestsSize: 6,
      kvCacheUsagePercent: 0.5,
      cacheBlockSize: 64,
      cacheNumBlocks: 4000,
    });
    expect(extractMetrics('foo 1\n', ENGINES.vllm, 1)).toEqual({ error: 'no vllm metrics found' });
  });
});

/** A minimal ScrapeTarget: endpoint states plus change events. */
class Target extends EventEmitter {
  constructor(public states: EndpointState[]) {
    super();
  }
  endpoints() {
    return this.states;
  }
  updateMetrics(key: string, m: EndpointMetrics) {
    const s = this.states.find((e) => e.endpoint.key === key);
    if (s) s.metrics = m;
  }
}

describe('MetricsScraper against a real HTTP server', () => {
  let server: Server;
  let port: number;
  const pages: Record<string, string> = { '/vllm': VLLM, '/sglang': SGLANG, '/triton': TRITON };
  let hits = 0;
  let slow = false;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits++;
      if (slow) return; // never answers: the scrape must time out
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(pages[currentPage]);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((r) => server.close(r)));
  let currentPage = '/vllm';

  const endpointState = (engine?: string): EndpointState => ({
    endpoint: {
      name: 'p-rank-0',
      pod: 'p',
      namespace: 'default',
      address: '127.0.0.1',
      port,
      key: `127.0.0.1:${port}`,
      labels: engine ? { 'inference.networking.k8s.io/engine-type': engine } : {},
    },
  });
  const waitFor = async (cond: () => boolean, ms = 30000) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it.each([
    ['/vllm', undefined, { waitingQueueSize: 2, cacheBlockSize: 16 }],
    ['/sglang', 'sglang', { runningRequestsSize: 5, kvCacheUsagePercent: 0.75 }],
    ['/triton', 'triton-tensorrt-llm', { waitingQueueSize: 4, cacheNumBlocks: 4000 }],
  ])('scrapes %s choosing the engine by pod label', async (page, engine, expected) => {
    currentPage = page;
    const target = new Target([endpointState(engine)]);
    const scraper = new MetricsScraper(target, { intervalMs: 20 });
    scraper.start();
    try {
      await waitFor(() => target.states[0].metrics !== undefined);
      expect(target.states[0].metrics).toMatchObject(expected);
      const first = target.states[0].metrics!.updateTime;
      await waitFor(() => target.states[0].metrics!.updateTime > first); // polls keep going, refreshing updateTime
    } finally {
      scraper.stop();
    }
  });

  it('stops polling removed endpoints and times out slow ones, leaving metrics stale', async () => {
    currentPage = '/vllm';
    const target = new Target([endpointState()]);
    const scraper = new MetricsScraper(target, { intervalMs: 10, timeoutMs: 100 });
    scraper.start();
    try {
      await waitFor(() => target.states[0].metrics !== undefined);
      slow = true;
      // Once a scrape hangs on the server, the one before it has been handled: from here nothing may succeed.
      const slowFrom = hits;
      await waitFor(() => hits > slowFrom);
      const t = target.states[0].metrics!.updateTime;
      await new Promise((r) => setTimeout(r, 300));
      expect(target.states[0].metrics!.updateTime).toBe(t); // no success while the server hangs
      slow = false;
      target.states = [];
      target.emit('change', []);
      const before = hits;
      await new Promise((r) => setTimeout(r, 150));
      expect(hits - before).toBeLessThanOrEqual(1);
    } finally {
      slow = false;
      scraper.stop();
    }
  });
});
