// EndpointPickerConfig → live plugins, profiles and scheduler, with the reference EPP's system defaults
// (applySystemDefaults): a default profile of every filter/scorer/picker when none is given, single-profile-handler
// for one profile, a shared max-score-picker for profiles without a picker, weight 1 for unweighted scorers, and a
// utilization-detector when none is configured. Every reference from one plugin to another (plugin parameters via
// REFERENCES_PLUGINS, saturationDetector and flowControl refs) resolves through one resolver (resolveRef), which
// also creates the defaults upstream creates: an inflight-load-producer when a consumer needs one and none is
// configured, a flow-control policy a ref names by type.

import { DEFAULT_UTILIZATION } from '../admission/saturation';
import {
  FAIRNESS_POLICY,
  ORDERING_POLICY,
  USAGE_LIMIT_POLICY,
  type FairnessPolicy,
  type OrderingPolicy,
  type UsageLimitPolicy,
} from '../flowcontrol/policies';
import { builtinRegistry } from '../plugins';
import { CORE_METRICS_EXTRACTOR, type CoreMetricsExtractor } from '../plugins/core-metrics-extractor';
import { METRICS_DATA_SOURCE, type MetricsDataSource } from '../plugins/metrics-data-source';
import {
  SATURATION_DETECTOR,
  newUtilizationDetector,
  type SaturationDetector,
} from '../plugins/utilization-detector';
import { PrefixCache } from '../prefix/prefix-cache';
import { SchedulerProfile, type WeightedScorer } from '../scheduling/profile';
import type { PluginDeps, PluginRegistry } from '../scheduling/registry';
import { Scheduler } from '../scheduling/scheduler';
import {
  INLINE_PRE_REQUEST,
  isEndpointsAware,
  isFilter,
  isPicker,
  isPreRequest,
  isProfileHandler,
  isResponseComplete,
  isScorer,
  REFERENCES_PLUGINS,
  type PluginKind,
  type ReferenceFallback,
  type ResponseComplete,
  type EndpointsAware,
  type Filter,
  type Picker,
  type Plugin,
  type PluginTimerFactory,
  type PreRequest,
  type ProfileHandler,
} from '../scheduling/types';
import { Params } from './params';
import {
  EppConfigError,
  type EndpointPickerConfig,
  type FlowControlSpec,
  type PriorityBandSpec,
  type ProfilePluginRef,
} from './types';

/** A priority band's spec with its policies resolved to plugins. */
export interface BuiltBand {
  spec: Omit<PriorityBandSpec, 'priority'> & { priority?: number };
  fairness: FairnessPolicy;
  ordering: OrderingPolicy;
}

/** flowControl with every ref resolved (present only with the flowControl feature gate). */
export interface BuiltFlowControl {
  spec: FlowControlSpec;
  bands: BuiltBand[];
  /** For priorities no band names. */
  defaultBand: BuiltBand;
  usageLimit: UsageLimitPolicy;
}

export interface BuiltConfig {
  scheduler: Scheduler;
  plugins: ReadonlyMap<string, Plugin>;
  /** PreRequest hooks run off the decision's path (setImmediate), e.g. prefix learning. */
  preRequest: PreRequest[];
  /** PreRequest hooks run inline at decision time (INLINE_PRE_REQUEST), e.g. in-flight accounting. */
  preRequestInline: PreRequest[];
  responseComplete: ResponseComplete[];
  endpointsAware: EndpointsAware[];
  /** saturationDetector.pluginRef, else the first configured detector, else a default utilization-detector. */
  saturationDetector: SaturationDetector;
  flowControl?: BuiltFlowControl;
  /** The prefix cache, when a prefix plugin is configured (its hash parameters drive request hashing). */
  prefixCache?: PrefixCache;
  dataSource?: MetricsDataSource;
  extractor?: CoreMetricsExtractor;
  /** The configured plugins that declare `kind`, in configuration order. */
  byKind<T extends Plugin>(kind: PluginKind<T>): T[];
  /** The plugin named `name` when it declares `kind`. */
  lookup<T extends Plugin>(name: string, kind: PluginKind<T>): T | undefined;
}

export interface BuildOptions {
  registry?: PluginRegistry;
  timers?: PluginTimerFactory;
}

// Producers first, so a prefix-cache-scorer finds the producer's shared index.
const ORDER = (registry: PluginRegistry, type: string) => (registry.get(type)?.producer ? 0 : 1);

