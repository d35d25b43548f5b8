// The thin clock around the engine: one timer per running sequence, for its prefill and then each token.
// All decisions (who runs, how long things take) come from Engine; this file only waits and calls back.

import type { Engine, SeqRequest, SubmitResult } from './engine';
import { prng } from './text';

export interface SeqCallbacks {
  /** Called once per generated token, index 0 being the first token (after prefill). */
  onToken(index: number): void;
  /** Called after the last token, once the sequence has left the engine. */
  onDone(): void;
  /** Called when the sequence is admitted, with the prompt tokens found in the prefix cache. */
  onAdmitted?(cachedTokens: number): void;
}

interface Live {
  seq: SeqRequest;
  callbacks: SeqCallbacks;
  timer?: NodeJS.Timeout;
  next: number;
}

export class EngineRunner {
  private readonly live = new Map<string, Live>();
  private readonly random: () => number;
  private closed = false;

  constructor(
    readonly engine: Engine,
    private readonly jitter: number,
    seed: number,
  ) {
    this.random = prng(seed ^ 0x5eed);
  }

  submit(seq: SeqRequest, callbacks: SeqCallbacks): SubmitResult {
    if (this.closed) return 'overloaded';
    const result = this.engine.submit(seq);
    if (result !== 'queued') return result;
    this.live.set(seq.id, { seq, callbacks, next: 0 });
    this.pump();
    return result;
  }

  /** Stops a sequence early (client went away, stream dropped); frees its seat and blocks. */
  abort(id: string): void {
    const live = this.live.get(id);
    if (!live) return;
    clearTimeout(live.timer);
    this.live.delete(id);
    this.engine.finish(id);
    this.pump();
  }

  /** Clears every timer; pending sequences get no more callbacks. */
  close(): void {
    this.closed = true;
    for (const live of this.live.values()) clearTimeout(live.timer);
    for (const id of this.live.keys()) this.engine.finish(id);
    this.live.clear();
  }

  private pump(): void {
    if (this.closed) return;
    for (const admission of this.engine.schedule()) {
      const live = this.live.get(admission.seq.id);
      if (!live) continue;
      live.callbacks.onAdmitted?.(admission.cachedTokens);
      live.timer = setTimeout(() => this.emit(live), this.jittered(admission.prefillMs));
    }
  }

  private emit(live: Live): void {
    if (!this.live.has(live.seq.id)) return;
    const index = live.next++;
    if (index === 0) this.engine.firstToken(live.seq.id);
    live.callbacks.onToken(index);
    // A callback may have aborted the sequence (for example by dropping the connection).
    if (!this.live.has(live.seq.id)) return;
    if (live.next < live.seq.outputTokens) {
      live.timer = setTimeout(() => this.emit(live), this.jittered(this.engine.interTokenMs()));
      return;
    }
    this.live.delete(live.seq.id);
    this.engine.finish(live.seq.id);
    live.callbacks.onDone();
    this.pump();
  }

  private jittered(ms: number): number {
    if (this.jitter === 0) return ms;
    return ms * (1 + this.jitter * (2 * this.random() - 1));
  }
}
