// Typed models of the Kubernetes resources infergate reads. Shapes follow the published APIs (Gateway API v1,
// Inference Extension v1 / v1alpha2, core v1, discovery v1); only the fields infergate uses are modelled, and
// the loader reports any other field as unknown.

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';
export const INFERENCE_GROUP = 'inference.networking.k8s.io';
export const INFERENCE_X_GROUP = 'inference.networking.x-k8s.io';
export const ACTIVE_PORTS_ANNOTATION = 'inference.networking.k8s.io/active-ports';
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface ObjectMeta {
  name: string;
  namespace: string; // defaulted to "default" by the loader
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string; // RFC 3339; used for Gateway API tie-breaking
  deletionTimestamp?: string;
  generation?: number;
  uid?: string;
  resourceVersion?: string;
}

/** Where a resource came from, for error messages and status. */
export interface SourceRef {
  file: string;
  /** 0-based index of the YAML document (or JSON array element) in the file. */
  document: number;
}

interface Base<K extends string, S> {
  apiVersion: string;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
  source?: SourceRef;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

// ---------------------------------------------------------------- Gateway API

export interface GatewayClassSpec {
  controllerName: string;
  description?: string;
}
export type GatewayClass = Base<'GatewayClass', GatewayClassSpec>;

export interface SecretObjectReference {
  group?: string; // "" (core)
  kind?: string; // Secret
  name: string;
  namespace?: string;
}

export interface GatewayTLSConfig {
  mode?: 'Terminate' | 'Passthrough'; // default Terminate
  certificateRefs?: SecretObjectReference[];
}

export interface RouteGroupKind {
  group?: string;
  kind: string;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface RouteNamespaces {
  from?: 'All' | 'Same' | 'Selector'; // default Same
  selector?: { matchLabels?: Record<string, string>; matchExpressions?: LabelSelectorRequirement[] };
}

export interface Listener {
  name: string;
  hostname?: string;
  port: number;
  protocol: string; // HTTP | HTTPS (others reported as unsupported)
  tls?: GatewayTLSConfig;
  allowedRoutes?: { namespaces?: RouteNamespaces; kinds?: RouteGroupKind[] };
}

export interface GatewayAddress {
  type?: string;
  value: string;
}

export interface GatewaySpec {
  gatewayClassName: string;
  listeners: Listener[];
  addresses?: GatewayAddress[];
}
export type Gateway = Base<'Gateway', GatewaySpec>;

export interface ParentReference {
  group?: string; // default gateway.networking.k8s.io
  kind?: string; // default Gateway
  namespace?: string; // default: the route's namespace
  name: string;
  sectionName?: string;
  port?: number;
}

export interface HTTPPathMatch {
  type?: 'Exact' | 'PathPrefix' | 'RegularExpression'; // default PathPrefix
  value?: string; // default "/"
}

export interface HTTPHeaderMatch {
  type?: 'Exact' | 'RegularExpression'; // default Exact
  name: string;
  value: string;
}

export interface HTTPQueryParamMatch {
  type?: 'Exact' | 'RegularExpression'; // default Exact
  name: string;
  value: string;
}

export interface HTTPRouteMatch {
  path?: HTTPPathMatch;
  headers?: HTTPHeaderMatch[];
  queryParams?: HTTPQueryParamMatch[];
  method?: string;
}

export interface HTTPHeader {
  name: string;
  value: string;
}

export interface HTTPHeaderFilter {
  set?: HTTPHeader[];
  add?: HTTPHeader[];
  remove?: string[];
}

export interface HTTPPathModifier {
  type: 'ReplaceFullPath' | 'ReplacePrefixMatch';
  replaceFullPath?: string;
  replacePrefixMatch?: string;
}

export interface HTTPRequestRedirectFilter {
  scheme?: 'http' | 'https';
  hostname?: string;
  path?: HTTPPathModifier;
  port?: number;
  statusCode?: 301 | 302 | 303 | 307 | 308;
}

export interface HTTPURLRewriteFilter {
  hostname?: string;
  path?: HTTPPathModifier;
}

export interface BackendObjectReference {
  group?: string; // "" = core Service; inference.networking.k8s.io for InferencePool
  kind?: string; // default Service
  name: string;
  namespace?: string;
  port?: number;
}

export interface HTTPRequestMirrorFilter {
  backendRef: BackendObjectReference;
  percent?: number;
  fraction?: { numerator: number; denominator?: number };
}

/** A reference to an object in the same namespace (HTTPRoute ExtensionRef filters). */
export interface LocalObjectReference {
  group: string;
  kind: string;
  name: string;
}

export interface HTTPRouteFilter {
  type:
    | 'RequestHeaderModifier'
    | 'ResponseHeaderModifier'
    | 'RequestRedirect'
    | 'URLRewrite'
    | 'RequestMirror'
    | string;
  extensionRef?: LocalObjectReference;
  requestHeaderModifier?: HTTPHeaderFilter;
  responseHeaderModifier?: HTTPHeaderFilter;
  requestRedirect?: HTTPRequestRedirectFilter;
  urlRewrite?: HTTPURLRewriteFilter;
  requestMirror?: HTTPRequestMirrorFilter;
}

export interface HTTPBackendRef extends BackendObjectReference {
  weight?: number; // default 1, 0..1,000,000
  filters?: HTTPRouteFilter[];
}

export interface HTTPRouteTimeouts {
  request?: string; // Gateway API duration, e.g. "10s", "1m", "500ms"; "0s" disables
  backendRequest?: string;
}

export interface HTTPRouteRule {
  name?: string;
  matches?: HTTPRouteMatch[]; // default [{path: {type: PathPrefix, value: "/"}}]
  filters?: HTTPRouteFilter[];
  backendRefs?: HTTPBackendRef[];
  timeouts?: HTTPRouteTimeouts;
}

export interface HTTPRouteSpec {
  parentRefs?: ParentReference[];
  hostnames?: string[];
  rules?: HTTPRouteRule[];
}
export type HTTPRoute = Base<'HTTPRoute', HTTPRouteSpec>;

/** A kind in another namespace that a ReferenceGrant trusts to refer to objects in the grant's namespace. */
export interface ReferenceGrantFrom {
  group: string; // "" = core
  kind: string;
  namespace: string;
}

/** What a ReferenceGrant lets those referrers point at; no name = every object of that group and kind. */
export interface ReferenceGrantTo {
  group: string; // "" = core
  kind: string;
  name?: string;
}

export interface ReferenceGrantSpec {
  from: ReferenceGrantFrom[];
  to: ReferenceGrantTo[];
}
/** gateway.networking.k8s.io ReferenceGrant (v1beta1, and v1 where the CRD serves it; the shapes are equal). */
export type ReferenceGrant = Base<'ReferenceGrant', ReferenceGrantSpec>;

// ---------------------------------------------------------------- Inference Extension

export type FailureMode = 'FailOpen' | 'FailClose';

export interface EndpointPickerRef {
  group?: string; // ""
  kind?: string; // Service
  name: string;
  port?: { number: number }; // required when kind is Service
  failureMode?: FailureMode; // default FailClose
}

/** InferencePool, always in its v1 shape: v1alpha2 input is converted by the loader. */
export interface InferencePoolSpec {
  selector: { matchLabels: Record<string, string> };
  targetPorts: { number: number }[];
  appProtocol?: 'http' | 'kubernetes.io/h2c';
  endpointPickerRef?: EndpointPickerRef;
}
export type InferencePool = Base<'InferencePool', InferencePoolSpec> & {
  /** The apiVersion the user wrote, before conversion (e.g. inference.networking.x-k8s.io/v1alpha2). */
  originalApiVersion?: string;
};

export interface PoolObjectReference {
  group?: string;
  kind?: string;
  name: string;
}

export interface InferenceObjectiveSpec {
  priority?: number;
  poolRef: PoolObjectReference;
}
export type InferenceObjective = Base<'InferenceObjective', InferenceObjectiveSpec>;

export interface InferenceModelRewriteSpec {
  poolRef: PoolObjectReference;
  rules: {
    matches?: { model: { type?: 'Exact'; value: string } }[];
    targets: { modelRewrite: string; weight?: number }[];
  }[];
}
export type InferenceModelRewrite = Base<'InferenceModelRewrite', InferenceModelRewriteSpec>;

export type Criticality = 'Critical' | 'Standard' | 'Sheddable';
export interface InferenceModelSpec {
  modelName: string;
  criticality?: Criticality;
  targetModels?: { name: string; weight?: number }[];
  poolRef: PoolObjectReference;
}
export type InferenceModel = Base<'InferenceModel', InferenceModelSpec>;

// ---------------------------------------------------------------- core / discovery

export interface ServicePort {
  name?: string;
  protocol?: string; // TCP
  port: number;
  targetPort?: number | string;
  appProtocol?: string;
}

export interface ServiceSpec {
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  selector?: Record<string, string>;
  clusterIP?: string;
  externalName?: string;
  ports?: ServicePort[];
}
export type Service = Base<'Service', ServiceSpec>;

export interface EndpointSliceEndpoint {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  targetRef?: { kind?: string; name?: string; namespace?: string };
}
export interface EndpointSlice {
  apiVersion: string;
  kind: 'EndpointSlice';
  metadata: ObjectMeta;
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: EndpointSliceEndpoint[];
  ports?: { name?: string; port?: number; protocol?: string; appProtocol?: string }[];
  source?: SourceRef;
}

export interface PodSpec {
  containers?: { name: string; ports?: { containerPort: number; name?: string }[] }[];
}
export interface PodStatus {
  podIP?: string;
  podIPs?: { ip: string }[];
  phase?: string;
  conditions?: { type: string; status: 'True' | 'False' | 'Unknown' }[];
}
export interface Pod {
  apiVersion: string;
  kind: 'Pod';
  metadata: ObjectMeta;
  spec?: PodSpec;
  status?: PodStatus;
  source?: SourceRef;
}

export interface Secret {
  apiVersion: string;
  kind: 'Secret';
  metadata: ObjectMeta;
  type?: string; // kubernetes.io/tls
  /** base64 values, as in Kubernetes. */
  data?: Record<string, string>;
  /** plain values (the loader merges them into data). */
  stringData?: Record<string, string>;
  source?: SourceRef;
}

export interface Namespace {
  apiVersion: string;
  kind: 'Namespace';
  metadata: ObjectMeta;
  source?: SourceRef;
}

export type Resource =
  | GatewayClass
  | Gateway
  | HTTPRoute
  | ReferenceGrant
  | InferencePool
  | InferenceObjective
  | InferenceModelRewrite
  | InferenceModel
  | Service
  | EndpointSlice
  | Pod
  | Secret
  | Namespace;

export type ResourceKind = Resource['kind'];

/** Every resource the compiler reads, by kind, sorted by namespace then name. */
export interface ResourceSet {
  gatewayClasses: GatewayClass[];
  gateways: Gateway[];
  httpRoutes: HTTPRoute[];
  referenceGrants: ReferenceGrant[];
  inferencePools: InferencePool[];
  inferenceObjectives: InferenceObjective[];
  inferenceModelRewrites: InferenceModelRewrite[];
  inferenceModels: InferenceModel[];
  services: Service[];
  endpointSlices: EndpointSlice[];
  pods: Pod[];
  secrets: Secret[];
  namespaces: Namespace[];
}

export function emptyResourceSet(): ResourceSet {
  return {
    gatewayClasses: [],
    gateways: [],
    httpRoutes: [],
    referenceGrants: [],
    inferencePools: [],
    inferenceObjectives: [],
    inferenceModelRewrites: [],
    inferenceModels: [],
    services: [],
    endpointSlices: [],
    pods: [],
    secrets: [],
    namespaces: [],
  };
}

/** A user-facing problem with an input, located as precisely as we can. */
export interface Problem {
  file?: string;
  document?: number;
  /** e.g. "InferencePool default/vllm" */
  resource?: string;
  /** Field path in the document, e.g. "spec.rules[0].backendRefs[1].name". */
  path?: string;
  message: string;
  severity: 'error' | 'warning';
}

export function formatProblem(p: Problem): string {
  const where = [p.file, p.document !== undefined ? `doc ${p.document}` : undefined]
    .filter(Boolean)
    .join(' ');
  const loc = [where, p.resource].filter(Boolean).join(': ');
  const field = p.path ? `${p.path}: ` : '';
  return `${p.severity}: ${loc ? loc + ': ' : ''}${field}${p.message}`;
}
