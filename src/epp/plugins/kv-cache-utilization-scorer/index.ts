// kv-cache-utilization-scorer: prefers endpoints with free KV cache.

import type { PluginRegistration } from '../../scheduling/registry';
import type { Scorer } from '../../scheduling/types';

export const kvCacheUtilizationScorer: PluginRegistration = {
  type: 'kv-cache-utilization-scorer',
  description: 'Scores 1 − KV-cache utilisation (0..1).',
  factory: (name, params): Scorer => {
    params.finish();
    return {
      type: 'kv-cache-utilization-scorer',
      name,
      category: 'Distribution',
      score: (_req, endpoints, out) => {
        for (let i = 0; i < endpoints.length; i++)
          out[i] = 1 - (endpoints[i].metrics?.kvCacheUsagePercent ?? 0);
      },
    };
  },
};
