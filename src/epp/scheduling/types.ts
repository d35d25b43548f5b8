// The scheduler framework's extension points (reference EPP framework/interface/scheduling): filters narrow the
// candidates, scorers rate them in [0,1], a picker chooses, a profile handler decides which profiles run.

import type { EndpointState } from '../types';

export type ExtensionPoint =
  'ProfilePicker' | 'Filter' | 'Scorer' | 'Picker' | 'ProcessProfilesResults' | 'PreRequest';
export type ScorerCategory = 'Affinity' | 'Distribution' | 'Balance';

/** What plugins see of one request. */
export interface SchedulingRequest {
  requestId: string;
  /** The model the request will be served as (after rewrite). */
  targetModel: string;
  /** Lower-case header names. */
  headers: Readonly<Record<string, string>>;
  /** The prefix-cache block hashes for these parameters, computed on first use. */
  prefixHashes(blockChars: number, maxBlocks: number): BigUint64Array;
  /** State shared across extension points for this request (the reference EPP's CycleState). */
  readonly state: Map<string, unknown>;
}

export interface Plugin {
  readonly type: string;
  readonly name: string;
}

export interface Filter extends Plugin {
  filter(req: SchedulingRequest, endpoints: EndpointState[]): EndpointState[];
}

export interface Scorer extends Plugin {
  readonly category: ScorerCategory;
  /** Writes one score per endpoint into out[i] (the framework clamps to [0,1]). */
  score(req: SchedulingRequest, endpoints: readonly EndpointState[], out: Float64Array): void;
}

export interface Picker extends Plugin {
  /** The chosen endpoints, best first. `scores[i]` belongs to endpoints[i]. */
  pick(req: SchedulingRequest, endpoints: readonly EndpointState[], scores: Float64Array): EndpointState[];
}

export interface ProfileResult {
  targets: EndpointState[];
}

export interface SchedulingResult {
  profileResults: ReadonlyMap<string, ProfileResult | undefined>;
  primaryProfileName: string;
}

/** The profile-runner view the handler needs. */
export interface ProfileRef {
  readonly name: string;
}

export interface ProfileHandler extends Plugin {
  /** Profiles to run next, given the results so far; empty ends the cycle. */
  pickProfiles<P extends ProfileRef>(
    req: SchedulingRequest,
    profiles: readonly P[],
    results: ReadonlyMap<string, ProfileResult | undefined>,
  ): P[];
  /** Throws when the results cannot be served. */
  processResults(
    req: SchedulingRequest,
    results: ReadonlyMap<string, ProfileResult | undefined>,
  ): SchedulingResult;
}

/** Runs after a successful scheduling cycle (e.g. the prefix index learns where the request went). */
export interface PreRequest extends Plugin {
  preRequest(req: SchedulingRequest, result: SchedulingResult): void;
}

/** Told the set of endpoint keys whenever the pool's endpoints change. */
export interface EndpointsAware extends Plugin {
  endpointsChanged(active: ReadonlySet<string>): void;
}

const hasMethod = (p: Plugin, m: string) =>
  typeof (p as unknown as Record<string, unknown>)[m] === 'function';
export const isFilter = (p: Plugin): p is Filter => hasMethod(p, 'filter');
export const isScorer = (p: Plugin): p is Scorer => hasMethod(p, 'score');
export const isPicker = (p: Plugin): p is Picker => hasMethod(p, 'pick');
export const isProfileHandler = (p: Plugin): p is ProfileHandler => hasMethod(p, 'processResults');
export const isPreRequest = (p: Plugin): p is PreRequest => hasMethod(p, 'preRequest');
export const isEndpointsAware = (p: Plugin): p is EndpointsAware => hasMethod(p, 'endpointsChanged');

/** Records a plugin's latency (inference_extension_plugin_duration_seconds); resolved once per plugin. */
export type PluginTimerFactory = (point: ExtensionPoint, plugin: Plugin) => (seconds: number) => void;
