// EndpointPickerConfig → live plugins, profiles and scheduler, with the reference EPP's system defaults
// (applySystemDefaults): a default profile of every filter/scorer/picker when none is given, single-profile-handler
// for one profile, a shared max-score-picker for profiles without a picker, weight 1 for unweighted scorers, and a
// utilization-detector when none is configured; an inflight-load-producer when a consumer needs one and none is
// configured (the reference EPP's default producers).

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
import {
  INFLIGHT_LOAD,
  INFLIGHT_LOAD_CONSUMER,
  INFLIGHT_LOAD_PRODUCER_TYPE,
} from '../plugins/inflight-load-producer';
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
  bindInFlightLoad(plugins, pathOf, errors, () =>
    instantiate(INFLIGHT_LOAD_PRODUCER_TYPE, INFLIGHT_LOAD_PRODUCER_TYPE, undefined, '<default>'),
  );
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

  // References between plugins (a profile handler's decider) resolve once every plugin and profile exists.
  for (const p of all) {
    const r = REFERENCES_PLUGINS.of(p);
    if (!r) continue;
    const at = (param: string) => `${pathOf.get(p.name)}.parameters.${param}`;
    r.bindReferences({
      plugin: (param, name, kind) => {
        const q = plugins.get(name);
        if (!q) errors.push(`${at(param)}: no plugin named ${JSON.stringify(name)}`);
        else if (!kind.is(q)) errors.push(`${at(param)}: ${name} (${q.type}) is not a ${kind.name}`);
        else return q;
        return undefined;
      },
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

  let saturationDetector: SaturationDetector | undefined;
  if (config.saturationDetector) {
    const p = plugins.get(config.saturationDetector.pluginRef);
    if (!p)
      errors.push(
        `saturationDetector.pluginRef: no plugin named ${JSON.stringify(config.saturationDetector.pluginRef)}`,
      );
    else if (!SATURATION_DETECTOR.is(p))
      errors.push(`saturationDetector.pluginRef: ${p.name} (${p.type}) is not a saturation detector`);
    else saturationDetector = p;
  } else {
    saturationDetector = all.map((p) => SATURATION_DETECTOR.of(p)).find((p) => p !== undefined);
  }
  saturationDetector ??= newUtilizationDetector('utilization-detector', DEFAULT_UTILIZATION, deps.now);

  // Flow-control refs name plugins; a ref to an undeclared plugin type of the right kind instantiates it with its
  // defaults (as upstream does for its default policies).
  const implicit = new Map<string, Plugin>();
  const resolve = <T extends Plugin>(
    ref: string,
    kind: PluginKind<T>,
    at: string,
    what: string,
  ): T | undefined => {
    let p = plugins.get(ref) ?? implicit.get(ref);
    if (!p && registry.get(ref)) {
      p = instantiate(ref, ref, undefined, `${at} (default ${ref})`);
      if (p) implicit.set(ref, p);
    }
    if (!p) {
      errors.push(`${at}: no plugin named ${JSON.stringify(ref)}`);
      return undefined;
    }
    if (!kind.is(p)) {
      errors.push(`${at}: ${p.name} (${p.type}) is not a ${what}`);
      return undefined;
    }
    return p;
  };
  let flowControl: BuiltFlowControl | undefined;
  if (config.flowControl) {
    const fc = config.flowControl;
    const buildBand = (spec: BuiltBand['spec']): BuiltBand | undefined => {
      const fairness = resolve(
        spec.fairnessPolicyRef,
        FAIRNESS_POLICY,
        `${spec.path}.fairnessPolicyRef`,
        'fairness policy',
      );
      const ordering = resolve(
        spec.orderingPolicyRef,
        ORDERING_POLICY,
        `${spec.path}.orderingPolicyRef`,
        'ordering policy',
      );
      return fairness && ordering ? { spec, fairness, ordering } : undefined;
    };
    const bands = fc.priorityBands.map(buildBand);
    const defaultBand = buildBand(fc.defaultPriorityBand);
    const usageLimit = resolve(
      fc.usageLimitPolicyPluginRef,
      USAGE_LIMIT_POLICY,
      'flowControl.usageLimitPolicyPluginRef',
      'usage-limit policy',
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
  const prefixOwner = all.find((p) => (p as { cache?: unknown }).cache instanceof PrefixCache) as
    { cache: PrefixCache } | undefined;
  return {
    scheduler: new Scheduler(handler, profiles, opts.timers),
    plugins,
    preRequest: all.filter((p) => isPreRequest(p) && !INLINE_PRE_REQUEST.is(p)),
    preRequestInline: all.filter((p) => isPreRequest(p) && INLINE_PRE_REQUEST.is(p)),
    responseComplete: all.filter(isResponseComplete),
    endpointsAware: all.filter(isEndpointsAware),
    saturationDetector,
    ...(flowControl ? { flowControl } : {}),
    prefixCache: prefixOwner?.cache,
    dataSource: all.map((p) => METRICS_DATA_SOURCE.of(p)).find((p) => p !== undefined),
    extractor: all.map((p) => CORE_METRICS_EXTRACTOR.of(p)).find((p) => p !== undefined),
    byKind: (kind) => all.filter((p) => kind.is(p)) as never,
    lookup: (name, kind) => kind.of(plugins.get(name)),
  };
}

/**
 * Binds every in-flight-load consumer (token-load-scorer, active-request-scorer) to its producer: the one its
 * `inFlightLoadProducerName` names, else the first configured, else a default `inflight-load-producer` added to
 * the plugins (as the reference EPP creates missing default producers).
 */
function bindInFlightLoad(
  plugins: Map<string, Plugin>,
  pathOf: ReadonlyMap<string, string>,
  errors: string[],
  createDefault: () => Plugin | undefined,
): void {
  const consumers = [...plugins.values()].filter((p) => INFLIGHT_LOAD_CONSUMER.is(p));
  if (consumers.length === 0) return;
  for (const c of consumers) {
    const want = c.inFlightLoadProducerName;
    if (want !== undefined) {
      const named = plugins.get(want);
      const source = INFLIGHT_LOAD.of(named);
      if (source) c.bindInFlightLoad(source);
      else
        errors.push(
          `${pathOf.get(c.name) ?? c.name}.parameters.inFlightLoadProducerName: ` +
            (named
              ? `${want} (${named.type}) is not an ${INFLIGHT_LOAD_PRODUCER_TYPE}`
              : `no plugin named ${JSON.stringify(want)}`),
        );
      continue;
    }
    let source = [...plugins.values()].map((p) => INFLIGHT_LOAD.of(p)).find((p) => p !== undefined);
    if (!source) {
      if (plugins.has(INFLIGHT_LOAD_PRODUCER_TYPE)) {
        errors.push(
          `${pathOf.get(INFLIGHT_LOAD_PRODUCER_TYPE)}.name: ${c.name} needs an ${INFLIGHT_LOAD_PRODUCER_TYPE} and ` +
            `the default one's name is taken by another plugin type`,
        );
        return;
      }
      const created = createDefault();
      source = INFLIGHT_LOAD.of(created);
      if (!created || !source) return;
      plugins.set(created.name, created);
    }
    c.bindInFlightLoad(source);
  }
}
