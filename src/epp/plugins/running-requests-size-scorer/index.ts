// running-requests-size-scorer: prefers endpoints running fewer requests, min–max normalised over the candidates.

import { lessIsBetter } from '../../scheduling/normalize';
import type { PluginRegistration } from '../../scheduling/registry';
import type { Scorer } from '../../scheduling/types';

export const runningRequestsSizeScorer: PluginRegistration = {
  type: 'running-requests-size-scorer',
  description: 'Scores (maxR − r)/(maxR − minR) on running requests; 1.0 when all are equal.',
  factory: (name, params): Scorer => {
    params.finish();
    return {
      type: 'running-requests-size-scorer',
      name,
      category: 'Distribution',
      score: (_req, endpoints, out) => lessIsBetter(endpoints, (m) => m.runningRequestsSize, out),
    };
  },
};
