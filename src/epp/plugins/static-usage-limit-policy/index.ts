// static-usage-limit-policy: one saturation ceiling for every band (parameter threshold, default 1.0). Dispatch is
// held while the saturation detector reports saturation ≥ threshold.

import { USAGE_LIMIT_POLICY, type UsageLimitPolicy } from '../../flowcontrol/policies';
import type { PluginRegistration } from '../../scheduling/registry';

export const DEFAULT_USAGE_THRESHOLD = 1.0;

export const staticUsageLimitPolicy: PluginRegistration = {
  type: 'static-usage-limit-policy',
  description: 'Flow-control usage limit: hold dispatch while saturation ≥ threshold (default 1.0).',
  factory: (name, p): UsageLimitPolicy => {
    const threshold = p.number('threshold', DEFAULT_USAGE_THRESHOLD, { min: Number.MIN_VALUE });
    p.finish();
    return {
      type: 'static-usage-limit-policy',
      name,
      kinds: [USAGE_LIMIT_POLICY],
      ceiling: () => threshold,
    };
  },
};
