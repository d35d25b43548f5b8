// pd-profile-handler / disagg-profile-handler: prefill/decode disaggregation (llm-d pkg/plugins/profile). The decode
// profile runs first; the decider, shown the chosen decode pod, says whether the prefill profile runs too. The primary
// result is the decode pick; the prefill pick travels to the decode pod in x-prefiller-host-port ("host:port"), which
// is set to "" on decode-only requests so a client cannot choose a prefill host itself.

import { PD_DECIDER, PREFILLER_HEADER, type PdDecider } from '../../scheduling/disagg';
import type { Params } from '../../config/params';
import type { PluginRegistration } from '../../scheduling/registry';
import { SchedulingError } from '../../scheduling/scheduler';
import {
  REFERENCES_PLUGINS,
  type ProfileHandler,
  type ProfileResult,
  type ReferencingPlugin,
  type SchedulingResult,
} from '../../scheduling/types';

export interface PdHandlerSettings {
  decodeProfile: string;
  prefillProfile: string;
  /** Decider plugin name; undefined = never disaggregate (disagg-profile-handler without a decider). */
  decider?: string;
  /** Parameter the decider name came from, for error paths. */
  deciderParam: string;
}

export type PdProfileHandler = ProfileHandler & ReferencingPlugin & { readonly settings: PdHandlerSettings };

const usable = (r: ProfileResult | undefined): r is ProfileResult => !!r && r.targets.length > 0;

export function createPdProfileHandler(
  type: string,
  name: string,
  settings: PdHandlerSettings,
): PdProfileHandler {
  const { decodeProfile, prefillProfile } = settings;
  let decider: PdDecider | undefined;
  let prefillExists = false;
  return {
    type,
    name,
    settings,
    kinds: [REFERENCES_PLUGINS],
    bindReferences(resolve) {
      resolve.profile('decodeProfile', decodeProfile);
      if (settings.decider === undefined) return;
      decider = resolve.plugin(settings.deciderParam, settings.decider, PD_DECIDER);
      prefillExists = resolve.profile('prefillProfile', prefillProfile);
    },
    pickProfiles(req, profiles, results) {
      if (!results.has(decodeProfile)) return profiles.filter((p) => p.name === decodeProfile);
      const decode = results.get(decodeProfile);
      if (!usable(decode) || results.has(prefillProfile) || !decider || !prefillExists) return [];
      return decider.disaggregate(req, decode.targets[0])
        ? profiles.filter((p) => p.name === prefillProfile)
        : [];
    },
    processResults(_req, results): SchedulingResult {
      const decode = results.get(decodeProfile);
      if (!usable(decode)) throw new SchedulingError('failed to find available decode workers');
      const out = new Map<string, ProfileResult | undefined>([[decodeProfile, decode]]);
      const prefill = results.get(prefillProfile);
      // A prefill profile that found nobody leaves the request decode-only (the decode pod prefills itself).
      if (usable(prefill)) out.set(prefillProfile, prefill);
      return {
        profileResults: out,
        primaryProfileName: decodeProfile,
        headers: { [PREFILLER_HEADER]: usable(prefill) ? prefill.targets[0].endpoint.key : '' },
      };
    },
  };
}

function unsupported(params: Params, key: string, what: string): void {
  const v = params.value(key);
  if (v !== undefined && v !== null && v !== 0 && v !== '') params.error(key, `${what} is not supported`);
}

/**
 * The parameters both registrations read, in one order: the profiles, the decider name (`deciderDefault` '' = none
 * by default; a non-empty default makes '' an error), the prefix plugin names accepted for configuration
 * compatibility (the prefix plugin is found by its match info, not by name), and the unsupported ones.
 */
function readSettings(
  params: Params,
  deciderParam: string,
  deciderDefault: string,
  unsupportedParams: readonly (readonly [key: string, what: string])[],
): PdHandlerSettings {
  const decodeProfile = params.string('decodeProfile', 'decode');
  const prefillProfile = params.string('prefillProfile', 'prefill');
  const decider = params.string(deciderParam, deciderDefault);
  if (deciderDefault !== '' && decider === '') params.error(deciderParam, 'must name a pd decider plugin');
  params.string('prefixPluginType', '');
  params.string('prefixPluginName', '');
  for (const [key, what] of unsupportedParams) unsupported(params, key, what);
  params.finish();
  return { decodeProfile, prefillProfile, ...(decider ? { decider } : {}), deciderParam };
}

const PRIMARY_PORT = ['primaryPort', 'data-parallel primaryPort'] as const;

/** llm-d's legacy P/D handler: deciderPluginName defaults to a plugin named always-disagg-pd-decider. */
export const pdProfileHandler: PluginRegistration = {
  type: 'pd-profile-handler',
  description:
    'P/D disaggregation: decode profile first, then the prefill profile when the decider says so; primary = decode, prefill pod in x-prefiller-host-port. (Legacy name of disagg-profile-handler.)',
  factory: (name, params) =>
    createPdProfileHandler(
      'pd-profile-handler',
      name,
      readSettings(params, 'deciderPluginName', 'always-disagg-pd-decider', [PRIMARY_PORT]),
    ),
};

/** llm-d's unified handler: without prefillDeciderPluginName every request is decode-only. */
export const disaggProfileHandler: PluginRegistration = {
  type: 'disagg-profile-handler',
  description:
    'P/D disaggregation (llm-d unified handler): decode profile first, prefill profile when prefillDeciderPluginName decides so; primary = decode.',
  factory: (name, params) =>
    createPdProfileHandler(
      'disagg-profile-handler',
      name,
      readSettings(params, 'prefillDeciderPluginName', '', [
        PRIMARY_PORT,
        ['encodeProfile', 'encode disaggregation (encodeProfile)'],
        ['encodeDeciderPluginName', 'encode disaggregation (encodeDeciderPluginName)'],
      ]),
    ),
};
