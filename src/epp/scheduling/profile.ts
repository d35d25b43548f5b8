// One scheduling profile: filters in order, then the weighted sum of clamped scorer outputs, then one picker
// (reference EPP SchedulerProfile.Run). No normalisation by the weight sum.

import { performance } from 'node:perf_hooks';
import type { EndpointState } from '../types';
import type { Filter, Picker, PluginTimerFactory, ProfileResult, Scorer, SchedulingRequest } from './types';

export interface WeightedScorer {
  scorer: Scorer;
  weight: number;
}

type Observe = (seconds: number) => void;
const noop: Observe = () => {};

export class SchedulerProfile {
  private readonly filterTimers: Observe[];
  private readonly scorerTimers: Observe[];
  private readonly pickerTimer: Observe;
  private scratch = new Float64Array(16);

  constructor(
    readonly name: string,
    readonly filters: readonly Filter[],
    readonly scorers: readonly WeightedScorer[],
    readonly picker: Picker,
    timers?: PluginTimerFactory,
  ) {
    this.filterTimers = filters.map((f) => timers?.('Filter', f) ?? noop);
    this.scorerTimers = scorers.map((s) => timers?.('Scorer', s.scorer) ?? noop);
    this.pickerTimer = timers?.('Picker', picker) ?? noop;
  }

  /** The profile's targets, or undefined when a filter left no endpoint. */
  run(req: SchedulingRequest, candidates: readonly EndpointState[]): ProfileResult | undefined {
    let endpoints = candidates as EndpointState[];
    for (let i = 0; i < this.filters.length; i++) {
      const t = performance.now();
      endpoints = this.filters[i].filter(req, endpoints);
      this.filterTimers[i]((performance.now() - t) / 1000);
      if (endpoints.length === 0) return undefined;
    }
    const n = endpoints.length;
    const total = new Float64Array(n);
    if (this.scratch.length < n) this.scratch = new Float64Array(n * 2);
    const out = this.scratch;
    for (let s = 0; s < this.scorers.length; s++) {
      const { scorer, weight } = this.scorers[s];
      out.fill(0, 0, n);
      const t = performance.now();
      scorer.score(req, endpoints, out);
      this.scorerTimers[s]((performance.now() - t) / 1000);
      for (let i = 0; i < n; i++) {
        const v = out[i];
        total[i] += (v > 1 ? 1 : v > 0 ? v : 0) * weight; // NaN and negatives clamp to 0
      }
    }
    const t = performance.now();
    const targets = this.picker.pick(req, endpoints, total);
    this.pickerTimer((performance.now() - t) / 1000);
    return targets.length > 0 ? { targets } : undefined;
  }
}
