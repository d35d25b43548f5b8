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
  /** Bytes of the prompt as the prefix cache sees it (prompt text, or JSON of messages); 0 or absent = unknown. */
  promptBytes?: number;
  /** The output cap the client asked for (max_tokens, max_completion_tokens or max_output_tokens), when given. */
  maxOutputTokens?: number;
}

export interface Plugin {
  readonly type: string;
  readonly name: string;
  /** Capabilities beyond the extension-point methods, looked up by identity (PluginKind), never by type string. */
  readonly kinds?: readonly PluginKind<Plugin>[];
}

/**
 * A typed capability a plugin declares in `kinds` (a saturation detector, a flow-control policy, a decider, ...).
 * Lookup is by object identity: `KIND.is(p)` / `KIND.of(p)`, so two plugin types never collide on a string and a
 * plugin cannot be mistaken for one by the methods it happens to have.
 */
export class PluginKind<T extends Plugin> {
  constructor(readonly name: string) {}

  is(p: Plugin): p is T {
    return p.kinds?.includes(this as unknown as PluginKind<Plugin>) ?? false;
  }

  of(p: Plugin | undefined): T | undefined {
    return p && this.is(p) ? p : undefined;
  }
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
  /** Request headers to set with the destination (e.g. x-prefiller-host-port); the director copies them. */
  headers?: Record<string, string>;
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

/**
 * PreRequest hooks that must run synchronously at decision time, before the decision leaves the director (every
 * other PreRequest runs off the decision's path, in setImmediate): accounting the very next decision has to see,
 * such as in-flight load. Node serialises decisions on the event loop, so an inline increment is enough for N
 * simultaneous requests to see each other. Such a hook runs exactly when the request is counted in flight, so a
 * ResponseComplete of the same plugin pairs with it exactly once.
 */
export const INLINE_PRE_REQUEST = new PluginKind<PreRequest>('inline-pre-request');

/** How a routed request ended, as the completion hook reports it. */
export interface CompletionInfo {
  /** HTTP status; 499 when the client or Envoy went away before a response. */
  status: number;
  promptTokens?: number;
  completionTokens?: number;
}

/**
 * Runs once when a request that a scheduling cycle placed completes, however it ends (the reference EPP's
 * ResponseComplete): the same request and result preRequest saw. In-flight accounting releases here.
 */
export interface ResponseComplete extends Plugin {
  responseComplete(req: SchedulingRequest, result: SchedulingResult, info: CompletionInfo): void;
}

/**
 * Where a reference falls back to when its name is not set (or, for `defaultType`, names that very type but no such
 * plugin is configured). Without either, an unset name resolves to nothing, silently.
 */
export interface ReferenceFallback {
  /** An unset name takes the first configured plugin of the kind (configuration order). */
  configured?: boolean;
  /**
   * Else a plugin of this type created with its defaults under the type's name, once, shared by every reference
   * that falls back to it and added to the built plugins (the reference EPP creates missing default producers and
   * default flow-control policies this way).
   */
  defaultType?: string;
}

/** What the builder offers a plugin that names other plugins or profiles in its parameters. */
export interface ReferenceResolver {
  /**
   * The plugin named `name` declaring `kind`, or the fallback's when `name` is undefined; a missing or mistyped
   * plugin is reported at parameter `param` (`plugins[i].parameters.<param>`).
   */
  plugin<T extends Plugin>(
    param: string,
    name: string | undefined,
    kind: PluginKind<T>,
    fallback?: ReferenceFallback,
  ): T | undefined;
  /** Whether a scheduling profile `name` exists; otherwise the error is reported at parameter `param`. */
  profile(param: string, name: string): boolean;
}

/**
 * A plugin whose parameters name other plugins or profiles (a profile handler's decider, an in-flight load
 * consumer's producer). The builder calls `bindReferences` once every plugin and profile exists, so configuration
 * order does not matter. The one mechanism for references between plugins.
 */
export interface ReferencingPlugin extends Plugin {
  bindReferences(resolve: ReferenceResolver): void;
}

export const REFERENCES_PLUGINS = new PluginKind<ReferencingPlugin>('references-plugins');

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
export const isResponseComplete = (p: Plugin): p is ResponseComplete => hasMethod(p, 'responseComplete');
export const isEndpointsAware = (p: Plugin): p is EndpointsAware => hasMethod(p, 'endpointsChanged');

/** Records a plugin's latency (inference_extension_plugin_duration_seconds); resolved once per plugin. */
export type PluginTimerFactory = (point: ExtensionPoint, plugin: Plugin) => (seconds: number) => void;
