// Shared inputs for the xDS tests: a Gateway with HTTPRoutes to Services whose EndpointSlices point at local
// backends, compiled in ads mode; ADS bootstraps for delta (as `compile --mode ads` prints) and SotW.

import { parseText } from '../../src/api/load';
import { compile } from '../../src/compiler';
import { adsBootstrap } from '../../src/compiler/xds/bootstrap';
import { renderBootstrap } from '../../src/compiler/output';
import { ApiConfigSource_ApiType } from '../../generated/envoy/config/core/v3/config_source';
import { buildSnapshot, type Snapshot } from '../../src/xds/snapshot';
import { sleep, waitFor as waitUntil } from '../../src/util/wait';

export const GROUP = 'default/gw';

export interface Input {
  listenPort: number;
  /** path prefix → service name */
  routes: Record<string, string>;
  /** service name → backend address and port */
  services: Record<string, { address: string; port: number }>;
}

export function gatewayYaml(input: Input): string {
  const rules = Object.entries(input.routes)
    .map(
      ([prefix, svc]) => `
  - matches: [{path: {type: PathPrefix, value: ${prefix}}}]
    backendRefs: [{name: ${svc}, port: 80}]`,
    )
    .join('');
  const services = Object.entries(input.services)
    .map(
      ([svc, be]) => `
---
apiVersion: v1
kind: Service
metadata: {name: ${svc}, namespace: default}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${svc}-1, namespace: default, labels: {kubernetes.io/service-name: ${svc}}}
addressType: IPv4
ports: [{name: http, port: ${be.port}}]
endpoints: [{addresses: ["${be.address}"], conditions: {ready: true}}]`,
    )
    .join('');
  return `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: infergate}
spec: {controllerName: infergate.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: infergate
  listeners: [{name: http, protocol: HTTP, port: ${input.listenPort}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: routes, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:${rules}
${services}
`;
}

/** Compiles the input and builds the group's snapshot (what the pipeline would publish). */
export function snapshotOf(input: Input): Snapshot {
  const loaded = parseText(gatewayYaml(input), 'test.yaml');
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (errors.length) throw new Error(JSON.stringify(errors));
  const result = compile(loaded.resources, { mode: 'ads', listenAddress: '127.0.0.1' });
  if (result.violations.length) throw new Error(JSON.stringify(result.violations));
  return buildSnapshot(GROUP, result.gateways[0].resources);
}

export function bootstrapYaml(
  xdsPort: number,
  adminPort: number,
  nodeId: string,
  protocol: 'delta' | 'sotw',
): string {
  const b = adsBootstrap(`127.0.0.1:${xdsPort}`, { gateway: GROUP, nodeId, adminPort });
  if (protocol === 'sotw') b.dynamicResources!.adsConfig!.apiType = ApiConfigSource_ApiType.GRPC;
  return renderBootstrap(b, 'yaml');
}

export { sleep };

export function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30000) {
  return waitUntil(what, probe, { timeoutMs: ms, everyMs: 20 });
}
