// Shared state of one stage-1 run: lookup indexes over the input, caches of resolved clusters and pools,
// and the problem list. Built once per buildIR call and thrown away after it.

import type {
  EndpointSlice,
  GatewayClass,
  InferencePool,
  Namespace,
  ObjectMeta,
  Pod,
  Problem,
  ResourceSet,
  Secret,
  Service,
  SourceRef,
} from '../../api/types';
import { SERVICE_NAME_LABEL } from '../../api/types';
import type { ServiceClusterIR } from '../ir';
import type { PoolState } from './pools';
import type { ReferenceGrantIndex } from './referencegrants';
import { indexReferenceGrants } from './referencegrants';

/** Anything with metadata and maybe a source: enough to locate a problem. */
export interface Located {
  kind: string;
  metadata: ObjectMeta;
  source?: SourceRef;
}

export interface Context {
  controllerName: string;
  resources: ResourceSet;
  gatewayClasses: Map<string, GatewayClass>;
  services: Map<string, Service>;
  secrets: Map<string, Secret>;
  pools: Map<string, InferencePool>;
  namespaces: Map<string, Namespace>;
  /** ReferenceGrants by their namespace: what may be referenced there from other namespaces. */
  referenceGrants: ReferenceGrantIndex;
  /** EndpointSlices by "<ns>/<service>" (label kubernetes.io/service-name). */
  slicesByService: Map<string, EndpointSlice[]>;
  podsByNamespace: Map<string, Pod[]>;
  /** Resolved Service clusters by cluster name, shared by every Gateway that uses them. */
  clusterCache: Map<string, ServiceClusterIR>;
  poolCache: Map<string, PoolState>;
  problems: Problem[];
}

export function nsName(meta: ObjectMeta): string {
  return `${meta.namespace ?? 'default'}/${meta.name}`;
}

export function namespaceOf(meta: ObjectMeta): string {
  return meta.namespace ?? 'default';
}

function byKey<T extends { metadata: ObjectMeta }>(items: T[]): Map<string, T> {
  const m = new Map<string, T>();
  for (const item of items) m.set(nsName(item.metadata), item);
  return m;
}

function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/** Sorted copies so that output never depends on the order the caller listed resources in. */
export function sortedByName<T extends { metadata: ObjectMeta }>(items: T[] | undefined): T[] {
  return [...(items ?? [])].sort((a, b) => compareStrings(nsName(a.metadata), nsName(b.metadata)));
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function newContext(resources: ResourceSet, controllerName: string): Context {
  const slicesByService = new Map<string, EndpointSlice[]>();
  for (const slice of sortedByName(resources.endpointSlices)) {
    const svc = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (svc) pushTo(slicesByService, `${namespaceOf(slice.metadata)}/${svc}`, slice);
  }
  const podsByNamespace = new Map<string, Pod[]>();
  for (const pod of sortedByName(resources.pods)) pushTo(podsByNamespace, namespaceOf(pod.metadata), pod);
  const gatewayClasses = new Map<string, GatewayClass>();
  for (const gc of sortedByName(resources.gatewayClasses)) gatewayClasses.set(gc.metadata.name, gc);
  const namespaces = new Map<string, Namespace>();
  for (const ns of sortedByName(resources.namespaces)) namespaces.set(ns.metadata.name, ns);
  return {
    controllerName,
    resources,
    gatewayClasses,
    services: byKey(resources.services ?? []),
    secrets: byKey(resources.secrets ?? []),
    pools: byKey(resources.inferencePools ?? []),
    namespaces,
    referenceGrants: indexReferenceGrants(sortedByName(resources.referenceGrants)),
    slicesByService,
    podsByNamespace,
    clusterCache: new Map(),
    poolCache: new Map(),
    problems: [],
  };
}

const CLUSTER_SCOPED = new Set(['GatewayClass', 'Namespace']);

export function describe(res: Located): string {
  return CLUSTER_SCOPED.has(res.kind)
    ? `${res.kind} ${res.metadata.name}`
    : `${res.kind} ${nsName(res.metadata)}`;
}

export function warn(ctx: Context, res: Located, path: string | undefined, message: string): void {
  ctx.problems.push({
    ...(res.source ? { file: res.source.file, document: res.source.document } : {}),
    resource: describe(res),
    ...(path ? { path } : {}),
    message,
    severity: 'warning',
  });
}
