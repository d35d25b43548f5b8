// Every simulator constant, with defaults calibrated to an 8B model (Llama 3.1 8B, bf16) served by vLLM on one
// H100 80GB. The README table explains each; the CLI exposes each as a flag.

export type EngineFlavor = 'vllm' | 'sglang' | 'triton-trtllm';
export const ENGINE_FLAVORS: readonly EngineFlavor[] = ['vllm', 'sglang', 'triton-trtllm'];

export type OutputMode = 'random' | 'echo';

/** What a server does in prefill/decode disaggregation (README "Roles"). */
export type SimRole = 'prefill' | 'decode' | 'both';
export const SIM_ROLES: readonly SimRole[] = ['prefill', 'decode', 'both'];

/** Faults can be changed at run time through a server handle's `setFaults`. */
export interface SimFaults {
  /** Fraction (0–1) of inference requests answered with a 500. */
  errorRate: number;
  /** Milliseconds added before every inference response starts. */
  addedLatencyMs: number;
  /** Fraction (0–1) of inference requests that are never answered (the socket stays open). */
  stallRate: number;
  /** Fraction (0–1) of inference requests whose connection is cut halfway through generation. */
  dropStreamRate: number;
  /** When true, /health answers 503. */
  unhealthy: boolean;
}

export interface SimOptions {
  /** Base model name served (and the `model_name` label). */
  model: string;
  /** LoRA adapters served by name, on top of the base model. */
  loras: string[];
  /** Which engine's metric names /metrics uses. */
  engine: EngineFlavor;
  /** Random words (`random`) or the prompt's own words repeated back (`echo`). */
  mode: OutputMode;
  /** Seed of every pseudo-random choice (output words, fault draws, jitter). */
  seed: number;
  /** Most sequences running at once (vLLM `--max-num-seqs`). */
  maxNumSeqs: number;
  /** Most requests waiting before new ones get 429; 0 means unlimited (queue everything). */
  maxWaiting: number;
  /** KV-cache blocks (vLLM `num_gpu_blocks`). */
  kvBlocks: number;
  /** Tokens per KV-cache block (vLLM `--block-size`). */
  blockSize: number;
  /** Characters per token when counting prompt tokens. */
  charsPerToken: number;
  /** LoRA adapter slots on the GPU (vLLM `--max-loras`). */
  maxLoras: number;
  /** Fixed part of the time to first token, ms. */
  ttftOverheadMs: number;
  /** Prefill cost per uncached prompt token, ms. */
  prefillMsPerToken: number;
  /** Inter-token latency with one running sequence, ms. */
  interTokenMs: number;
  /** Relative inter-token latency added per extra running sequence (0.005 → +0.5% each). */
  itlBatchSlope: number;
  /** Extra time to first token when a request's adapter must be loaded into a slot, ms. */
  loraLoadMs: number;
  /** Uniform relative jitter on every delay (0.1 → ±10%), drawn from the seeded generator. */
  jitter: number;
  /**
   * prefill: every request is prefill-only (one token). decode / both: a request carrying x-prefiller-host-port is
   * prefilled by that server, then its KV is "transferred"; without the header it is served aggregated.
   */
  role: SimRole;
  /** KV transfer cost per prompt token not cached locally when a remote server prefilled it, ms. */
  kvTransferMsPerToken: number;
  /**
   * Prefill/decode interference (vLLM chunked prefill, max_num_batched_tokens): while local prefills are in progress,
   * each decode step also computes up to this many of their prompt tokens, so it takes up to this × prefill cost
   * longer. 0 (the default) = prefill does not slow decode.
   */
  prefillChunkTokens: number;
  /** Also expose the pre-v1 `vllm:gpu_cache_usage_perc`. */
  legacyGpuCacheMetric: boolean;
  faults: SimFaults;
}

export const DEFAULT_FAULTS: SimFaults = {
  errorRate: 0,
  addedLatencyMs: 0,
  stallRate: 0,
  dropStreamRate: 0,
  unhealthy: false,
};

