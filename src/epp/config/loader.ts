// Strict reading of an EndpointPickerConfig file: unknown fields are errors (with their paths), every problem is
// reported at once, and an absent file means the upstream default (queue 2, kv-cache 2, prefix 3, max-score).

import { readFileSync } from 'node:fs';
import { CORE_SCHEMA, load } from 'js-yaml';
import { logger } from '../../util/log';
import { isObject, parseDurationMs, type Json } from './params';
import { parseQuantity } from './quantity';
import {
  CONFIG_API_VERSION,
  CONFIG_KIND,
  DEFAULT_BAND_MAX_BYTES,
  DEFAULT_FAIRNESS_POLICY,
  DEFAULT_ORDERING_POLICY,
  DEFAULT_USAGE_LIMIT_POLICY,
  EppConfigError,
  FLOW_CONTROL_GATE,
  type EndpointPickerConfig,
  type FlowControlSpec,
  type PluginSpec,
  type PriorityBandSpec,
  type ProfileSpec,
} from './types';

const log = logger('epp.config');

/** The superseded switch for flow control; `true` maps to the flowControl feature gate (with a deprecation log). */
export const LEGACY_FLOW_CONTROL_ENV = 'ENABLE_EXPERIMENTAL_FLOW_CONTROL_LAYER';

export const DEFAULT_CONFIG_YAML = `apiVersion: ${CONFIG_API_VERSION}
kind: ${CONFIG_KIND}
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
schedulingProfiles:
- name: default
  plugins:
  - {pluginRef: queue-scorer, weight: 2}
  - {pluginRef: kv-cache-utilization-scorer, weight: 2}
  - {pluginRef: prefix-cache-scorer, weight: 3}
`;

class Reader {
  constructor(readonly errors: string[]) {}

  fields(v: unknown, path: string, known: readonly string[]): Json | undefined {
    if (!isObject(v)) {
      this.errors.push(`${path || '<root>'}: must be a mapping`);
      return undefined;
    }
    for (const k of Object.keys(v)) {
      if (!known.includes(k)) this.errors.push(`${path ? path + '.' : ''}${k}: unknown field`);
    }
    return v;
  }

  str(o: Json, key: string, path: string, required: boolean): string | undefined {
    const v = o[key];
    const at = `${path ? path + '.' : ''}${key}`;
    if (v === undefined || v === null) {
      if (required) this.errors.push(`${at}: required`);
      return undefined;
    }
    if (typeof v !== 'string' || v === '') {
      this.errors.push(`${at}: must be a non-empty string`);
      return undefined;
    }
    return v;
  }

  list(o: Json, key: string, path: string): unknown[] {
    const v = o[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.errors.push(`${path ? path + '.' : ''}${key}: must be a list`);
      return [];
    }
    return v;
  }

  ref(o: Json, key: string, path: string): { pluginRef: string } | undefined {
    if (o[key] === undefined || o[key] === null) return undefined;
    const r = this.fields(o[key], `${path}${key}`, ['pluginRef']);
    const pluginRef = r && this.str(r, 'pluginRef', `${path}${key}`, true);
    return pluginRef ? { pluginRef } : undefined;
  }
}

