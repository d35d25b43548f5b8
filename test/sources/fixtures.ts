// Shared inputs for the source tests: a Gateway with HTTPRoutes to InferencePools (one file each), and an
// auto-ACKing delta ADS client that mirrors what the control plane pushes.

import type { ClientDuplexStream } from '@grpc/grpc-js';
import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
} from '../../generated/envoy/service/discovery/v3/discovery';
import { gatewayWithClass } from '../../src/util/manifests';
import { XDS } from '../../src/xds/resource-types';
import { adsClient, deltaReq } from '../xds/client';

export const GROUP = 'default/gw';
export const TYPES = [XDS.Cluster, XDS.ClusterLoadAssignment, XDS.Listener, XDS.RouteConfiguration];

export const gateway = `${gatewayWithClass('gw', 'default', 10080)}\n`;
export const route = (
  name: string,
  prefix: string,
  pool: string,
  port = '1',
) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: ${prefix}}}]
    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: ${pool}, port: ${port}}]
`;
export const pod = (name: string, app: string, ip: string, ready = '"True"') => `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default, labels: {app: ${app}}}
status: {podIP: ${ip}, conditions: [{type: Ready, status: ${ready}}]}
`;
export const pool = (name: string, pods: string) => `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: ${name}, namespace: default}
spec:
  selector: {matchLabels: {app: ${name}}}
  targetPorts: [{number: 8000}]
  endpointPickerRef: {name: ${name}-epp, port: {number: 9002}}
---
apiVersion: v1
kind: Service
metadata: {name: ${name}-epp, namespace: default}
spec: {clusterIP: 10.96.0.9, ports: [{name: grpc, port: 9002, appProtocol: http2}]}
${pods}`;

/** An auto-ACKing delta ADS client that mirrors what it was sent, per type and name, and counts pushes. */
export class Mirror {
  readonly resources = new Map<string, Map<string, unknown>>(TYPES.map((t) => [t.typeUrl, new Map()]));
  readonly pushes = new Map<string, number>(TYPES.map((t) => [t.typeUrl, 0]));
  private readonly client;
  private readonly stream: ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

  constructor(port: number) {
    this.client = adsClient(port);
    this.stream = this.client.deltaAggregatedResources();
    this.stream.on('error', () => undefined);
    this.stream.on('data', (r: DeltaDiscoveryResponse) => {
      const type = TYPES.find((t) => t.typeUrl === r.typeUrl)!;
      const byName = this.resources.get(r.typeUrl)!;
      for (const res of r.resources) byName.set(res.name, type.message.codec.decode(res.resource!.value));
      for (const name of r.removedResources) byName.delete(name);
      this.pushes.set(r.typeUrl, this.pushes.get(r.typeUrl)! + 1);
      this.stream.write(deltaReq({ typeUrl: r.typeUrl, responseNonce: r.nonce }));
    });
    const node = { id: 'mirror', cluster: GROUP };
    for (const t of TYPES)
      this.stream.write(deltaReq({ node, typeUrl: t.typeUrl, resourceNamesSubscribe: ['*'] }));
  }

  /** The addresses of the named ClusterLoadAssignment's endpoints (read from the decoded message). */
  endpoints(cluster: string): string[] {
    const cla = this.resources.get(XDS.ClusterLoadAssignment.typeUrl)!.get(cluster);
    return [...JSON.stringify(cla ?? {}).matchAll(/"address":"([\d.]+)"/g)].map((m) => m[1]).sort();
  }

  /** The path prefixes of every route (read from the decoded messages). */
  routes(): string[] {
    const text = JSON.stringify([...this.resources.get(XDS.RouteConfiguration.typeUrl)!.values()]);
    return [...text.matchAll(/"pathSpecifier":\{"\$case":"\w+","value":"([^"]*)"/g)].map((m) => m[1]).sort();
  }

  close(): void {
    this.stream.cancel();
    this.client.close();
  }
}
