// The engine's decisions, apart from any clock: an FCFS waiting queue, at most maxNumSeqs running, admission only
// when KV blocks (and a LoRA slot) are free, and the latency model. The runner (runner.ts) owns the timers.

import { KvCache, type BlockLease } from './kvcache';
import { LoraSlots } from './lora';
import type { SimOptions } from './options';

export interface SeqRequest {
  id: string;
  /** LoRA adapter name, or undefined for the base model. */
  adapter?: string;
  promptTokens: number;
  /** Chain hashes of the prompt's full blocks. */
  promptHashes: string[];
  outputTokens: number;
  /** Prefilled on another server: its KV arrives by transfer instead of local prefill compute. */
  remotePrefill?: boolean;
}

export interface Admission {
  seq: SeqRequest;
  /** Prompt tokens served from the prefix cache. */
  cachedTokens: number;
  /** Whether the adapter had to be loaded into a slot for this request. */
  loraLoaded: boolean;
  /**
   * Time to first token from admission: overhead + uncached tokens × prefill cost (× KV transfer cost when
   * remotePrefill) (+ adapter load).
   */
  prefillMs: number;
}

export type SubmitResult = 'queued' | 'overloaded' | 'too-long';

export interface EngineStats {
  running: number;
  waiting: number;
  kvUsage: number;
  usedBlocks: number;
  runningAdapters: string[];
  waitingAdapters: string[];
  loadedAdapters: string[];
  /** Prompt tokens looked up in the prefix cache, and those found (vLLM counts tokens). */
  prefixQueryTokens: number;
  prefixHitTokens: number;
}

export type EngineConfig = Pick<
  SimOptions,
  | 'maxNumSeqs'
  | 'maxWaiting'
  | 'kvBlocks'
  | 'blockSize'
  | 'maxLoras'
  | 'ttftOverheadMs'
  | 'prefillMsPerToken'
  | 'interTokenMs'
  | 'itlBatchSlope'
  | 'loraLoadMs'
> &
  Partial<Pick<SimOptions, 'kvTransferMsPerToken' | 'prefillChunkTokens'>>;

interface Running {
  seq: SeqRequest;
  lease: BlockLease;
  /** Prompt tokens still to be computed locally before the first token (0 once it is out, or remote). */
  prefilling: number;
}

export class Engine {
  private readonly kv: KvCache;
  private readonly lora: LoraSlots;
  private readonly waiting: SeqRequest[] = [];
  private readonly running = new Map<string, Running>();
  private prefixQueryTokens = 0;
  private prefixHitTokens = 0;
  /** Σ prompt tokens of running sequences still in local prefill. */
  private prefillingTokens = 0;

  constructor(private readonly config: EngineConfig) {
    this.kv = new KvCache(config.kvBlocks);
    this.lora = new LoraSlots(config.maxLoras);
  }

  /** Blocks a sequence holds while it runs: its prompt and every token it will generate. */
  blocksFor(seq: SeqRequest): number {
    return Math.ceil((seq.promptTokens + seq.outputTokens) / this.config.blockSize);
  }

  /** Adds a request to the waiting queue, unless it can never fit or the queue is at its limit. */
  submit(seq: SeqRequest): SubmitResult {
    if (this.blocksFor(seq) > this.config.kvBlocks) return 'too-long';
    if (this.config.maxWaiting > 0 && this.waiting.length >= this.config.maxWaiting) return 'overloaded';
    this.waiting.push(seq);
    return 'queued';
  }

  /**
   * Admits waiting requests in arrival order while seats and blocks last. A request whose adapter has no slot is
   * passed over (as vLLM does), but one that lacks KV blocks stops the scan so later arrivals cannot starve it.
   */
  schedule(): Admission[] {
    const admitted: Admission[] = [];
    for (let i = 0; i < this.waiting.length && this.running.size < this.config.maxNumSeqs;) {
      const seq = this.waiting[i];
      if (seq.adapter !== undefined && !this.lora.canRun(seq.adapter)) {
        i++;
        continue;
      }
      const hashes = seq.promptHashes;
      const allocation = this.kv.allocate(hashes, this.blocksFor(seq) - new Set(hashes).size);
      if (!allocation) break;
      this.waiting.splice(i, 1);
      const loraLoaded = seq.adapter !== undefined && this.lora.acquire(seq.adapter)!.loaded;
      // The last prompt token is always computed, even on a full hit.
      const cachedTokens = Math.min(allocation.hitBlocks * this.config.blockSize, seq.promptTokens - 1);
      const prefilling = seq.remotePrefill ? 0 : Math.max(seq.promptTokens - Math.max(cachedTokens, 0), 0);
      this.running.set(seq.id, { seq, lease: allocation.lease, prefilling });
      this.prefillingTokens += prefilling;
      this.prefixQueryTokens += seq.promptTokens;
      this.prefixHitTokens += Math.max(cachedTokens, 0);
      admitted.push({
        seq,
        cachedTokens,
        loraLoaded,
        prefillMs: this.prefillMs(seq, cachedTokens, loraLoaded),
      });
    }
    return admitted;
  }

  prefillMs(seq: SeqRequest, cachedTokens: number, loraLoaded: boolean): number {
    const uncached = Math.max(seq.promptTokens - Math.max(cachedTokens, 0), 0);
    const c = this.config;
    const perToken = seq.remotePrefill ? (c.kvTransferMsPerToken ?? 0) : c.prefillMsPerToken;
    return c.ttftOverheadMs + uncached * perToken + (loraLoaded ? c.loraLoadMs : 0);
  }

  /** The sequence's first token is out: its prompt no longer competes with decode steps. */
  firstToken(id: string): void {
    const run = this.running.get(id);
    if (!run || run.prefilling === 0) return;
    this.prefillingTokens -= run.prefilling;
    run.prefilling = 0;
  }

  /**
   * Inter-token latency at the current batch size: it grows linearly with the running sequences, and (with
   * prefillChunkTokens > 0) by the prefill chunk each step also computes while local prefills are in progress.
   */
  interTokenMs(): number {
    const extra = Math.max(this.running.size - 1, 0);
    const c = this.config;
    const chunk = Math.min(this.prefillingTokens, c.prefillChunkTokens ?? 0);
    return c.interTokenMs * (1 + c.itlBatchSlope * extra) + chunk * c.prefillMsPerToken;
  }

  /** Ends a request, running or still waiting (finished, aborted or failed); frees what it held. */
  finish(id: string): void {
    const run = this.running.get(id);
    if (run) {
      this.firstToken(id);
      this.running.delete(id);
      this.kv.release(run.lease);
      if (run.seq.adapter !== undefined) this.lora.release(run.seq.adapter);
      return;
    }
    const i = this.waiting.findIndex((s) => s.id === id);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  unloadAdapter(adapter: string): boolean {
    return this.lora.unload(adapter);
  }

  stats(): EngineStats {
    const waitingAdapters = new Set<string>();
    for (const s of this.waiting) if (s.adapter !== undefined) waitingAdapters.add(s.adapter);
    return {
      running: this.running.size,
      waiting: this.waiting.length,
      kvUsage: this.kv.usage,
      usedBlocks: this.kv.usedBlocks,
      runningAdapters: this.lora.running(),
      waitingAdapters: [...waitingAdapters],
      loadedAdapters: this.lora.loaded(),
      prefixQueryTokens: this.prefixQueryTokens,
      prefixHitTokens: this.prefixHitTokens,
    };
  }
}