/** Parses and checks the file's text; throws EppConfigError listing every problem. */
export function parseEndpointPickerConfig(
  text: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): EndpointPickerConfig {
  const errors: string[] = [];
  let doc: unknown;
  try {
    doc = load(text, { schema: CORE_SCHEMA });
  } catch (e) {
    throw new EppConfigError([`YAML syntax error: ${(e as Error).message.split('\n')[0]}`]);
  }
  const r = new Reader(errors);
  const top = r.fields(doc, '', [
    'apiVersion',
    'kind',
    'featureGates',
    'plugins',
    'schedulingProfiles',
    'saturationDetector',
    'dataLayer',
    'data',
    'parser',
    'flowControl',
  ]);
  if (!top) throw new EppConfigError(errors);
  const apiVersion = r.str(top, 'apiVersion', '', true) ?? '';
  const kind = r.str(top, 'kind', '', true) ?? '';
  if (apiVersion && apiVersion !== CONFIG_API_VERSION && apiVersion !== 'llm-d.ai/v1alpha1') {
    errors.push(`apiVersion: must be ${CONFIG_API_VERSION}, got ${apiVersion}`);
  }
  if (kind && kind !== CONFIG_KIND) errors.push(`kind: must be ${CONFIG_KIND}, got ${kind}`);

  const featureGates = r.list(top, 'featureGates', '').filter((g, i) => {
    if (typeof g === 'string') return true;
    errors.push(`featureGates[${i}]: must be a string`);
    return false;
  }) as string[];
  if (
    (env[LEGACY_FLOW_CONTROL_ENV] ?? '').toLowerCase() === 'true' &&
    !featureGates.includes(FLOW_CONTROL_GATE)
  ) {
    log.warn(
      `${LEGACY_FLOW_CONTROL_ENV} is deprecated: use featureGates: [${FLOW_CONTROL_GATE}] in the EndpointPickerConfig`,
    );
    featureGates.push(FLOW_CONTROL_GATE);
  }

  const plugins: PluginSpec[] = [];
  r.list(top, 'plugins', '').forEach((p, i) => {
    const path = `plugins[${i}]`;
    const o = r.fields(p, path, ['name', 'type', 'parameters']);
    if (!o) return;
    const type = r.str(o, 'type', path, true);
    const name = r.str(o, 'name', path, false) ?? type;
    if (type && name) plugins.push({ name, type, parameters: o.parameters ?? undefined, path });
  });

  const schedulingProfiles: ProfileSpec[] = [];
  r.list(top, 'schedulingProfiles', '').forEach((p, i) => {
    const path = `schedulingProfiles[${i}]`;
    const o = r.fields(p, path, ['name', 'plugins']);
    if (!o) return;
    const name = r.str(o, 'name', path, true) ?? '';
    const refs = r.list(o, 'plugins', path).flatMap((ref, j) => {
      const at = `${path}.plugins[${j}]`;
      const ro = r.fields(ref, at, ['pluginRef', 'weight']);
      const pluginRef = ro && r.str(ro, 'pluginRef', at, true);
      if (!ro || !pluginRef) return [];
      const w = ro.weight;
      if (w !== undefined && w !== null && (typeof w !== 'number' || !Number.isFinite(w) || w < 0)) {
        errors.push(`${at}.weight: must be a non-negative number`);
        return [];
      }
      return [typeof w === 'number' ? { pluginRef, weight: w } : { pluginRef }];
    });
    schedulingProfiles.push({ name, plugins: refs });
  });

  const config: EndpointPickerConfig = { apiVersion, kind, featureGates, plugins, schedulingProfiles };
  const saturationDetector = r.ref(top, 'saturationDetector', '');
  if (saturationDetector) config.saturationDetector = saturationDetector;
  const parser = r.ref(top, 'parser', '');
  if (parser) config.parser = parser;
  const dlKey = top.dataLayer !== undefined ? 'dataLayer' : top.data !== undefined ? 'data' : undefined;
  if (dlKey) {
    const dl = r.fields(top[dlKey], dlKey, ['sources']);
    if (dl) {
      config.dataLayer = {
        sources: r.list(dl, 'sources', dlKey).flatMap((s, i) => {
          const at = `${dlKey}.sources[${i}]`;
          const so = r.fields(s, at, ['pluginRef', 'extractors']);
          const pluginRef = so && r.str(so, 'pluginRef', at, true);
          if (!so || !pluginRef) return [];
          const extractors = r.list(so, 'extractors', at).flatMap((e, j) => {
            const eo = r.fields(e, `${at}.extractors[${j}]`, ['pluginRef']);
            const ref = eo && r.str(eo, 'pluginRef', `${at}.extractors[${j}]`, true);
            return ref ? [{ pluginRef: ref }] : [];
          });
          return [{ pluginRef, extractors }];
        }),
      };
    }
  }
  if (top.flowControl !== undefined && top.flowControl !== null) {
    if (!featureGates.includes(FLOW_CONTROL_GATE))
      errors.push(
        `flowControl: requires featureGates: [${FLOW_CONTROL_GATE}] (the block is ignored upstream without it)`,
      );
    const fc = readFlowControl(r, top.flowControl);
    if (fc) config.flowControl = fc;
  } else if (featureGates.includes(FLOW_CONTROL_GATE)) {
    config.flowControl = readFlowControl(r, {});
  }
  if (errors.length > 0) throw new EppConfigError(errors);
  return config;
}

const BAND_FIELDS = ['priority', 'maxBytes', 'maxRequests', 'fairnessPolicyRef', 'orderingPolicyRef'];

/** A non-negative Quantity (string or number); undefined when absent; an error when malformed. */
function quantity(r: Reader, o: Json, key: string, path: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const n = parseQuantity(v);
  if (n === undefined || n < 0) {
    r.errors.push(
      `${path}.${key}: must be a non-negative quantity (e.g. 100, "10k", "1Gi"), got ${JSON.stringify(v)}`,
    );
    return undefined;
  }
  return Math.floor(n);
}

