// The kinds the compiler and the EPP read, as API resources: where each is listed and watched. The CRD-backed
// ones may be absent from a cluster; those are skipped with a warning (see discover in informer.ts).

export interface KindSpec {
  kind: string;
  /** "" for the core group. */
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

const GW = 'gateway.networking.k8s.io';
const INF = 'inference.networking.k8s.io';
const INFX = 'inference.networking.x-k8s.io';

export const GATEWAY_CLASS: KindSpec = {
  kind: 'GatewayClass',
  group: GW,
  version: 'v1',
  plural: 'gatewayclasses',
  namespaced: false,
};
export const GATEWAY: KindSpec = {
  kind: 'Gateway',
  group: GW,
  version: 'v1',
  plural: 'gateways',
  namespaced: true,
};
export const HTTP_ROUTE: KindSpec = {
  kind: 'HTTPRoute',
  group: GW,
  version: 'v1',
  plural: 'httproutes',
  namespaced: true,
};
// v1beta1: the storage version, served by every Gateway API bundle with the CRD (v1 only since v1.5).
export const REFERENCE_GRANT: KindSpec = {
  kind: 'ReferenceGrant',
  group: GW,
  version: 'v1beta1',
  plural: 'referencegrants',
  namespaced: true,
};
export const POOL_V1: KindSpec = {
  kind: 'InferencePool',
  group: INF,
  version: 'v1',
  plural: 'inferencepools',
  namespaced: true,
};
export const POOL_V1ALPHA2: KindSpec = {
  kind: 'InferencePool',
  group: INFX,
  version: 'v1alpha2',
  plural: 'inferencepools',
  namespaced: true,
};
export const OBJECTIVE: KindSpec = {
  kind: 'InferenceObjective',
  group: INFX,
  version: 'v1alpha2',
  plural: 'inferenceobjectives',
  namespaced: true,
};
export const REWRITE: KindSpec = {
  kind: 'InferenceModelRewrite',
  group: INFX,
  version: 'v1alpha2',
  plural: 'inferencemodelrewrites',
  namespaced: true,
};
export const MODEL: KindSpec = {
  kind: 'InferenceModel',
  group: INFX,
  version: 'v1alpha2',
  plural: 'inferencemodels',
  namespaced: true,
};
export const SERVICE: KindSpec = {
  kind: 'Service',
  group: '',
  version: 'v1',
  plural: 'services',
  namespaced: true,
};
export const ENDPOINT_SLICE: KindSpec = {
  kind: 'EndpointSlice',
  group: 'discovery.k8s.io',
  version: 'v1',
  plural: 'endpointslices',
  namespaced: true,
};
export const POD: KindSpec = { kind: 'Pod', group: '', version: 'v1', plural: 'pods', namespaced: true };
export const SECRET: KindSpec = {
  kind: 'Secret',
  group: '',
  version: 'v1',
  plural: 'secrets',
  namespaced: true,
};
export const NAMESPACE: KindSpec = {
  kind: 'Namespace',
  group: '',
  version: 'v1',
  plural: 'namespaces',
  namespaced: false,
};

/**
 * Everything stage 1 of the compiler reads (src/api/validate.ts's registry). Namespaces are read for
 * allowedRoutes selectors, ReferenceGrants for backend and certificate refs across namespaces.
 */
export const CONTROLLER_KINDS: KindSpec[] = [
  GATEWAY_CLASS,
  GATEWAY,
  HTTP_ROUTE,
  REFERENCE_GRANT,
  POOL_V1,
  POOL_V1ALPHA2,
  OBJECTIVE,
  REWRITE,
  MODEL,
  SERVICE,
  ENDPOINT_SLICE,
  POD,
  SECRET,
  NAMESPACE,
];

export const apiVersionOf = (k: KindSpec) => (k.group ? `${k.group}/${k.version}` : k.version);

/** The collection path, in one namespace or across all. */
export function collectionPath(k: KindSpec, namespace?: string): string {
  const base = k.group ? `/apis/${k.group}/${k.version}` : `/api/${k.version}`;
  return k.namespaced && namespace ? `${base}/namespaces/${namespace}/${k.plural}` : `${base}/${k.plural}`;
}
