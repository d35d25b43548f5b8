// Pure status merging: an object's current status plus the conditions stage 1 computed → the status to write, or
// "unchanged". Follows Gateway API §conditions: merge by type, keep others' conditions, never overwrite a condition
// stamped with a newer generation, keep lastTransitionTime while status/reason/message stay the same.

import { isDeepStrictEqual } from 'node:util';
import type { Condition } from '../../../api/types';
import type { ListenerStatus, ParentStatus, ResourceStatus } from '../../../compiler/ir';

export type Json = Record<string, unknown>;

export interface MergeOptions {
  /** Our controllerName (HTTPRoute / InferencePool parents we own). */
  controllerName: string;
  /** The object's metadata.generation as read with the status. */
  generation?: number;
  /** RFC 3339 time for conditions that transition now. */
  now: string;
  /** Gateway status.addresses; undefined leaves the current ones. */
  addresses?: { type?: string; value: string }[];
  /** GatewayClass status.supportedFeatures names; set only when the CRD version has the field. */
  supportedFeatures?: readonly string[];
  /** How the installed CRD lists them (featureShapeOf): `{name}` objects (v1.2 on, default) or bare strings. */
  supportedFeaturesAs?: 'objects' | 'strings';
  /** "ns/name" of the Gateways we own: an InferencePool parent without controllerName is ours iff listed. */
  ourGateways?: Set<string>;
}

export type MergeResult = { changed: false } | { changed: true; status: Json };

/** Merges OURS into CURRENT (the object's .status, possibly undefined). */
export function mergeStatus(
  current: Json | undefined,
  ours: ResourceStatus,
  opts: MergeOptions,
): MergeResult {
  const cur: Json = (current ?? {}) as Json;
  const next: Json = { ...cur };
  switch (ours.kind) {
    case 'GatewayClass':
      next.conditions = mergeConditions(asConditions(cur.conditions), ours.conditions ?? [], opts);
      if (opts.supportedFeatures) {
        // Sorted by byte order (the field MUST be sorted ascending by name; Go sorts bytes).
        const names = [...new Set(opts.supportedFeatures)].sort();
        next.supportedFeatures =
          opts.supportedFeaturesAs === 'strings' ? names : names.map((name) => ({ name }));
      }
      break;
    case 'Gateway':
      next.conditions = mergeConditions(asConditions(cur.conditions), ours.conditions ?? [], opts);
      next.listeners = mergeListeners(asArray(cur.listeners), ours.listeners ?? [], opts);
      if (opts.addresses)
        next.addresses = opts.addresses.map((a) => ({ type: a.type ?? 'IPAddress', value: a.value }));
      break;
    case 'HTTPRoute':
    case 'InferencePool':
      next.parents = mergeParents(asArray(cur.parents), ours.parents ?? [], ours.kind, opts);
      break;
    default:
      if (ours.conditions)
        next.conditions = mergeConditions(asConditions(cur.conditions), ours.conditions, opts);
  }
  return canonical(cur) === canonical(next) ? { changed: false } : { changed: true, status: next };
}

/** Merges our conditions by type into the current list, keeping conditions we do not own where they are. */
export function mergeConditions(current: Condition[], ours: Condition[], opts: MergeOptions): Condition[] {
  const out = current.map((c) => ({ ...c }));
  for (const o of ours) {
    const want: Condition = { ...o, observedGeneration: opts.generation ?? o.observedGeneration };
    if (want.observedGeneration === undefined) delete want.observedGeneration;
    const i = out.findIndex((c) => c.type === o.type);
    if (i < 0) {
      out.push({ ...want, lastTransitionTime: opts.now });
      continue;
    }
    const old = out[i];
    // A condition stamped with a newer generation than ours was written from a fresher read: leave it.
    if (old.observedGeneration !== undefined && (want.observedGeneration ?? -1) < old.observedGeneration)
      continue;
    const same = old.status === want.status && old.reason === want.reason && old.message === want.message;
    out[i] = {
      ...want,
      lastTransitionTime: same && old.lastTransitionTime ? old.lastTransitionTime : opts.now,
    };
  }
  return out;
}

function mergeListeners(current: Json[], ours: ListenerStatus[], opts: MergeOptions): Json[] {
  // The Gateway is ours, so its listener list is ours: one entry per listener, in our order.
  return ours.map((l) => {
    const old = current.find((c) => c.name === l.name);
    return {
      name: l.name,
      supportedKinds: l.supportedKinds,
      attachedRoutes: l.attachedRoutes,
      conditions: mergeConditions(asConditions(old?.conditions), l.conditions, opts),
    };
  });
}

function mergeParents(current: Json[], ours: ParentStatus[], kind: string, opts: MergeOptions): Json[] {
  const isOurs = (p: Json): boolean => {
    if (p.controllerName !== undefined) return p.controllerName === opts.controllerName;
    return kind === 'InferencePool' && !!opts.ourGateways?.has(gatewayKey(p.parentRef as Json));
  };
  const kept = current.filter((p) => !isOurs(p));
  const mine = ours.map((o) => {
    const ref = { ...o.parentRef };
    const old = current.find((p) => isOurs(p) && sameRef(p.parentRef as Json, ref));
    return {
      parentRef: ref,
      controllerName: opts.controllerName,
      conditions: mergeConditions(asConditions(old?.conditions), o.conditions, opts),
    };
  });
  return [...kept, ...mine];
}

/**
 * What a GatewayClass CRD (apiextensions.k8s.io/v1 CustomResourceDefinition JSON) says status.supportedFeatures of
 * VERSION is: a list of `{name}` objects (standard channel v1.2 on), of strings (experimental v1.1), or absent
 * (older CRDs, whose API server would prune what we write, so every pass would see a change).
 */
export function featureShapeOf(crd: unknown, version = 'v1'): 'objects' | 'strings' | 'absent' {
  const versions = asArray((crd as Json | undefined)?.spec && ((crd as Json).spec as Json).versions);
  const v = versions.find((x) => x.name === version);
  const prop = (o: unknown, k: string): Json | undefined =>
    ((o as Json | undefined)?.properties as Json | undefined)?.[k] as Json | undefined;
  const field = prop(prop((v?.schema as Json | undefined)?.openAPIV3Schema, 'status'), 'supportedFeatures');
  const items = field?.type === 'array' ? (field.items as Json | undefined) : undefined;
  if (items?.type === 'string') return 'strings';
  if (items?.type === 'object' && prop(items, 'name')?.type === 'string') return 'objects';
  return 'absent';
}

function gatewayKey(ref: Json | undefined): string {
  return `${String(ref?.namespace ?? '')}/${String(ref?.name ?? '')}`;
}

// parentRef fields compared with their defaults filled in, as the API server may or may not default them.
function sameRef(a: Json | undefined, b: Json): boolean {
  const norm = (r: Json | undefined): Json => ({
    group: r?.group ?? 'gateway.networking.k8s.io',
    kind: r?.kind ?? 'Gateway',
    namespace: r?.namespace ?? '',
    name: r?.name ?? '',
    sectionName: r?.sectionName ?? '',
    port: r?.port ?? 0,
  });
  return isDeepStrictEqual(norm(a), norm(b));
}

function asArray(v: unknown): Json[] {
  return Array.isArray(v) ? (v as Json[]) : [];
}

function asConditions(v: unknown): Condition[] {
  return asArray(v) as unknown as Condition[];
}

// Sorted-key JSON without undefined fields or empty lists, so an absent list equals an empty one and key order or
// the realm an object came from never counts as a change.
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Json)
      .filter(([, x]) => x !== undefined && !(Array.isArray(x) && x.length === 0))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
