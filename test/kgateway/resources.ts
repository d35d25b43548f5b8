// What the kgateway drop-in test applies: kgateway's Gateway and HTTPRoute (the GIE getting-started "kgateway"
// tab), and the pool side as helm/inferencepool renders it for provider.name=kgateway (InferencePool, the EPP
// Deployment running `infergate epp --kubernetes --secure-serving`, its Service, ServiceAccount, Role and
// EndpointPickerConfig ConfigMap), plus simulator model servers. All in namespace `default`, run by the node agent.

import * as fs from 'node:fs';
import * as path from 'node:path';

export const NS = 'default';
export const POOL = 'vllm-llama3-8b-instruct';
export const EPP = `${POOL}-epp`;
export const GATEWAY = 'inference-gateway';
export const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';
/** The Gateway listener; kgateway maps ports below 1024 to port + 8000, so a high port keeps the numbers equal. */
export const LISTENER_PORT = 8080;
/** The EPP's config with header-based-testing-filter (the only way it honours test-epp-endpoint-selection). */
export const TESTING_CONFIG = fs.readFileSync(
  path.resolve(__dirname, '../e2e/fixtures/epp-config/testing-filter.yaml'),
  'utf8',
);

const podIpEnv = { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } };

export const gatewayClass = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'GatewayClass',
  metadata: { name: 'kgateway' },
  spec: { controllerName: 'kgateway.dev/kgateway' },
};

export const gateway = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name: GATEWAY, namespace: NS },
  spec: {
    gatewayClassName: 'kgateway',
    listeners: [{ name: 'http', port: LISTENER_PORT, protocol: 'HTTP' }],
  },
};

export const route = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'llm-route', namespace: NS },
  spec: {
    parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: GATEWAY }],
    rules: [
      {
        matches: [{ path: { type: 'PathPrefix', value: '/' } }],
        backendRefs: [{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: POOL }],
        timeouts: { request: '300s' },
      },
    ],
  },
};

export function inferencePool(failureMode: 'FailOpen' | 'FailClose') {
  return {
    apiVersion: 'inference.networking.k8s.io/v1',
    kind: 'InferencePool',
    metadata: { name: POOL, namespace: NS },
    spec: {
      selector: { matchLabels: { app: POOL } },
      targetPorts: [{ number: 8000 }],
      endpointPickerRef: { name: EPP, port: { number: 9002 }, failureMode },
    },
  };
}

/** The EPP's ServiceAccount, a Role with exactly what `epp --kubernetes` reads, and their binding. */
export const eppRbac = [
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: EPP, namespace: NS } },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: EPP, namespace: NS },
    rules: [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      {
        apiGroups: ['inference.networking.k8s.io'],
        resources: ['inferencepools'],
        verbs: ['get', 'list', 'watch'],
      },
      {
        apiGroups: ['inference.networking.x-k8s.io'],
        resources: ['inferencepools', 'inferenceobjectives', 'inferencemodelrewrites', 'inferencemodels'],
        verbs: ['get', 'list', 'watch'],
      },
    ],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: EPP, namespace: NS },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: EPP },
    subjects: [{ kind: 'ServiceAccount', name: EPP, namespace: NS }],
  },
];

export const eppConfigMap = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: EPP, namespace: NS },
  data: { 'testing-filter.yaml': TESTING_CONFIG },
};

/** The EPP Deployment; `testingFilter` false runs the default config (the test header is then ignored). */
export function eppDeployment(replicas: number, testingFilter: boolean) {
  const args = ['epp', '--kubernetes', '--pool-name', POOL, '--pool-namespace', NS, '--secure-serving'];
  args.push('--address', '$(POD_IP)');
  if (testingFilter) args.push('--config-file', '/config/testing-filter.yaml');
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: EPP, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: EPP } },
      template: {
        metadata: { labels: { app: EPP } },
        spec: {
          serviceAccountName: EPP,
          terminationGracePeriodSeconds: 10,
          containers: [
            {
              name: 'epp',
              image: 'ghcr.io/infergate/infergate:0.1.0',
              args,
              env: [podIpEnv],
              ports: [
                { name: 'grpc', containerPort: 9002 },
                { name: 'grpc-health', containerPort: 9003 },
                { name: 'metrics', containerPort: 9090 },
              ],
              readinessProbe: { grpc: { port: 9003, service: 'readiness' }, periodSeconds: 1 },
              volumeMounts: [{ name: 'config', mountPath: '/config' }],
            },
          ],
          volumes: [{ name: 'config', configMap: { name: EPP } }],
        },
      },
    },
  };
}

