// Compiler stage 2 (pure): IR → xDS resources per Gateway, every one checked against Envoy's PGV rules.

import type { Cluster } from '../../../generated/envoy/config/cluster/v3/cluster';
import type { ClusterLoadAssignment } from '../../../generated/envoy/config/endpoint/v3/endpoint';
import type { Listener } from '../../../generated/envoy/config/listener/v3/listener';
import type { RouteConfiguration } from '../../../generated/envoy/config/route/v3/route';
import type { Secret } from '../../../generated/envoy/extensions/transport_sockets/tls/v3/secret';
import type { GatewayIR, IR } from '../ir';
import { validateMessage } from '../validate/pgv';
import { extProcCluster, loadAssignment, poolCluster, serviceCluster } from './cluster';
import type { Mode } from './common';
import { listener } from './listener';
import { routeConfiguration } from './route';
import { tlsSecret } from './secret';
import { T, type MessageType } from './types';

export interface XdsResources {
  listeners: Listener[];
  routes: RouteConfiguration[];
  clusters: Cluster[];
  endpoints: ClusterLoadAssignment[];
  /** TLS certificates the listeners name: SDS over ADS, or static_resources.secrets in a static bootstrap. */
  secrets: Secret[];
}

export interface GatewayXds {
  /** The Gateway's key ("namespace/name"), which is also its xDS node group. */
  key: string;
  resources: XdsResources;
}

/** A resource that breaks Envoy's validation rules: always a compiler bug, never the user's. */
export interface RuleViolation {
  gateway: string;
  resource: string;
  type: string;
  path: string;
  message: string;
}

export interface TranslateOptions {
  mode: Mode;
  listenAddress?: string;
}

export interface TranslateResult {
  gateways: GatewayXds[];
  violations: RuleViolation[];
}

export function translate(ir: IR, options: TranslateOptions): TranslateResult {
  const gateways = ir.gateways.map((gw) => ({ key: gw.key, resources: translateGateway(gw, options) }));
  return { gateways, violations: gateways.flatMap((g) => validateResources(g.key, g.resources)) };
}

export function translateGateway(gw: GatewayIR, options: TranslateOptions): XdsResources {
  const mode = options.mode;
  const opts = { mode, listenAddress: options.listenAddress ?? '0.0.0.0' };
  const pools = new Map(gw.pools.map((p) => [p.key, p]));
  const clusters: Cluster[] = [];
  const endpoints: ClusterLoadAssignment[] = [];
  for (const c of gw.clusters) {
    clusters.push(serviceCluster(c, mode));
    endpoints.push(loadAssignment(c.name, c.endpoints));
  }
  for (const p of gw.pools) {
    clusters.push(poolCluster(p, mode));
    endpoints.push(loadAssignment(p.clusterName, p.endpoints));
    if (p.endpointPicker) {
      clusters.push(extProcCluster(p.endpointPicker, mode));
      endpoints.push(loadAssignment(p.endpointPicker.clusterName, p.endpointPicker.endpoints));
    }
  }
  const bbr = gw.bodyBasedRouter;
  if (bbr) {
    // The body-based router is `infergate bbr`, which serves the gRPC health protocol on its port.
    clusters.push(extProcCluster({ ...bbr, healthCheck: 'grpc' }, mode));
    endpoints.push(loadAssignment(bbr.clusterName, bbr.endpoints));
  }
  const byName = <R extends { name: string }>(a: R, b: R) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  clusters.sort(byName);
  endpoints.sort((a, b) => (a.clusterName < b.clusterName ? -1 : a.clusterName > b.clusterName ? 1 : 0));
  return {
    listeners: gw.ports.map((port) => listener(gw, port, opts)),
    // In static mode the route configurations are inline in the listeners.
    routes: mode === 'ads' ? gw.ports.map((port) => routeConfiguration(port, pools)) : [],
    clusters,
    endpoints: mode === 'ads' ? endpoints : [],
    secrets: gw.secrets.map(tlsSecret),
  };
}

export function validateResources(gateway: string, r: XdsResources): RuleViolation[] {
  const out: RuleViolation[] = [];
  const check = <M>(type: MessageType<M>, items: M[], nameOf: (m: M) => string) => {
    for (const m of items) {
      for (const v of validateMessage(type.name, m)) {
        out.push({ gateway, resource: nameOf(m), type: type.name, path: v.path, message: v.message });
      }
    }
  };
  check(T.Listener, r.listeners, (m) => m.name);
  check(T.RouteConfiguration, r.routes, (m) => m.name);
  check(T.Cluster, r.clusters, (m) => m.name);
  check(T.ClusterLoadAssignment, r.endpoints, (m) => m.clusterName);
  check(T.Secret, r.secrets, (m) => m.name);
  return out;
}

export function formatViolation(v: RuleViolation): string {
  return `compiler bug: ${v.type.split('.').pop()} ${JSON.stringify(v.resource)} (gateway ${v.gateway}): ${v.path}: ${v.message}`;
}
