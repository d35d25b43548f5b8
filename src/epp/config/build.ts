// EndpointPickerConfig → live plugins, profiles and scheduler, with the reference EPP's system defaults
// (applySystemDefaults): a default profile of every filter/scorer/picker when none is given, single-profile-handler
// for one profile, a shared max-score-picker for profiles without a picker, weight 1 for unweighted scorers, and a
// utilization-detector when none is configured.

import { DEFAULT_UTILIZATION, type UtilizationParams } from '../admission/saturation';
import { builtinRegistry } from '../plugins';
import { CORE_METRICS_EXTRACTOR, type CoreMetricsExtractor } from '../plugins/core-metrics-extractor';
import { METRICS_DATA_SOURCE, type MetricsDataSource } from '../plugins/metrics-data-source';
import { SATURATION_DETECTOR } from '../plugins/utilization-detector';
import { PrefixCache } from '../prefix/prefix-cache';
import { SchedulerProfile, type WeightedScorer } from '../scheduling/profile';
import type { PluginDeps, PluginRegistry } from '../scheduling/registry';
import { Scheduler } from '../scheduling/scheduler';
import {
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
import { EppConfigError, type EndpointPickerConfig, type ProfilePluginRef } from './types';

export interface BuiltConfig {
  scheduler: Scheduler;
  plugins: ReadonlyMap<string, Plugin>;
  preRequest: PreRequest[];
  responseComplete: ResponseComplete[];
  endpointsAware: EndpointsAware[];
  saturation: UtilizationParams;
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
const ORDER = (type: string) => (type === 'approx-prefix-cache-producer' ? 0 : 1);

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

  const specs = [...config.plugins].sort((a, b) => ORDER(a.type) - ORDER(b.type));
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

  let saturation: UtilizationParams = DEFAULT_UTILIZATION;
  if (config.saturationDetector) {
    const p = plugins.get(config.saturationDetector.pluginRef);
    if (!p)
      errors.push(
        `saturationDetector.pluginRef: no plugin named ${JSON.stringify(config.saturationDetector.pluginRef)}`,
      );
    else if (!SATURATION_DETECTOR.is(p))
      errors.push(`saturationDetector.pluginRef: ${p.name} (${p.type}) is not a saturation detector`);
    else saturation = p.params;
  } else {
    const d = all.map((p) => SATURATION_DETECTOR.of(p)).find((p) => p !== undefined);
    if (d) saturation = d.params;
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
    preRequest: all.filter(isPreRequest),
    responseComplete: all.filter(isResponseComplete),
    endpointsAware: all.filter(isEndpointsAware),
    saturation,
    prefixCache: prefixOwner?.cache,
    dataSource: all.map((p) => METRICS_DATA_SOURCE.of(p)).find((p) => p !== undefined),
    extractor: all.map((p) => CORE_METRICS_EXTRACTOR.of(p)).find((p) => p !== undefined),
    byKind: (kind) => all.filter((p) => kind.is(p)) as never,
    lookup: (name, kind) => kind.of(plugins.get(name)),
  };
}