/** kgateway's EPP cluster is STRICT_DNS `<endpointPickerRef.name>.<ns>.svc:9002` over TLS. */
export const eppService = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: EPP, namespace: NS },
  spec: {
    selector: { app: EPP },
    ports: [{ name: 'grpc-ext-proc', port: 9002, targetPort: 9002, appProtocol: 'http2' }],
  },
};

export function simDeployment(replicas: number) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: POOL, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: POOL } },
      template: {
        metadata: { labels: { app: POOL } },
        spec: {
          containers: [
            {
              name: 'vllm',
              image: 'ghcr.io/infergate/infergate:0.1.0',
              args: ['sim', '--address', '$(POD_IP)', '--port', '8000', '--model', MODEL],
              env: [podIpEnv],
              ports: [{ name: 'http', containerPort: 8000 }],
              readinessProbe: { httpGet: { path: '/health', port: 8000 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
}

/**
 * A stock Envoy as the Gateway's data plane, as a Pod the node agent runs (image `envoy` = .tools/bin/envoy). The
 * bootstrap carries what kgateway's own envoy ConfigMap would: node.metadata.role `kgateway-kube-gateway-api~<ns>~
 * <gateway>` (kgateway's snapshot key) and an ADS cluster to its xDS port; node.id `<pod>.<ns>` (KGW_XDS_AUTH=false:
 * kgateway looks that Pod up). kgateway's EPP cluster is STRICT_DNS: getaddrinfo reads the node agent's /etc/hosts
 * afresh on every lookup (c-ares kept a name it had not found for ~80 s in the serve tests).
 */
export const ENVOY_ADMIN_PORT = 19111;
export function envoyBootstrap(xds: string): string {
  const [host, port] = xds.split(':');
  return JSON.stringify({
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: ENVOY_ADMIN_PORT } } },
    node: { cluster: `${GATEWAY}.${NS}`, metadata: { role: `kgateway-kube-gateway-api~${NS}~${GATEWAY}` } },
    typed_dns_resolver_config: {
      name: 'envoy.network.dns_resolver.getaddrinfo',
      typed_config: {
        '@type':
          'type.googleapis.com/envoy.extensions.network.dns_resolver.getaddrinfo.v3.GetAddrInfoDnsResolverConfig',
      },
    },
    static_resources: {
      clusters: [
        {
          name: 'xds_cluster',
          type: 'STATIC',
          connect_timeout: '2s',
          load_assignment: {
            cluster_name: 'xds_cluster',
            endpoints: [
              {
                lb_endpoints: [
                  { endpoint: { address: { socket_address: { address: host, port_value: Number(port) } } } },
                ],
              },
            ],
          },
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
        },
      ],
    },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }],
      },
      cds_config: { resource_api_version: 'V3', ads: {} },
      lds_config: { resource_api_version: 'V3', ads: {} },
    },
  });
}

export function envoyObjects(xds: string) {
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kgw-envoy', namespace: NS },
      data: { 'envoy.json': envoyBootstrap(xds) },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'kgw-envoy',
        namespace: NS,
        labels: { 'gateway.networking.k8s.io/gateway-name': GATEWAY },
      },
      spec: {
        containers: [
          {
            name: 'envoy',
            image: 'envoy',
            args: [
              '-c',
              '/etc/envoy/envoy.json',
              '--service-node',
              `$(POD_NAME).${NS}`,
              '--disable-hot-restart',
              '--log-level',
              'warn',
            ],
            env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
            volumeMounts: [{ name: 'bootstrap', mountPath: '/etc/envoy' }],
          },
        ],
        volumes: [{ name: 'bootstrap', configMap: { name: 'kgw-envoy' } }],
      },
    },
  ];
}
