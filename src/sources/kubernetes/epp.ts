// The EPP's scoping, as upstream's: only its pool's namespace, its InferencePool (by name), the Pods its selector
// matches, and the objectives / rewrites / models whose poolRef names it. Pods are watched in the namespace and
// filtered here, so a selector change re-filters at once instead of restarting a watch.

import type { KubeClient } from './client';
import type { KubeObject } from './informer';
import { MODEL, OBJECTIVE, POD, POOL_V1, POOL_V1ALPHA2, REWRITE, type KindSpec } from './kinds';
import { KubernetesSource, type WatchSpec } from './source';

export interface EppSourceOptions {
  client: KubeClient;
  pool: string;
  namespace: string;
  resyncMs?: number;
}

export function eppSource(o: EppSourceOptions): KubernetesSource {
  const byName = `metadata.name=${o.pool}`;
  const watches: WatchSpec[] = [
    { kind: POOL_V1, namespace: o.namespace, fieldSelector: byName },
    { kind: POOL_V1ALPHA2, namespace: o.namespace, fieldSelector: byName },
    { kind: POD, namespace: o.namespace },
    // Optional: lwepp's RBAC (the conformance fixture's Role) grants only InferencePools and Pods.
    { kind: OBJECTIVE, namespace: o.namespace, optional: true },
    { kind: REWRITE, namespace: o.namespace, optional: true },
    { kind: MODEL, namespace: o.namespace, optional: true },
  ];
  // The selector of each served version of the pool; a Pod is ours when any of them matches.
  const selectors = new Map<string, Record<string, string>>();
  const isPool = (k: KindSpec) => k === POOL_V1 || k === POOL_V1ALPHA2;
  return new KubernetesSource({
    client: o.client,
    watches,
    resyncMs: o.resyncMs,
    observe(kind, obj) {
      if (!isPool(kind)) return false;
      const before = JSON.stringify([...selectors]);
      if (obj) selectors.set(kind.group, poolSelector(kind, obj));
      else selectors.delete(kind.group);
      return JSON.stringify([...selectors]) !== before;
    },
    filter(kind, obj) {
      if (isPool(kind)) return true;
      if (kind === POD) return [...selectors.values()].some((s) => matches(s, obj.metadata.labels));
      const ref = (obj.spec as { poolRef?: { name?: string } } | undefined)?.poolRef;
      return ref?.name === o.pool;
    },
  });
}

function poolSelector(kind: KindSpec, obj: KubeObject): Record<string, string> {
  const spec = (obj.spec ?? {}) as { selector?: Record<string, unknown> };
  const sel = spec.selector ?? {};
  // v1: a LabelSelector (matchLabels); v1alpha2: a bare label map.
  const labels = kind === POOL_V1 ? (sel.matchLabels as Record<string, string> | undefined) : sel;
  return (labels ?? {}) as Record<string, string>;
}

function matches(selector: Record<string, string>, labels: unknown): boolean {
  const keys = Object.keys(selector);
  if (keys.length === 0) return false; // an empty selector selects nothing here: a pool must name its pods
  const l = (labels ?? {}) as Record<string, string>;
  return keys.every((k) => l[k] === selector[k]);
}