export function buildFromConfig(
  config: EndpointPickerConfig,
  deps: PluginDeps,
  opts: BuildOptions = {},
): BuiltConfig {
  const registry = opts.registry ?? builtinRegistry();
  const errors: string[] = [];
  const plugins = new Map<string, Plugin>();
  const pathOf = new Map<string, string>();
  const instantiate = (name: string, type: string, parameters: unknown, path: string): Plugin | undefined => {
    const reg = registry.get(type);
    if (!reg) {
      errors.push(
        `${path}.type: unknown plugin type ${JSON.stringify(type)} (known: ${registry.types().join(', ')})`,
      );
      return undefined;
    }
    const params = new Params(parameters, `${path}.parameters`, errors);
    try {
      return reg.factory(name, params, deps);
    } catch (e) {
      errors.push(`${path}: ${(e as Error).message}`);
      return undefined;
    }
  };

  const specs = [...config.plugins].sort((a, b) => ORDER(registry, a.type) - ORDER(registry, b.type));
  for (const s of specs) {
    if (plugins.has(s.name)) {
      errors.push(`${s.path}.name: duplicate plugin name ${JSON.stringify(s.name)}`);
      continue;
    }
    const p = instantiate(s.name, s.type, s.parameters, s.path);
    if (p) {
      plugins.set(s.name, p);
      pathOf.set(s.name, s.path);
    }
  }
  const all = [...plugins.values()];

  let sharedPicker: Picker | undefined;
  const defaultPicker = () =>
    (sharedPicker ??= instantiate('max-score-picker', 'max-score-picker', undefined, '<default>') as Picker);

  const profiles: SchedulerProfile[] = [];
  const specsOfProfiles: { name: string; path: string; plugins: ProfilePluginRef[] }[] =
    config.schedulingProfiles.length > 0
      ? config.schedulingProfiles.map((p, i) => ({ ...p, path: `schedulingProfiles[${i}]` }))
      : [
          {
            name: 'default',
            path: '<default profile>',
            plugins: all
              .filter((p) => isFilter(p) || isScorer(p) || isPicker(p))
              .filter((p) => !SATURATION_DETECTOR.is(p))
              .map((p) => ({ pluginRef: p.name })),
          },
        ];
  const names = new Set<string>();
  for (const spec of specsOfProfiles) {
    if (names.has(spec.name))
      errors.push(`${spec.path}.name: duplicate profile ${JSON.stringify(spec.name)}`);
    names.add(spec.name);
    const filters: Filter[] = [];
    const scorers: WeightedScorer[] = [];
    let picker: Picker | undefined;
    spec.plugins.forEach((ref, j) => {
      const at = `${spec.path}.plugins[${j}]`;
      const p = plugins.get(ref.pluginRef);
      if (!p) {
        errors.push(`${at}.pluginRef: no plugin named ${JSON.stringify(ref.pluginRef)}`);
        return;
      }
      let used = false;
      if (isFilter(p)) {
        filters.push(p);
        used = true;
      }
      if (isScorer(p)) {
        scorers.push({ scorer: p, weight: ref.weight ?? 1 });
        used = true;
      }
      if (isPicker(p)) {
        if (picker) errors.push(`${at}: profile ${spec.name} already has picker ${picker.name}`);
        picker = p;
        used = true;
      }
      if (!used)
        errors.push(`${at}.pluginRef: ${ref.pluginRef} (${p.type}) is not a filter, scorer or picker`);
    });
    picker ??= defaultPicker();
    if (picker) profiles.push(new SchedulerProfile(spec.name, filters, scorers, picker, opts.timers));
  }

  /**
   * The one resolution of a reference at config path `at`: the plugin `name` names, which must declare `kind`; with
   * no name, the fallback's (the first configured plugin of the kind, else a default of `defaultType`); a name that
   * is `defaultType` itself and not configured also gets the default. Defaults are created once with their
   * parameters' defaults, under their type's name, and join the plugins. `by` names the plugin that needs it.
   */
  const resolveRef = <T extends Plugin>(
    at: string,
    name: string | undefined,
    kind: PluginKind<T>,
    fallback: ReferenceFallback = {},
    by = at,
  ): T | undefined => {
    const { configured, defaultType } = fallback;
    const isDefault =
      name !== undefined && name === defaultType && !plugins.has(name) && !!registry.get(name);
    if (name !== undefined && !isDefault) {
      const p = plugins.get(name);
      if (!p) errors.push(`${at}: no plugin named ${JSON.stringify(name)}`);
      else if (!kind.is(p)) errors.push(`${at}: ${name} (${p.type}) is not ${article(kind.name)}`);
      else return p;
      return undefined;
    }
    if (name === undefined && configured) {
      const found = [...plugins.values()].find((p) => kind.is(p));
      if (found) return found as T;
    }
    if (defaultType === undefined) return undefined;
    const taken = plugins.get(defaultType);
    if (taken) {
      if (kind.is(taken)) return taken;
      errors.push(
        `${pathOf.get(defaultType)}.name: ${by} needs ${article(defaultType)} and the default one's name is ` +
          `taken by another plugin type`,
      );
      return undefined;
    }
    const created = instantiate(defaultType, defaultType, undefined, `${at} (default ${defaultType})`);
    if (!created) return undefined;
    plugins.set(defaultType, created);
    if (kind.is(created)) return created;
    errors.push(`${at}: ${defaultType} is not ${article(kind.name)}`);
    return undefined;
  };

  // References in plugin parameters resolve once every plugin and profile exists (configuration order is free).
  for (const p of all) {
    const r = REFERENCES_PLUGINS.of(p);
    if (!r) continue;
    const at = (param: string) => `${pathOf.get(p.name)}.parameters.${param}`;
    r.bindReferences({
      plugin: (param, name, kind, fallback) => resolveRef(at(param), name, kind, fallback, p.name),
      profile: (param, name) => {
        if (names.has(name)) return true;
        errors.push(`${at(param)}: no scheduling profile named ${JSON.stringify(name)}`);
        return false;
      },
    });
  }

  const handlers = all.filter(isProfileHandler);
  let handler: ProfileHandler | undefined = handlers[0];
  if (handlers.length > 1)
    errors.push(`plugins: more than one profile handler (${handlers.map((h) => h.name).join(', ')})`);
  if (!handler) {
    if (profiles.length === 1) {
      handler = instantiate(
        'single-profile-handler',
        'single-profile-handler',
        undefined,
        '<default>',
      ) as ProfileHandler;
    } else {
      errors.push('plugins: a profile handler is required when there is more than one scheduling profile');
    }
  }

  const saturationDetector =
    resolveRef('saturationDetector.pluginRef', config.saturationDetector?.pluginRef, SATURATION_DETECTOR, {
      configured: true,
    }) ?? newUtilizationDetector('utilization-detector', DEFAULT_UTILIZATION, deps.now);

  // Flow-control refs name plugins; a ref naming an unconfigured plugin type gets that type with its defaults (as
  // upstream does for its default policies).
  const policy = <T extends Plugin>(ref: string, kind: PluginKind<T>, at: string) =>
    resolveRef(at, ref, kind, { defaultType: ref });
  let flowControl: BuiltFlowControl | undefined;
  if (config.flowControl) {
    const fc = config.flowControl;
    const buildBand = (spec: BuiltBand['spec']): BuiltBand | undefined => {
      const fairness = policy(spec.fairnessPolicyRef, FAIRNESS_POLICY, `${spec.path}.fairnessPolicyRef`);
      const ordering = policy(spec.orderingPolicyRef, ORDERING_POLICY, `${spec.path}.orderingPolicyRef`);
      return fairness && ordering ? { spec, fairness, ordering } : undefined;
    };
    const bands = fc.priorityBands.map(buildBand);
    const defaultBand = buildBand(fc.defaultPriorityBand);
    const usageLimit = policy(
      fc.usageLimitPolicyPluginRef,
      USAGE_LIMIT_POLICY,
      'flowControl.usageLimitPolicyPluginRef',
    );
    if (defaultBand && usageLimit && bands.every((b) => b !== undefined))
      flowControl = { spec: fc, bands: bands as BuiltBand[], defaultBand, usageLimit };
  }
  for (const ref of [
    config.parser?.pluginRef,
    ...(config.dataLayer?.sources ?? []).flatMap((s) => [
      s.pluginRef,
      ...s.extractors.map((e) => e.pluginRef),
    ]),
  ]) {
    if (ref !== undefined && !plugins.has(ref))
      errors.push(`no plugin named ${JSON.stringify(ref)} (referenced by parser/dataLayer)`);
  }

  if (errors.length > 0 || !handler) throw new EppConfigError(errors);
  // With the defaults references created.
  const final = [...plugins.values()];
  const prefixOwner = final.find((p) => (p as { cache?: unknown }).cache instanceof PrefixCache) as
    { cache: PrefixCache } | undefined;
  return {
    scheduler: new Scheduler(handler, profiles, opts.timers),
    plugins,
    preRequest: final.filter((p) => isPreRequest(p) && !INLINE_PRE_REQUEST.is(p)),
    preRequestInline: final.filter((p) => isPreRequest(p) && INLINE_PRE_REQUEST.is(p)),
    responseComplete: final.filter(isResponseComplete),
    endpointsAware: final.filter(isEndpointsAware),
    saturationDetector,
    ...(flowControl ? { flowControl } : {}),
    prefixCache: prefixOwner?.cache,
    dataSource: final.map((p) => METRICS_DATA_SOURCE.of(p)).find((p) => p !== undefined),
    extractor: final.map((p) => CORE_METRICS_EXTRACTOR.of(p)).find((p) => p !== undefined),
    byKind: (kind) => final.filter((p) => kind.is(p)) as never,
    lookup: (name, kind) => kind.of(plugins.get(name)),
  };
}

/** "a pd decider", "an inflight-load-producer", "a usage-limit policy" (no kind name starts with a vowel u). */
const article = (what: string) => `${/^[aeio]/i.test(what) ? 'an' : 'a'} ${what}`;
