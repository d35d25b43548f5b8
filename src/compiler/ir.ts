// The plain-data intermediate representation between compiler stage 1 (Gateway API + Inference Extension
// resources → IR + status) and stage 2 (IR → Envoy xDS). Everything here is JSON-serialisable, sorted and
// deterministic, so stage-1 goldens never flap and stage 2 can be tested from hand-written IR.

import type { Condition } from '../api/types';

export interface IR {
  /** One entry per accepted Gateway, sorted by key. */
  gateways: GatewayIR[];
}

export interface GatewayIR {
  /** "namespace/name": the xDS node group of the Envoys that serve this Gateway. */
  key: string;
  namespace: string;
  name: string;
  /** One per distinct port, sorted by port. Each becomes one Envoy Listener and one RouteConfiguration. */
  ports: PortIR[];
  /** Plain (Service) backend clusters referenced by this Gateway's routes, sorted by name. */
  clusters: ServiceClusterIR[];
  /** InferencePools referenced by this Gateway's routes, sorted by key. */
  pools: PoolIR[];
  /** Present when routes match on the model headers the body-based router sets. */
  bodyBasedRouter?: BodyBasedRouterIR;
  /**
   * `STREAMED` when the Gateway (or its GatewayClass) is annotated `infergate.io/epp-processing-mode: STREAMED`,
   * for EPPs that implement ext_proc's STREAMED body mode only (one plain BodyResponse per body chunk, never a
   * streamed_response), such as the conformance suite's lwepp: Envoy rejects those replies as spurious messages in
   * the protocol's FULL_DUPLEX_STREAMED mode. Absent: FULL_DUPLEX_STREAMED.
   */
  eppProcessingMode?: 'STREAMED';
  /** The TLS certificates the HTTPS ports name, one per Kubernetes Secret, sorted by name. */
  secrets: SecretIR[];
}

/** The body-based router (BBR): an ext_proc ahead of route matching that copies the body's model into headers. */
export interface BodyBasedRouterIR {
  /** "bbr/<ns>/<gateway>" */
  clusterName: string;
  /** "<service>.<ns>.svc:<port>" */
  authority: string;
  service: string;
  port: number;
  tls: boolean;
  endpoints: EndpointIR[];
}

export interface PortIR {
  port: number;
  protocol: 'HTTP' | 'HTTPS';
  /** Envoy Listener name and RouteConfiguration name. */
  listenerName: string;
  routeConfigName: string;
  /** HTTPS only: one filter chain per Gateway listener, matched by SNI; sorted by listener name. */
  tls?: TLSChainIR[];
  /** Sorted: most specific hostname first (exact before wildcard, longer before shorter), "*" last. */
  virtualHosts: VirtualHostIR[];
}

export interface TLSChainIR {
  /** Gateway listener (section) name. */
  listener: string;
  /** SNI names to match; empty means any (the listener had no hostname). */
  serverNames: string[];
  /** Names of the Gateway's SecretIRs holding this chain's certificates, in certificateRefs order. */
  certificates: string[];
}

/** A certificate and its key, from a kubernetes.io/tls Secret; stage 2 emits it as an xDS Secret. */
export interface SecretIR {
  /** "secret/<ns>/<name>" of the Kubernetes Secret. */
  name: string;
  certificateChain: string;
  privateKey: string;
}

export interface VirtualHostIR {
  name: string;
  /** Envoy domains, e.g. ["foo.example.com"], ["*.example.com"] or ["*"]. */
  domains: string[];
  /** In Gateway API precedence order: the first match wins. */
  routes: RouteIR[];
}

export type PathMatchIR =
  | { type: 'Exact'; value: string }
  | { type: 'PathPrefix'; value: string }
  | { type: 'RegularExpression'; value: string };

export interface StringMatchIR {
  name: string;
  type: 'Exact' | 'RegularExpression';
  value: string;
}

export interface HeaderModifierIR {
  set: { name: string; value: string }[];
  add: { name: string; value: string }[];
  remove: string[];
}

export interface RedirectIR {
  scheme?: 'http' | 'https';
  hostname?: string;
  port?: number;
  statusCode: 301 | 302 | 303 | 307 | 308;
  path?: { type: 'ReplaceFullPath'; value: string } | { type: 'ReplacePrefixMatch'; value: string };
}

export interface URLRewriteIR {
  hostname?: string;
  path?: { type: 'ReplaceFullPath'; value: string } | { type: 'ReplacePrefixMatch'; value: string };
}

