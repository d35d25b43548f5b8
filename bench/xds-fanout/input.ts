// The fan-out bench's input: one Gateway with `services` Services (each with `endpoints` ready endpoints) and
// one HTTPRoute per Service; `variant` changes one route (a route change), `port` moves every endpoint
// (an endpoint-only change).

export interface FanoutInput {
  listenPort: number;
  services: number;
  endpoints: number;
  /** Appended to one route's path: changing it is a route-only change. */
  variant: number;
  /** Backend port of every endpoint: changing it is an endpoint-only change. */
  port: number;
}

export function fanoutYaml(i: FanoutInput): string {
  const docs: string[] = [
    `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: infergate}
spec: {controllerName: infergate.io/gateway-controller}`,
    `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: infergate
  listeners: [{name: http, protocol: HTTP, port: ${i.listenPort}}]`,
  ];
  const rules: string[] = [];
  for (let s = 0; s < i.services; s++) {
    const prefix = s === 0 ? `/svc-0-v${i.variant}` : `/svc-${s}`;
    rules.push(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route-${s}, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: ${prefix}}}]
    backendRefs: [{name: svc-${s}, port: 80}]`);
    const addresses = Array.from({ length: i.endpoints }, (_, e) => `"10.${s >> 8}.${s & 255}.${e + 1}"`);
    docs.push(`apiVersion: v1
kind: Service
metadata: {name: svc-${s}, namespace: default}
spec: {ports: [{name: http, port: 80}]}`);
    docs.push(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc-${s}-1, namespace: default, labels: {kubernetes.io/service-name: svc-${s}}}
addressType: IPv4
ports: [{name: http, port: ${i.port}}]
endpoints: [{addresses: [${addresses.join(', ')}], conditions: {ready: true}}]`);
  }
  docs.push(...rules);
  return docs.join('\n---\n') + '\n';
}