function band(r: Reader, v: unknown, path: string, template: boolean): PriorityBandSpec | undefined {
  const o = r.fields(v, path, BAND_FIELDS);
  if (!o) return undefined;
  let priority = NaN;
  if (!template) {
    const p = o.priority;
    if (p === undefined || p === null) r.errors.push(`${path}.priority: required`);
    else if (typeof p !== 'number' || !Number.isInteger(p))
      r.errors.push(`${path}.priority: must be an integer, got ${JSON.stringify(p)}`);
    else priority = p;
  }
  const spec: PriorityBandSpec = {
    priority,
    maxBytes: quantity(r, o, 'maxBytes', path) ?? DEFAULT_BAND_MAX_BYTES,
    fairnessPolicyRef: r.str(o, 'fairnessPolicyRef', path, false) ?? DEFAULT_FAIRNESS_POLICY,
    orderingPolicyRef: r.str(o, 'orderingPolicyRef', path, false) ?? DEFAULT_ORDERING_POLICY,
    path,
  };
  const maxRequests = quantity(r, o, 'maxRequests', path);
  if (maxRequests !== undefined) spec.maxRequests = maxRequests;
  // The template's priority (if given) means nothing: it applies to every priority no band names.
  if (template) delete (spec as Partial<PriorityBandSpec>).priority;
  return spec;
}

/** The flowControl block with the upstream defaults applied; problems go to r.errors with their paths. */
function readFlowControl(r: Reader, v: unknown): FlowControlSpec | undefined {
  const path = 'flowControl';
  const o = r.fields(v, path, [
    'maxBytes',
    'maxRequests',
    'defaultRequestTTL',
    'defaultPriorityBand',
    'priorityBands',
    'usageLimitPolicyPluginRef',
  ]);
  if (!o) return undefined;
  let ttl = 0;
  const t = o.defaultRequestTTL;
  if (t !== undefined && t !== null && t !== 0) {
    const ms = typeof t === 'string' ? parseDurationMs(t) : undefined;
    if (ms === undefined)
      r.errors.push(`${path}.defaultRequestTTL: must be a duration like "30s", got ${JSON.stringify(t)}`);
    else ttl = ms;
  }
  const template = band(r, o.defaultPriorityBand ?? {}, `${path}.defaultPriorityBand`, true);
  const bands: PriorityBandSpec[] = [];
  const seen = new Map<number, string>();
  r.list(o, 'priorityBands', path).forEach((b, i) => {
    const at = `${path}.priorityBands[${i}]`;
    const spec = band(r, b, at, false);
    if (!spec || Number.isNaN(spec.priority)) return;
    const dup = seen.get(spec.priority);
    if (dup) r.errors.push(`${at}.priority: ${spec.priority} is already the priority of ${dup}`);
    seen.set(spec.priority, at);
    bands.push(spec);
  });
  const fc: FlowControlSpec = {
    defaultRequestTTLMs: ttl,
    defaultPriorityBand: template ?? {
      maxBytes: DEFAULT_BAND_MAX_BYTES,
      fairnessPolicyRef: DEFAULT_FAIRNESS_POLICY,
      orderingPolicyRef: DEFAULT_ORDERING_POLICY,
      path: `${path}.defaultPriorityBand`,
    },
    priorityBands: bands,
    usageLimitPolicyPluginRef:
      r.str(o, 'usageLimitPolicyPluginRef', path, false) ?? DEFAULT_USAGE_LIMIT_POLICY,
  };
  const maxBytes = quantity(r, o, 'maxBytes', path);
  if (maxBytes !== undefined) fc.maxBytes = maxBytes;
  const maxRequests = quantity(r, o, 'maxRequests', path);
  if (maxRequests !== undefined) fc.maxRequests = maxRequests;
  return fc;
}

/** The config in `file`, or the upstream default when no file is given. */
export function loadEndpointPickerConfig(file?: string): EndpointPickerConfig {
  if (!file) return parseEndpointPickerConfig(DEFAULT_CONFIG_YAML);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new EppConfigError([`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? e}`]);
  }
  try {
    return parseEndpointPickerConfig(text);
  } catch (e) {
    if (e instanceof EppConfigError) throw new EppConfigError(e.problems.map((p) => `${file}: ${p}`));
    throw e;
  }
}
