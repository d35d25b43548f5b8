// single-profile-handler: runs every profile once and requires exactly one result.

import { SchedulingError } from '../../scheduling/scheduler';
import type { PluginRegistration } from '../../scheduling/registry';
import type { ProfileHandler } from '../../scheduling/types';

export const singleProfileHandler: PluginRegistration = {
  type: 'single-profile-handler',
  description: 'Runs the single configured profile once; its result is the primary result.',
  factory: (name, params): ProfileHandler => {
    params.finish();
    return {
      type: 'single-profile-handler',
      name,
      pickProfiles: (_req, profiles, results) => (results.size === 0 ? [...profiles] : []),
      processResults: (_req, results) => {
        if (results.size !== 1)
          throw new SchedulingError(`single profile handler expects 1 profile, got ${results.size}`);
        const [[primaryProfileName, result]] = results;
        if (!result) throw new SchedulingError('failed to find target endpoint');
        return { profileResults: results, primaryProfileName };
      },
    };
  },
};
