// random-picker: ignores scores and picks uniformly at random.

import { shuffle } from '../../scheduling/random';
import type { PluginRegistration } from '../../scheduling/registry';
import type { Picker } from '../../scheduling/types';

export const randomPicker: PluginRegistration = {
  type: 'random-picker',
  description: 'Shuffles the candidates and takes maxNumOfEndpoints (default 1).',
  factory: (name, params, deps): Picker => {
    const max = params.number('maxNumOfEndpoints', 1, { min: 1, integer: true });
    params.finish();
    return {
      type: 'random-picker',
      name,
      pick: (_req, endpoints) => shuffle([...endpoints], deps.random).slice(0, max),
    };
  },
};
