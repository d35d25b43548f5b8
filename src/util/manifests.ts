// Small builders of resource manifests (YAML documents) for tests, benchmarks and local stacks: a Gateway with its
// class, a Service reachable at given addresses (with its EndpointSlice), an InferencePool, a Ready Pod.
// Without a kubelet, addresses and readiness are written into the resources themselves.

import { CONTROLLER_NAME } from '../compiler/ir';

export const DOC = '\n---\n';

export function gatewayWithClass(
  name: string,
  namespace: string,
  port: number,
  className = 'infergate',
): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: ${className}}
spec: {controllerName: ${CONTROLLER_NAME}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  gatewayClassName: ${className}
  listeners: [{name: http, protocol: HTTP, port: ${port}}]`;
}

export interface LocalServiceOptions {
  namespace?: string;
  portName?: string;
  appProtocol?: string;
  annotations?: Record<string, string>;
}

/** A Service whose one port is served at `addresses` on `targetPort` (an EndpointSlice stands in for kube-proxy). */
export function localService(
  name: string,
  servicePort: number,
  addresses: string[],
  targetPort: number,
  o: LocalServiceOptions = {},
): string {
  const ns = o.namespace ?? 'default';
  const portName = o.portName ?? 'http';
  const appProtocol = o.appProtocol ? `, appProtocol: ${o.appProtocol}` : '';
  const ann = Object.entries(o.annotations ?? {});
  const annotations = ann.length ? `, annotations: {${ann.map(([k, v]) => `${k}: ${v}`).join(', ')}}` : '';
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}${annotations}}
spec: {ports: [{name: ${portName}, port: ${servicePort}${appProtocol}}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-1, namespace: ${ns}, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
ports: [{name: ${portName}, port: ${targetPort}}]
endpoints: [${addresses.map((a) => `{addresses: ["${a}"], conditions: {ready: true}}`).join(', ')}]`;
}

/**
 * An `infergate epp` Service (port 9002, h2c) listening on 127.0.0.1:`port`, health-checked over gRPC on that port
 * (infergate.io/epp-health-check: grpc), so a stopping EPP is drained through its health.
 */
export function localEpp(name: string, port: number, namespace = 'default'): string {
  return localService(name, 9002, ['127.0.0.1'], port, {
    namespace,
    portName: 'grpc',
    appProtocol: 'kubernetes.io/h2c',
    annotations: { 'infergate.io/epp-health-check': 'grpc' },
  });
}

export interface PoolOptions {
  namespace?: string;
  app: string;
  targetPorts: number[];
  /** The EPP Service (port 9002) and failure mode; omit for a pool without a picker. */
  epp?: { service: string; failureMode?: 'FailOpen' | 'FailClose' };
}

export function inferencePool(name: string, o: PoolOptions): string {
  const epp = o.epp
    ? `\n  endpointPickerRef: {name: ${o.epp.service}, port: {number: 9002}, failureMode: ${o.epp.failureMode ?? 'FailClose'}}`
    : '';
  return `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: ${name}, namespace: ${o.namespace ?? 'default'}}
spec:
  selector: {matchLabels: {app: ${o.app}}}
  targetPorts: [${o.targetPorts.map((p) => `{number: ${p}}`).join(', ')}]${epp}`;
}

export function readyPod(name: string, app: string, ip: string, namespace = 'default'): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${namespace}, labels: {app: ${app}}}
status: {podIP: ${ip}, conditions: [{type: Ready, status: "True"}]}`;
}
