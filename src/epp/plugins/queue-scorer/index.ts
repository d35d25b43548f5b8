// queue-scorer: prefers endpoints with shorter waiting queues, min–max normalised over the candidates.

import { lessIsBetter } from '../../scheduling/normalize';
import type { PluginRegistration } from '../../scheduling/registry';
import type { Scorer } from '../../scheduling/types';

export const queueScorer: PluginRegistration = {
  type: 'queue-scorer',
  description: 'Scores (maxQ − q)/(maxQ − minQ) on waiting queue size; 1.0 when all are equal.',
  factory: (name, params): Scorer => {
    params.finish();
    return {
      type: 'queue-scorer',
      name,
      category: 'Distribution',
      score: (_req, endpoints, out) => lessIsBetter(endpoints, (m) => m.waitingQueueSize, out),
    };
  },
};
