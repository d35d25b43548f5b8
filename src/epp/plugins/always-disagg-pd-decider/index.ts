// always-disagg-pd-decider: every request is prefilled on a prefill pod (llm-d's default decider).

import { PD_DECIDER, type PdDecider } from '../../scheduling/disagg';
import type { PluginRegistration } from '../../scheduling/registry';

export const alwaysDisaggPdDecider: PluginRegistration = {
  type: 'always-disagg-pd-decider',
  description: 'P/D decider: always disaggregate (run the prefill profile for every request).',
  factory: (name, params): PdDecider => {
    params.finish();
    return { type: 'always-disagg-pd-decider', name, kinds: [PD_DECIDER], disaggregate: () => true };
  },
};
