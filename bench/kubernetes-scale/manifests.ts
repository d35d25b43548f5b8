// What the kubernetes-scale bench puts in the cluster: P InferencePools (each with an EPP Service and a hand-made
// ready EndpointSlice), N Pods spread round-robin over the pools, R HTTPRoutes on one Gateway of our class, each
// sending one path prefix to one pool. Deterministic for a given size.

export const NS = 'default';
export const GATEWAY = 'bench';
export const CLASS = 'infergate-bench';
export const CONTROLLER = 'infergate.io/gateway-controller';
export const TARGET_PORT = 8000;
// The default scheduler ignores Pods of another scheduler, so it never writes PodScheduled=False into the Pods
// (1,000 status updates the control plane would see in the middle of the measurement) and nothing binds them.
export const NO_SCHEDULER = 'infergate-bench-unscheduled';

export interface Sizes {
  pods: number;
  pools: number;
  routes: number;
}

/** 10.244.x.y for pod number i: x from 1, y 1..250, so no address is a network or broadcast one. */
export function podIP(i: number): string {
  return `10.244.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

/** The EPP address of pool p (nothing listens there: Envoy's health check of it fails fast, which is fine). */
export function eppIP(p: number): string {
  return `10.244.${200 + Math.floor(p / 250)}.${1 + (p % 250)}`;
}

export const poolName = (p: number) => `pool-${p}`;
export const podName = (i: number) => `pod-${i}`;
export const routeName = (r: number) => `route-${r}`;
/** Pod i belongs to pool i mod P. */
export const poolOfPod = (i: number, pools: number) => i % pools;

export function pod(name: string, pool: number): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { app: poolName(pool) } },
    spec: {
      schedulerName: NO_SCHEDULER,
      containers: [{ name: 'model', image: 'sim', ports: [{ containerPort: TARGET_PORT }] }],
    },
  };
}

/** A kubelet's status for a running Pod on ip, Ready or not (what test/kubernetes/fixtures.ts setPodStatus writes). */
export function podStatus(ip: string, ready: boolean): object {
  return {
    status: {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  };
}

/** The Gateway alone, for `infergate compile --mode ads --gateway` (the bootstrap needs only its listeners). */
export function gatewayDocs(): object[] {
  return [
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GatewayClass',
      metadata: { name: CLASS },
      spec: { controllerName: CONTROLLER },
    },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: GATEWAY, namespace: NS },
      spec: { gatewayClassName: CLASS, listeners: [{ name: 'http', protocol: 'HTTP', port: 8080 }] },
    },
  ];
}

/** Everything the measured `kubectl apply` creates: class, Gateway, EPP Services and slices, pools, then routes. */
export function appliedDocs(s: Sizes): object[] {
  const docs: object[] = [...gatewayDocs()];
  for (let p = 0; p < s.pools; p++) {
    const epp = `${poolName(p)}-epp`;
    docs.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: epp, namespace: NS },
      spec: { ports: [{ name: 'grpc', port: 9002, appProtocol: 'kubernetes.io/h2c' }] },
    });
    // A Service without a selector: its slice is ours (no controller rewrites it), ready at once.
    docs.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${epp}-a`,
        namespace: NS,
        labels: {
          'kubernetes.io/service-name': epp,
          'endpointslice.kubernetes.io/managed-by': 'infergate-bench',
        },
      },
      addressType: 'IPv4',
      ports: [{ name: 'grpc', port: 9002, protocol: 'TCP' }],
      endpoints: [{ addresses: [eppIP(p)], conditions: { ready: true } }],
    });
    docs.push({
      apiVersion: 'inference.networking.k8s.io/v1',
      kind: 'InferencePool',
      metadata: { name: poolName(p), namespace: NS },
      spec: {
        selector: { matchLabels: { app: poolName(p) } },
        targetPorts: [{ number: TARGET_PORT }],
        endpointPickerRef: { name: epp, port: { number: 9002 }, failureMode: 'FailOpen' },
      },
    });
  }
  for (let r = 0; r < s.routes; r++) {
    docs.push({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: routeName(r), namespace: NS },
      spec: {
        parentRefs: [{ name: GATEWAY }],
        hostnames: [`h${r % 10}.example.com`],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: `/v1/${routeName(r)}` } }],
            backendRefs: [
              { group: 'inference.networking.k8s.io', kind: 'InferencePool', name: poolName(r % s.pools) },
            ],
          },
        ],
      },
    });
  }
  return docs;
}

/** Multi-document YAML (JSON is YAML; one object a document keeps the file easy to diff and to apply). */
export function toMultiDoc(docs: object[]): string {
  return docs.map((d) => JSON.stringify(d)).join('\n---\n') + '\n';
}
