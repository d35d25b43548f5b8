// concurrency-detector: saturation from what the EPP itself has in flight (reference EPP concurrency-detector).
// It keeps no counts of its own: it reads the inflight-load-producer (INFLIGHT_LOAD), which counts a placement
// inline at decision time (INLINE_PRE_REQUEST, so the next dispatch decision sees it) and releases it when the
// request completes; the builder creates the default producer when none is configured. Saturation = Σ in-flight
// (requests or estimated tokens) / (endpoints × max); as a filter it drops endpoints at or over max × (1 + headroom),
// failing open.

import type { PluginRegistration } from '../../scheduling/registry';
import { PluginKind, REFERENCES_PLUGINS, type Filter, type Plugin } from '../../scheduling/types';
import type { EndpointState } from '../../types';
import { InFlightLoadReader } from '../inflight-load-producer';
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

export class ConcurrencyDetector extends InFlightLoadReader implements SaturationDetector, Filter {
  readonly type = 'concurrency-detector';
  override readonly kinds: readonly PluginKind<Plugin>[] = [SATURATION_DETECTOR, REFERENCES_PLUGINS];
  private readonly max: number;

  constructor(
    readonly name: string,
    readonly params: ConcurrencyParams,
    inFlightLoadProducerName?: string,
  ) {
    super(inFlightLoadProducerName);
    this.max = params.concurrencyMode === 'tokens' ? params.maxTokenConcurrency : params.maxConcurrency;
  }

  /** In-flight weight on an endpoint key (requests or estimated tokens, by concurrencyMode). */
  inFlight(key: string): number {
    const load = this.source?.load(key);
    if (!load) return 0;
    return this.params.concurrencyMode === 'tokens' ? load.tokens : load.requests;
  }

  saturation(endpoints: readonly EndpointState[], _now?: number): number {
    if (endpoints.length === 0) return 1;
    let sum = 0;
    for (const e of endpoints) sum += this.inFlight(e.endpoint.key);
    return sum / (endpoints.length * this.max);
  }

  filter: Filter['filter'] = (_req, endpoints) => {
    const limit = this.max * (1 + this.params.headroom);
    const kept = endpoints.filter((e) => this.inFlight(e.endpoint.key) < limit);
    return kept.length > 0 ? kept : endpoints;
  };
}

export function newConcurrencyDetector(
  name: string,
  params: ConcurrencyParams,
  inFlightLoadProducerName?: string,
): ConcurrencyDetector {
  return new ConcurrencyDetector(name, params, inFlightLoadProducerName);
}

export const concurrencyDetector: PluginRegistration = {
  type: 'concurrency-detector',
  description:
    'Saturation = requests (or estimated tokens) in flight (inflight-load-producer) / (endpoints × max).',
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
    const producer = p.string('inFlightLoadProducerName', '');
    p.finish();
    return newConcurrencyDetector(name, params, producer || undefined);
  },
};
