// max-score-picker: the highest total scores win; ties are broken at random (shuffle, then stable sort).

import { shuffle } from '../../scheduling/random';
import type { PluginRegistration } from '../../scheduling/registry';
import type { Picker } from '../../scheduling/types';

export const maxScorePicker: PluginRegistration = {
  type: 'max-score-picker',
  description: 'Shuffles, stable-sorts by descending score and takes the top maxNumOfEndpoints (default 1).',
  factory: (name, params, deps): Picker => {
    const max = params.number('maxNumOfEndpoints', 1, { min: 1, integer: true });
    params.finish();
    return {
      type: 'max-score-picker',
      name,
      pick: (_req, endpoints, scores) => {
        const order = shuffle(
          Array.from({ length: endpoints.length }, (_, i) => i),
          deps.random,
        );
        order.sort((a, b) => scores[b] - scores[a]); // Array.prototype.sort is stable
        const n = Math.min(max, order.length);
        const out = new Array(n);
        for (let i = 0; i < n; i++) out[i] = endpoints[order[i]];
        return out;
      },
    };
  },
};