export interface MirrorIR {
  /** Name of a ServiceClusterIR in the same Gateway. */
  cluster: string;
  /** 0..100; undefined = 100. */
  percent?: number;
}

export interface BackendIR {
  /** Envoy cluster name: a ServiceClusterIR.name or a PoolIR.clusterName. */
  cluster: string;
  weight: number;
  /** Set when the backend is an InferencePool: its PoolIR.key. */
  pool?: string;
}

export type RouteActionIR =
  | { type: 'forward'; backends: BackendIR[] }
  | { type: 'redirect'; redirect: RedirectIR }
  /** Gateway API: a rule whose backends are all invalid answers 500; no backends at all answers 500 too. */
  | { type: 'direct'; status: number; body?: string };

export interface RouteIR {
  /** "httproute/<ns>/<name>/rule/<i>/match/<j>" */
  name: string;
  route: { namespace: string; name: string; ruleIndex: number; matchIndex: number };
  path: PathMatchIR;
  headers: StringMatchIR[];
  queryParams: StringMatchIR[];
  method?: string;
  requestHeaders?: HeaderModifierIR;
  responseHeaders?: HeaderModifierIR;
  urlRewrite?: URLRewriteIR;
  mirrors: MirrorIR[];
  action: RouteActionIR;
  /** Gateway API timeouts in milliseconds; 0 means disabled. */
  timeoutMs?: number;
  backendTimeoutMs?: number;
}

export interface EndpointIR {
  address: string;
  port: number;
  /** Pod name (pools) or target name (services), for debugging and metadata. */
  name?: string;
}

export interface ServiceClusterIR {
  /** "service/<ns>/<name>/<port>" */
  name: string;
  namespace: string;
  service: string;
  port: number;
  protocol: 'http1' | 'h2c';
  /** Ready endpoints, sorted by address then port. */
  endpoints: EndpointIR[];
}

export interface EndpointPickerIR {
  /** Envoy cluster of the EPP: "epp/<ns>/<pool>". */
  clusterName: string;
  /** gRPC :authority, "<service>.<ns>.svc:<port>". */
  authority: string;
  service: string;
  port: number;
  failOpen: boolean;
  /** Dial the EPP with TLS (no verification, as every gateway does). */
  tls: boolean;
  /**
   * How Envoy health-checks the EPP: `grpc` (the gRPC health protocol on the ext_proc port, which infergate's EPP
   * serves, so a draining EPP is taken out before it stops) or `tcp` (a connect: upstream's EPP and lwepp answer
   * health only on a separate port). From the EPP Service's `infergate.io/epp-health-check` annotation; `tcp` when absent.
   */
  healthCheck: 'grpc' | 'tcp';
  /** Addresses of the EPP Service (EndpointSlices, else its clusterIP), sorted. */
  endpoints: EndpointIR[];
}

export interface PoolIR {
  /** "<ns>/<name>" */
  key: string;
  namespace: string;
  name: string;
  /** Envoy cluster of the pool's model servers: "inferencepool/<ns>/<name>". */
  clusterName: string;
  protocol: 'http1' | 'h2c';
  targetPorts: number[];
  /** Ready pods matching the selector × targetPorts (active-ports honoured), sorted by address then port. */
  endpoints: EndpointIR[];
  /** Absent when the pool has no endpointPickerRef: the pool is then load-balanced without a picker. */
  endpointPicker?: EndpointPickerIR;
}

// ---------------------------------------------------------------- status (computed in stage 1)

export interface ParentStatus {
  parentRef: {
    group: string;
    kind: string;
    namespace: string;
    name: string;
    sectionName?: string;
    port?: number;
  };
  controllerName: string;
  conditions: Condition[];
}

export interface ListenerStatus {
  name: string;
  attachedRoutes: number;
  supportedKinds: { group: string; kind: string }[];
  conditions: Condition[];
}

export interface ResourceStatus {
  kind:
    | 'GatewayClass'
    | 'Gateway'
    | 'HTTPRoute'
    | 'InferencePool'
    | 'InferenceObjective'
    | 'InferenceModelRewrite';
  namespace: string;
  name: string;
  /** GatewayClass, Gateway, InferenceObjective, InferenceModelRewrite. */
  conditions?: Condition[];
  /** Gateway. */
  listeners?: ListenerStatus[];
  /** HTTPRoute (one per parentRef) and InferencePool (one per parent Gateway). */
  parents?: ParentStatus[];
}

export const CONTROLLER_NAME = 'infergate.io/gateway-controller';