export const DEFAULT_OPTIONS: SimOptions = {
  model: 'meta-llama/Llama-3.1-8B-Instruct',
  loras: [],
  engine: 'vllm',
  mode: 'random',
  seed: 0,
  maxNumSeqs: 256,
  maxWaiting: 0,
  // (80 GB × 0.9 − 16 GB weights) / 128 KiB per token ≈ 500k tokens = 31,250 blocks of 16.
  kvBlocks: 31250,
  blockSize: 16,
  charsPerToken: 4,
  maxLoras: 1,
  ttftOverheadMs: 30,
  prefillMsPerToken: 0.2,
  interTokenMs: 12,
  itlBatchSlope: 0.005,
  loraLoadMs: 50,
  jitter: 0,
  role: 'both',
  // 128 KiB of bf16 KV per token (Llama 3.1 8B) over an RDMA path of ~25 GB/s effective: a modelling choice.
  kvTransferMsPerToken: 0.005,
  prefillChunkTokens: 0,
  legacyGpuCacheMetric: false,
  faults: DEFAULT_FAULTS,
};

export type SimOptionsInput = Partial<Omit<SimOptions, 'faults'>> & { faults?: Partial<SimFaults> };

/** Fills defaults and rejects values the engine cannot run with; throws an Error naming the option. */
export function resolveOptions(input: SimOptionsInput = {}): SimOptions {
  const o: SimOptions = {
    ...DEFAULT_OPTIONS,
    ...stripUndefined(input),
    loras: [...(input.loras ?? DEFAULT_OPTIONS.loras)],
    faults: { ...DEFAULT_FAULTS, ...stripUndefined(input.faults ?? {}) },
  };
  const problems: string[] = [];
  const positiveInt = (name: keyof SimOptions, v: number) => {
    if (!Number.isInteger(v) || v < 1) problems.push(`${name} must be a positive integer (got ${v})`);
  };
  positiveInt('maxNumSeqs', o.maxNumSeqs);
  positiveInt('kvBlocks', o.kvBlocks);
  positiveInt('blockSize', o.blockSize);
  positiveInt('charsPerToken', o.charsPerToken);
  positiveInt('maxLoras', o.maxLoras);
  if (!Number.isInteger(o.maxWaiting) || o.maxWaiting < 0) problems.push('maxWaiting must be an integer ≥ 0');
  for (const k of [
    'ttftOverheadMs',
    'prefillMsPerToken',
    'interTokenMs',
    'itlBatchSlope',
    'loraLoadMs',
    'kvTransferMsPerToken',
  ] as const) {
    if (!(o[k] >= 0)) problems.push(`${k} must be ≥ 0 (got ${o[k]})`);
  }
  if (!Number.isInteger(o.prefillChunkTokens) || o.prefillChunkTokens < 0)
    problems.push(`prefillChunkTokens must be an integer ≥ 0 (got ${o.prefillChunkTokens})`);
  if (!SIM_ROLES.includes(o.role)) problems.push(`role must be one of ${SIM_ROLES.join(', ')}`);
  if (!(o.jitter >= 0 && o.jitter < 1)) problems.push('jitter must be in [0, 1)');
  for (const k of ['errorRate', 'stallRate', 'dropStreamRate'] as const) {
    const v = o.faults[k];
    if (!(v >= 0 && v <= 1)) problems.push(`faults.${k} must be in [0, 1] (got ${v})`);
  }
  if (!(o.faults.addedLatencyMs >= 0)) problems.push('faults.addedLatencyMs must be ≥ 0');
  if (!ENGINE_FLAVORS.includes(o.engine)) problems.push(`engine must be one of ${ENGINE_FLAVORS.join(', ')}`);
  if (o.mode !== 'random' && o.mode !== 'echo') problems.push('mode must be random or echo');
  if (!o.model) problems.push('model must not be empty');
  if (o.loras.includes(o.model)) problems.push('a LoRA adapter cannot have the base model name');
  if (problems.length) throw new Error(problems.join('; '));
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
