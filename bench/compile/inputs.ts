// Generated inputs for the compile benchmark: one Gateway, N HTTPRoutes spread over 50 hostnames, P
// InferencePools of 4 pods each, and Services with EndpointSlices. Deterministic for a given (N, P).

export function generateInput(routes: number, pools: number): string {
  const docs: string[] = [];
  docs.push(`apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: infergate}
spec: {controllerName: infergate.io/gateway-controller}`);
  docs.push(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bench, namespace: default}
spec:
  gatewayClassName: infergate
  listeners:
  - {name: http, protocol: HTTP, port: 8080, allowedRoutes: {namespaces: {from: All}}}`);
  for (let p = 0; p < pools; p++) {
    docs.push(`apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool-${p}, namespace: default}
spec:
  selector: {matchLabels: {app: pool-${p}}}
  targetPorts: [{number: 8000}]
  endpointPickerRef: {name: epp-${p}, port: {number: 9002}, failureMode: FailOpen}`);
    docs.push(`apiVersion: v1
kind: Service
metadata: {name: epp-${p}, namespace: default}
spec: {clusterIP: 10.96.${Math.floor(p / 250)}.${p % 250}, ports: [{name: grpc, port: 9002}]}`);
    for (let i = 0; i < 4; i++) {
      docs.push(`apiVersion: v1
kind: Pod
metadata: {name: pool-${p}-${i}, namespace: default, labels: {app: pool-${p}}}
status: {podIP: 10.1.${p % 250}.${i + 1}, conditions: [{type: Ready, status: "True"}]}`);
    }
  }
  const services = Math.max(1, Math.ceil(routes / 10));
  for (let s = 0; s < services; s++) {
    docs.push(`apiVersion: v1
kind: Service
metadata: {name: svc-${s}, namespace: default}
spec: {ports: [{name: http, port: 80}]}`);
    docs.push(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc-${s}-a, namespace: default, labels: {kubernetes.io/service-name: svc-${s}}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [10.2.${s % 250}.1], conditions: {ready: true}}
- {addresses: [10.2.${s % 250}.2], conditions: {ready: true}}`);
  }
  for (let r = 0; r < routes; r++) {
    const backend =
      pools > 0 && r % 2 === 0
        ? `{group: inference.networking.k8s.io, kind: InferencePool, name: pool-${r % pools}}`
        : `{name: svc-${r % services}, port: 80}`;
    const headers = r % 3 === 0 ? `\n      headers: [{name: x-tenant, value: t${r % 7}}]` : '';
    docs.push(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route-${r}, namespace: default, creationTimestamp: "2026-01-01T00:00:${String(r % 60).padStart(2, '0')}Z"}
spec:
  parentRefs: [{name: bench}]
  hostnames: [h${r % 50}.example.com]
  rules:
  - matches:
    - path: {type: PathPrefix, value: /v1/svc-${r}}${headers}
    backendRefs: [${backend}]`);
  }
  return docs.join('\n---\n') + '\n';
}
