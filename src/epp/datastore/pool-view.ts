// Everything the EPP needs from a ResourceSet for one InferencePool, as plain data: the pool, its endpoints and the
// InferenceObjectives, InferenceModelRewrites and legacy InferenceModels bound to it.

import {
  INFERENCE_GROUP,
  INFERENCE_X_GROUP,
  type InferenceModel,
  type InferenceModelRewrite,
  type InferenceObjective,
  type InferencePool,
  type PoolObjectReference,
  type ResourceSet,
} from '../../api/types';
import type { Endpoint } from '../types';
import { poolEndpoints } from './endpoints';

export interface PoolId {
  name: string;
  namespace: string;
  /** inference.networking.k8s.io (v1, default) or inference.networking.x-k8s.io (a v1alpha2 pool). */
  group?: string;
}

export interface PoolView {
  pool?: InferencePool;
  endpoints: Endpoint[];
  /** By metadata.name. */
  objectives: Map<string, InferenceObjective>;
  /** Oldest first (creationTimestamp, then namespace/name): the precedence order of rewrite rules. */
  rewrites: InferenceModelRewrite[];
  /** By spec.modelName; on a conflict the oldest wins. */
  models: Map<string, InferenceModel>;
}

function poolGroup(pool: InferencePool): string {
  const v = pool.originalApiVersion ?? pool.apiVersion;
  return v.slice(0, v.lastIndexOf('/'));
}

const boundTo = (ref: PoolObjectReference, pool: InferencePool) =>
  ref.name === pool.metadata.name &&
  (ref.kind ?? 'InferencePool') === 'InferencePool' &&
  (ref.group === undefined || ref.group === INFERENCE_GROUP || ref.group === INFERENCE_X_GROUP);

function byAge<T extends { metadata: { creationTimestamp?: string; namespace: string; name: string } }>(
  a: T,
  b: T,
) {
  const ta = a.metadata.creationTimestamp ? Date.parse(a.metadata.creationTimestamp) : Infinity;
  const tb = b.metadata.creationTimestamp ? Date.parse(b.metadata.creationTimestamp) : Infinity;
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export function selectPool(resources: ResourceSet, id: PoolId): PoolView {
  const group = id.group ?? INFERENCE_GROUP;
  const pool = resources.inferencePools.find(
    (p) => p.metadata.name === id.name && p.metadata.namespace === id.namespace && poolGroup(p) === group,
  );
  const view: PoolView = { pool, endpoints: [], objectives: new Map(), rewrites: [], models: new Map() };
  if (!pool) return view;
  const ns = pool.metadata.namespace;
  view.endpoints = poolEndpoints(pool, resources.pods);
  for (const o of resources.inferenceObjectives) {
    if (o.metadata.namespace === ns && boundTo(o.spec.poolRef, pool)) view.objectives.set(o.metadata.name, o);
  }
  view.rewrites = resources.inferenceModelRewrites
    .filter((r) => r.metadata.namespace === ns && boundTo(r.spec.poolRef, pool))
    .sort(byAge);
  const models = resources.inferenceModels
    .filter((m) => m.metadata.namespace === ns && boundTo(m.spec.poolRef, pool))
    .sort(byAge);
  for (const m of models) if (!view.models.has(m.spec.modelName)) view.models.set(m.spec.modelName, m);
  return view;
}
