// utilization-detector: the saturation detector used for admission; as a filter it drops saturated endpoints.

import { filterUnsaturated, type UtilizationParams } from '../../admission/saturation';
import { DEFAULT_UTILIZATION } from '../../admission/saturation';
import type { PluginRegistration } from '../../scheduling/registry';
import { PluginKind, type Filter } from '../../scheduling/types';

export interface SaturationDetector extends Filter {
  readonly params: UtilizationParams;
}

/** Declared by every saturation detector (admission, and flow control's dispatch gate). */
export const SATURATION_DETECTOR = new PluginKind<SaturationDetector>('saturation-detector');

export const utilizationDetector: PluginRegistration = {
  type: 'utilization-detector',
  description: 'Saturation = mean over endpoints of max(queue/5, kv/0.8); stale metrics count as saturated.',
  factory: (name, p, deps): SaturationDetector => {
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
    return {
      type: 'utilization-detector',
      name,
      kinds: [SATURATION_DETECTOR],
      params,
      filter: (_req, endpoints) => filterUnsaturated(endpoints, deps.now(), params),
    };
  },
};
