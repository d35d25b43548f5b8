// prefix-based-pd-decider: disaggregate only when the part of the prompt the chosen decode pod does not hold is at
// least nonCachedTokens long (llm-d pkg/plugins/profile/prefix_based_pd_decider.go). The decode pod's cached prefix
// comes from the match info prefix-cache-scorer left in the cycle state while the decode profile ran.

import { PD_DECIDER, type PdDecider } from '../../scheduling/disagg';
import type { PluginRegistration } from '../../scheduling/registry';
import type { SchedulingRequest } from '../../scheduling/types';
import type { EndpointState } from '../../types';
import { CHARS_PER_TOKEN } from '../../prefix/hash';
import { prefixMatchInfo } from '../../prefix/prefix-cache';
import { logger } from '../../../util/log';

const log = logger('epp.prefix-based-pd-decider');

export interface PrefixDecision {
  disaggregate: boolean;
  /** Estimated prompt tokens (input bytes / 4). */
  inputTokens: number;
  /** Prompt tokens the decode pod is believed to hold (matched blocks × block size); undefined = unknown. */
  cachedTokens?: number;
}

/**
 * The rule: threshold ≤ 0 → always; prompt shorter than the threshold → no; match info missing → no (as llm-d,
 * which logs it as an error); otherwise disaggregate when inputTokens − cachedTokens ≥ threshold.
 */
export function decideByPrefix(
  threshold: number,
  req: SchedulingRequest,
  decode: EndpointState,
): PrefixDecision {
  const inputTokens = Math.floor((req.promptBytes ?? 0) / CHARS_PER_TOKEN);
  if (threshold <= 0) return { disaggregate: true, inputTokens };
  if (inputTokens < threshold) return { disaggregate: false, inputTokens };
  const info = prefixMatchInfo(req.state);
  if (!info) return { disaggregate: false, inputTokens };
  const cachedTokens = (info.matchedBlocks.get(decode.endpoint.key) ?? 0) * info.blockSizeTokens;
  return { disaggregate: inputTokens - cachedTokens >= threshold, inputTokens, cachedTokens };
}

export const prefixBasedPdDecider: PluginRegistration = {
  type: 'prefix-based-pd-decider',
  description:
    'P/D decider: disaggregate when the prompt tokens not cached on the chosen decode pod reach nonCachedTokens (0 = always).',
  factory: (name, params): PdDecider => {
    const threshold = params.number('nonCachedTokens', 0, { min: 0, integer: true });
    params.finish();
    let warned = false;
    return {
      type: 'prefix-based-pd-decider',
      name,
      kinds: [PD_DECIDER],
      disaggregate: (req, decode) => {
        const d = decideByPrefix(threshold, req, decode);
        if (threshold > 0 && d.inputTokens >= threshold && d.cachedTokens === undefined && !warned) {
          warned = true;
          log.warn('no prefix match info in the cycle state: put prefix-cache-scorer in the decode profile', {
            plugin: name,
          });
        }
        return d.disaggregate;
      },
    };
  },
};
