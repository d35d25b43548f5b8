// /metrics under load: names and values that move the way the Endpoint Picker expects.

import { closeAll, MODEL, post, promptOf, scrape, sim, stream, waitFor } from './helpers';

afterEach(closeAll);

const M = { model_name: MODEL };

describe('vLLM metrics', () => {
  it('exposes the required names with the model_name label and cache config', async () => {
    const s = await sim({ kvBlocks: 500, blockSize: 32, maxLoras: 3 });
    await post(`${s.url}/v1/completions`, { model: MODEL, prompt: promptOf(50), max_tokens: 4 });
    const m = await scrape(s);
    expect(m.value('vllm:num_requests_running', M)).toBe(0);
    expect(m.value('vllm:num_requests_waiting', M)).toBe(0);
    expect(m.value('vllm:kv_cache_usage_perc', M)).toBe(0);
    expect(m.get('vllm:gpu_cache_usage_perc')).toBeUndefined();
    expect(m.value('vllm:cache_config_info', { ...M, block_size: '32', num_gpu_blocks: '500' })).toBe(1);
    expect(m.get('vllm:lora_requests_info')?.labels).toMatchObject({
      max_lora: '3',
      running_lora_adapters: '',
    });
    expect(m.value('vllm:prompt_tokens_total', M)).toBe(50);
    expect(m.value('vllm:generation_tokens_total', M)).toBe(4);
    expect(m.value('vllm:prefix_cache_queries_total', M)).toBe(50);
    expect(m.value('vllm:time_to_first_token_seconds_count', M)).toBe(1);
    expect(m.value('vllm:e2e_request_latency_seconds_count', M)).toBe(1);
    expect(m.value('vllm:e2e_request_latency_seconds_bucket', { ...M, le: '+Inf' })).toBe(1);
    expect(m.value('vllm:request_success_total', { ...M, finished_reason: 'length' })).toBe(1);
    expect(m.text).toContain('# TYPE vllm:time_to_first_token_seconds histogram');
  });

  it('exposes vllm:gpu_cache_usage_perc behind the legacy flag', async () => {
    const s = await sim({ legacyGpuCacheMetric: true });
    expect((await scrape(s)).value('vllm:gpu_cache_usage_perc', M)).toBe(0);
  });

  it('with max-num-seqs 2, a third concurrent request waits and num_requests_waiting shows it', async () => {
    const s = await sim({ maxNumSeqs: 2, interTokenMs: 40 });
    const body = { model: MODEL, prompt: 'hello', max_tokens: 8 };
    const streams = [0, 1, 2].map(() => stream(`${s.url}/v1/completions`, body));
    await waitFor(async () => {
      const m = await scrape(s);
      return m.value('vllm:num_requests_running', M) === 2 && m.value('vllm:num_requests_waiting', M) === 1;
    });
    const results = await Promise.all(streams);
    expect(results.every((r) => r.done)).toBe(true);
    // The waiting one only started once a running one had generated all 8 tokens (7 gaps of 40 ms).
    const byStart = [...results].sort((a, b) => a.firstEventMs - b.firstEventMs);
    expect(byStart[1].firstEventMs).toBeLessThan(byStart[2].firstEventMs);
    expect(byStart[2].firstEventMs).toBeGreaterThan(7 * 40 - 10);
    const after = await scrape(s);
    expect(after.value('vllm:num_requests_waiting', M)).toBe(0);
    expect(after.value('vllm:num_requests_running', M)).toBe(0);
  });

  it('a repeated long prefix gets a clearly lower time to first token and raises the prefix-cache hits', async () => {
    // 1,000 prompt tokens at 0.5 ms each: 500 ms uncached, about 1 ms when all but the tail is cached.
    const s = await sim({ prefillMsPerToken: 0.5, ttftOverheadMs: 0 });
    const shared = promptOf(1000, 'shared');
    const cold = await stream(`${s.url}/v1/completions`, {
      model: MODEL,
      prompt: shared + ' first',
      max_tokens: 2,
    });
    const before = await scrape(s);
    const warm = await stream(`${s.url}/v1/completions`, {
      model: MODEL,
      prompt: shared + ' second',
      max_tokens: 2,
    });
    const other = await stream(`${s.url}/v1/completions`, {
      model: MODEL,
      prompt: promptOf(1000, 'other'),
      max_tokens: 2,
    });
    const after = await scrape(s);
    // Lower bounds are the model's uncached cost, which no machine beats; the warm one is only compared with them (a
    // busy machine would have to stall it longer than a whole uncached prefill), not with a wall-clock figure.
    console.log(
      `sim prefix TTFT: cold ${cold.firstEventMs.toFixed(0)} ms, warm ${warm.firstEventMs.toFixed(0)} ms`,
    );
    expect(cold.firstEventMs).toBeGreaterThanOrEqual(490); // 500 ms less timer rounding
    expect(other.firstEventMs).toBeGreaterThanOrEqual(490);
    expect(warm.firstEventMs).toBeLessThan(Math.min(cold.firstEventMs, other.firstEventMs));
    expect(before.value('vllm:prefix_cache_hits_total', M)).toBe(0);
    const hits = after.value('vllm:prefix_cache_hits_total', M)!;
    expect(hits).toBeGreaterThanOrEqual(990);
    expect(hits).toBeLessThan(1002);
    expect(after.value('vllm:prefix_cache_queries_total', M)).toBeGreaterThan(3000);
  });

  it('KV usage rises with load and falls after', async () => {
    const s = await sim({ kvBlocks: 100, blockSize: 16, interTokenMs: 20 });
    const usage = async () => (await scrape(s)).value('vllm:kv_cache_usage_perc', M)!;
    expect(await usage()).toBe(0);
    // Each: 100 prompt + 32 output tokens = 9 blocks of 16.
    const requests = [0, 1, 2].map((i) =>
      post(`${s.url}/v1/completions`, { model: MODEL, prompt: promptOf(100, `r${i}`), max_tokens: 32 }),
    );
    await waitFor(async () => (await usage()) >= 0.18); // at least two of the three running
    await Promise.all(requests);
    expect(await usage()).toBe(0);
  });

  it('LoRA series reflect running and waiting adapters', async () => {
    const s = await sim({ loras: ['a', 'b'], maxLoras: 1, interTokenMs: 30 });
    const info = async () => (await scrape(s)).get('vllm:lora_requests_info')!;
    const first = post(`${s.url}/v1/completions`, { model: 'a', prompt: 'x', max_tokens: 10 });
    await waitFor(async () => (await info()).labels.running_lora_adapters === 'a');
    const second = post(`${s.url}/v1/completions`, { model: 'b', prompt: 'x', max_tokens: 10 });
    await waitFor(async () => (await info()).labels.waiting_lora_adapters === 'b');
    const busy = await info();
    expect(busy.labels).toMatchObject({
      running_lora_adapters: 'a',
      waiting_lora_adapters: 'b',
      max_lora: '1',
    });
    expect(busy.value).toBeGreaterThan(Date.now() / 1000 - 60); // a timestamp, in seconds
    await waitFor(async () => (await info()).labels.running_lora_adapters === 'b');
    expect((await info()).labels.waiting_lora_adapters).toBe('');
    await Promise.all([first, second]);
    expect((await info()).labels.running_lora_adapters).toBe('');
  });
});

