// concurrency-detector: saturation from what the EPP itself has in flight (reference EPP concurrency-detector).
// In-flight requests (or estimated tokens) per endpoint are counted when a scheduling cycle places a request
// (an INLINE_PRE_REQUEST hook, which the director runs in the decision) and released when it completes
// (responseComplete). Saturation = Σ in-flight / (endpoints × max); as a filter it drops endpoints at or over
// max × (1 + headroom), failing open.

import type { PluginRegistration } from '../../scheduling/registry';
import {
  INLINE_PRE_REQUEST,
  type CompletionInfo,
  type EndpointsAware,
  type PreRequest,
  type ResponseComplete,
  type SchedulingRequest,
  type SchedulingResult,
} from '../../scheduling/types';
import type { EndpointState } from '../../types';
import { estimateTokens as estimateRequestTokens } from '../inflight-load-producer';
import { SATURATION_DETECTOR, type SaturationDetector } from '../utilization-detector';

export interface ConcurrencyParams {
  concurrencyMode: 'requests' | 'tokens';
  maxConcurrency: number;
  maxTokenConcurrency: number;
  headroom: number;
}

export const DEFAULT_CONCURRENCY: ConcurrencyParams = {
  concurrencyMode: 'requests',
  maxConcurrency: 100,
  maxTokenConcurrency: 1_000_000,
  headroom: 0,
};

/** Tokens mode: a request weighs what the in-flight producer charges it (prompt bytes / 4 + max output), ≥ 1. */
export const estimateTokens = (req: SchedulingRequest): number =>
  Math.max(1, estimateRequestTokens(req.promptBytes, req.maxOutputTokens));

export interface ConcurrencyDetector
  extends SaturationDetector, PreRequest, ResponseComplete, EndpointsAware {
  readonly params: ConcurrencyParams;
  /** In-flight weight per endpoint key (requests or tokens). */
  inFlight(key: string): number;
}

export function newConcurrencyDetector(name: string, params: ConcurrencyParams): ConcurrencyDetector {
  const load = new Map<string, number>();
  const max = params.concurrencyMode === 'tokens' ? params.maxTokenConcurrency : params.maxConcurrency;
  const weight = (req: SchedulingRequest) => (params.concurrencyMode === 'tokens' ? estimateTokens(req) : 1);
  const targets = (result: SchedulingResult) =>
    result.profileResults.get(result.primaryProfileName)?.targets.slice(0, 1) ?? [];
  const add = (key: string, d: number) => {
    const v = (load.get(key) ?? 0) + d;
    if (v > 0) load.set(key, v);
    else load.delete(key);
  };
  return {
    type: 'concurrency-detector',
    name,
    kinds: [SATURATION_DETECTOR, INLINE_PRE_REQUEST],
    params,
    inFlight: (key) => load.get(key) ?? 0,
    saturation(endpoints: readonly EndpointState[]): number {
      if (endpoints.length === 0) return 1;
      let sum = 0;
      for (const e of endpoints) sum += load.get(e.endpoint.key) ?? 0;
      return sum / (endpoints.length * max);
    },
    filter(_req, endpoints) {
      const limit = max * (1 + params.headroom);
      const kept = endpoints.filter((e) => (load.get(e.endpoint.key) ?? 0) < limit);
      return kept.length > 0 ? kept : endpoints;
    },
    preRequest(req, result) {
      for (const t of targets(result)) add(t.endpoint.key, weight(req));
    },
    responseComplete(req, result, _info: CompletionInfo) {
      for (const t of targets(result)) add(t.endpoint.key, -weight(req));
    },
    endpointsChanged(active) {
      for (const k of load.keys()) if (!active.has(k)) load.delete(k);
    },
  };
}

export const concurrencyDetector: PluginRegistration = {
  type: 'concurrency-detector',
  description: 'Saturation = requests (or estimated tokens) the EPP has in flight / (endpoints × max).',
  factory: (name, p): ConcurrencyDetector => {
    const d = DEFAULT_CONCURRENCY;
    const params: ConcurrencyParams = {
      concurrencyMode: p.string('concurrencyMode', d.concurrencyMode, [
        'requests',
        'tokens',
      ]) as ConcurrencyParams['concurrencyMode'],
      maxConcurrency: p.number('maxConcurrency', d.maxConcurrency, { min: 1, integer: true }),
      maxTokenConcurrency: p.number('maxTokenConcurrency', d.maxTokenConcurrency, { min: 1, integer: true }),
      headroom: p.number('headroom', d.headroom, { min: 0 }),
    };
    p.finish();
    return newConcurrencyDetector(name, params);
  },
};
