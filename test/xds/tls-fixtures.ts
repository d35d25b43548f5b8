// An HTTPS Gateway for the SDS tests: one TLS listener whose certificate comes from a kubernetes.io/tls Secret,
// one route to a Service backed by a local backend; compiled in ads mode like the pipeline does.

import { parseText } from '../../src/api/load';
import { compile } from '../../src/compiler';
import { buildSnapshot, type Snapshot } from '../../src/xds/snapshot';
import { tlsSecretYaml, type TestCertificate } from '../support/certs';
import { GROUP } from './fixtures';

export const SECRET_NAME = 'secret/default/web-cert';

export interface TlsInput {
  listenPort: number;
  hostname: string;
  cert: TestCertificate;
  backend: { address: string; port: number };
}

export function httpsGatewayYaml(i: TlsInput): string {
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
  listeners:
    - name: https
      protocol: HTTPS
      port: ${i.listenPort}
      hostname: ${i.hostname}
      tls: {certificateRefs: [{name: web-cert}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
    - backendRefs: [{name: web, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: ${i.backend.port}}]
endpoints: [{addresses: ["${i.backend.address}"], conditions: {ready: true}}]
---
${tlsSecretYaml('web-cert', 'default', i.cert)}`;
}

export function tlsSnapshotOf(i: TlsInput): Snapshot {
  const loaded = parseText(httpsGatewayYaml(i), 'tls.yaml');
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (errors.length) throw new Error(JSON.stringify(errors));
  const result = compile(loaded.resources, { mode: 'ads', listenAddress: '127.0.0.1' });
  if (result.violations.length || !result.gateways.length)
    throw new Error(JSON.stringify([result.violations, result.problems]));
  return buildSnapshot(GROUP, result.gateways[0].resources);
}
