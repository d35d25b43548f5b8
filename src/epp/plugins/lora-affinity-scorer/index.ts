// lora-affinity-scorer: prefers endpoints that already serve the target LoRA adapter, then ones with a free slot.

import type { PluginRegistration } from '../../scheduling/registry';
import type { Scorer } from '../../scheduling/types';
import type { EndpointMetrics } from '../../types';

/** 1.0 active; 0.8 a free adapter slot; 0.6 waiting to load; else 0. */
export function loraAffinity(m: EndpointMetrics | undefined, model: string): number {
  if (!m) return 0;
  if (m.activeModels.includes(model)) return 1;
  if (m.activeModels.length + m.waitingModels.length < m.maxActiveModels) return 0.8;
  if (m.waitingModels.includes(model)) return 0.6;
  return 0;
}

export const loraAffinityScorer: PluginRegistration = {
  type: 'lora-affinity-scorer',
  description:
    'Scores 1.0 if the target adapter is active, 0.8 if a slot is free, 0.6 if it is waiting, else 0.',
  factory: (name, params): Scorer => {
    params.finish();
    return {
      type: 'lora-affinity-scorer',
      name,
      category: 'Affinity',
      score: (req, endpoints, out) => {
        for (let i = 0; i < endpoints.length; i++)
          out[i] = loraAffinity(endpoints[i].metrics, req.targetModel);
      },
    };
  },
};