describe('other engines', () => {
  it('--engine sglang uses SGLang names', async () => {
    const s = await sim({ engine: 'sglang', kvBlocks: 64, blockSize: 8 });
    const m = await scrape(s);
    expect(m.value('sglang:num_queue_reqs', M)).toBe(0);
    expect(m.value('sglang:num_running_reqs', M)).toBe(0);
    expect(m.value('sglang:token_usage', M)).toBe(0);
    expect(m.value('sglang:cache_config_info', { page_size: '8', num_pages: '64' })).toBe(1);
    expect(m.samples.some((x) => x.name.startsWith('vllm:'))).toBe(false);
  });

  it('--engine triton-trtllm uses Triton TensorRT-LLM names', async () => {
    const s = await sim({
      engine: 'triton-trtllm',
      maxNumSeqs: 1,
      kvBlocks: 64,
      blockSize: 8,
      interTokenMs: 30,
    });
    const pending = [0, 1].map(() =>
      post(`${s.url}/v1/completions`, { model: MODEL, prompt: 'x', max_tokens: 6 }),
    );
    const req = (type: string) => ({ request_type: type });
    await waitFor(async () => {
      const m = await scrape(s);
      return (
        m.value('nv_trt_llm_request_metrics', req('scheduled')) === 1 &&
        m.value('nv_trt_llm_request_metrics', req('waiting')) === 1
      );
    });
    const m = await scrape(s);
    expect(m.value('nv_trt_llm_kv_cache_block_metrics', { kv_cache_block_type: 'fraction' })).toBeGreaterThan(
      0,
    );
    expect(m.value('nv_trt_llm_kv_cache_block_metrics', { kv_cache_block_type: 'tokens_per' })).toBe(8);
    expect(m.value('nv_trt_llm_kv_cache_block_metrics', { kv_cache_block_type: 'max' })).toBe(64);
    await Promise.all(pending);
  });
});
