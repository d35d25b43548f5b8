// ObjectMeta: every standard field is accepted (objects read back from a cluster carry them all); the ones
// infergate uses are typed and checked.

import { type Ctx, readObj } from './decode';
import { dnsLabel, dnsSubdomain, labelValue, qualifiedName } from './formats';
import type { ObjectMeta } from './types';

const META_FIELDS = [
  'name',
  'namespace',
  'labels',
  'annotations',
  'creationTimestamp',
  'deletionTimestamp',
  'generation',
  'uid',
  'resourceVersion',
  'ownerReferences',
  'finalizers',
  'managedFields',
  'generateName',
  'deletionGracePeriodSeconds',
  'selfLink',
];

export interface MetaOptions {
  clusterScoped: boolean;
  /** Service and Namespace names are DNS labels (≤63); everything else is a DNS subdomain (≤253). */
  nameIsLabel: boolean;
}

/** Name and namespace as written, before validation: used to name the resource in problems. */
export function peekName(raw: unknown): { name?: string; namespace?: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return {};
  const r = raw as Record<string, unknown>;
  return {
    name: typeof r.name === 'string' ? r.name : undefined,
    namespace: typeof r.namespace === 'string' ? r.namespace : undefined,
  };
}

export function decodeMeta(ctx: Ctx, raw: unknown, opts: MetaOptions): ObjectMeta | undefined {
  const m = raw === undefined || raw === null ? undefined : readObj(ctx, 'metadata', raw, META_FIELDS);
  if (!m) {
    if (raw === undefined || raw === null) ctx.error('metadata.name', 'required');
    return undefined;
  }
  const name = m.str('name', { required: true, check: opts.nameIsLabel ? dnsLabel : dnsSubdomain });
  const namespace = m.str('namespace', { check: dnsLabel });
  if (opts.clusterScoped && namespace) m.error('namespace', 'must not be set on a cluster-scoped resource');
  const meta: ObjectMeta = {
    name: name ?? '',
    namespace: opts.clusterScoped ? '' : (namespace ?? 'default'),
  };
  const labels = m.strMap('labels', { key: qualifiedName, value: labelValue });
  if (labels) meta.labels = labels;
  const annotations = m.strMap('annotations', { key: qualifiedName });
  if (annotations) meta.annotations = annotations;
  for (const key of ['creationTimestamp', 'deletionTimestamp', 'uid', 'resourceVersion'] as const) {
    const v = m.str(key);
    if (v !== undefined) meta[key] = v;
  }
  const generation = m.int('generation', { min: 0 });
  if (generation !== undefined) meta.generation = generation;
  return meta;
}
