// weighted-random-picker: samples endpoints with probability proportional to their scores (A-Res).

import { shuffle } from '../../scheduling/random';
import type { PluginRegistration } from '../../scheduling/registry';
import type { Picker } from '../../scheduling/types';

export const weightedRandomPicker: PluginRegistration = {
  type: 'weighted-random-picker',
  description:
    'A-Res weighted sampling: key = U^(1/score), highest keys win; all-zero scores fall back to random.',
  factory: (name, params, deps): Picker => {
    const max = params.number('maxNumOfEndpoints', 1, { min: 1, integer: true });
    params.finish();
    return {
      type: 'weighted-random-picker',
      name,
      pick: (_req, endpoints, scores) => {
        let any = false;
        for (let i = 0; i < endpoints.length; i++) if (scores[i] > 0) any = true;
        if (!any) return shuffle([...endpoints], deps.random).slice(0, max);
        const keys = new Float64Array(endpoints.length);
        for (let i = 0; i < endpoints.length; i++) {
          keys[i] = scores[i] > 0 ? Math.pow(deps.random(), 1 / scores[i]) : -1;
        }
        const order = Array.from({ length: endpoints.length }, (_, i) => i).sort((a, b) => keys[b] - keys[a]);
        return order.slice(0, max).map((i) => endpoints[i]);
      },
    };
  },
};
