// utilization-detector: the saturation detector used for admission and flow control; as a filter it drops
// saturated endpoints. SATURATION_DETECTOR is the kind every saturation detector declares.

import {
  DEFAULT_UTILIZATION,
  filterUnsaturated,
  poolSaturation,
  type UtilizationParams,
} from '../../admission/saturation';
import type { PluginRegistration } from '../../scheduling/registry';
import { PluginKind, type Filter } from '../../scheduling/types';
import type { EndpointState } from '../../types';

export interface SaturationDetector extends Filter {
  /** The pool's saturation now: ≥ 1 means saturated (legacy admission sheds, flow control holds at its ceiling). */
  saturation(endpoints: readonly EndpointState[], now: number): number;
}

/** Declared by every saturation detector (admission, and flow control's dispatch gate). */
export const SATURATION_DETECTOR = new PluginKind<SaturationDetector>('saturation detector');

export interface UtilizationDetector extends SaturationDetector {
  readonly params: UtilizationParams;
}

export function newUtilizationDetector(
  name: string,
  params: UtilizationParams,
  now: () => number,
): UtilizationDetector {
  return {
    type: 'utilization-detector',
    name,
    kinds: [SATURATION_DETECTOR],
    params,
    saturation: (endpoints, at) => poolSaturation(endpoints, at, params),
    filter: (_req, endpoints) => filterUnsaturated(endpoints, now(), params),
  };
}

export const utilizationDetector: PluginRegistration = {
  type: 'utilization-detector',
  description: 'Saturation = mean over endpoints of max(queue/5, kv/0.8); stale metrics count as saturated.',
  factory: (name, p, deps): UtilizationDetector => {
    const d = DEFAULT_UTILIZATION;
    const params: UtilizationParams = {
      queueDepthThreshold: p.number('queueDepthThreshold', d.queueDepthThreshold, { min: Number.MIN_VALUE }),
      kvCacheUtilThreshold: p.number('kvCacheUtilThreshold', d.kvCacheUtilThreshold, {
        min: Number.MIN_VALUE,
        max: 1,
      }),
      metricsStalenessThresholdMs: p.durationMs('metricsStalenessThreshold', d.metricsStalenessThresholdMs),
      headroom: p.number('headroom', d.headroom, { min: 0 }),
    };
    p.finish();
    return newUtilizationDetector(name, params, deps.now);
  },
};
