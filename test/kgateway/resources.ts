// What the kgateway drop-in test applies: kgateway's Gateway and HTTPRoute (the GIE getting-started "kgateway"
// tab), helm/inferencepool's values for provider.name=kgateway (the chart renders the InferencePool, the TLS EPP
// and its Service, ServiceAccount, Role and EndpointPickerConfig ConfigMap), simulator model servers, and the stock
// Envoy that takes kgateway's xDS. All in namespace `default`, every Pod run by the node agent.

import * as path from 'node:path';

export const NS = 'default';
export const POOL = 'vllm-llama3-8b-instruct';
export const EPP = `${POOL}-epp`;
/** A second pool and release, FailOpen from the start, on its own hostname (see the FailOpen test). */
export const OPEN_POOL = 'vllm-failopen';
export const OPEN_EPP = `${OPEN_POOL}-epp`;
export const OPEN_HOST = 'failopen.example.com';
export const GATEWAY = 'inference-gateway';
export const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';
/** The Gateway listener; kgateway maps ports below 1024 to port + 8000, so a high port keeps the numbers equal. */
export const LISTENER_PORT = 8080;

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

/** An HTTPRoute `/` → POOL_NAME (on HOSTNAME when given), as the GIE getting-started kgateway tab writes it. */
export function route(name: string, pool: string, hostname?: string) {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: NS },
    spec: {
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: GATEWAY }],
      ...(hostname ? { hostnames: [hostname] } : {}),
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          backendRefs: [{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: pool }],
          timeouts: { request: '300s' },
        },
      ],
    },
  };
}
export const ROUTES = [route('llm-route', POOL), route('llm-route-failopen', OPEN_POOL, OPEN_HOST)];

/**
 * helm/inferencepool's values for this pool behind kgateway, as `helm --set` arguments (release name = pool name):
 * provider.name=kgateway, the failure mode, and the EPP's config file (CONFIG_FILE with the testing filter, or the
 * chart's default-plugins.yaml). Requests small enough for the node agent's node.
 */
export function chartValues(configFile: string, pool = POOL, failureMode = 'FailClose'): string[] {
  return [
    ['provider.name', 'kgateway'],
    ['inferencePool.modelServers.matchLabels.app', pool],
    ['inferenceExtension.failureMode', failureMode],
    ['inferenceExtension.pluginsConfigFile', configFile],
    ['inferenceExtension.resources.requests.cpu', '100m'],
    ['inferenceExtension.resources.requests.memory', '256Mi'],
  ].flatMap(([k, v]) => ['--set', `${k}=${v}`]);
}
export const CONFIG_FILE = 'testing-filter.yaml';
export const TESTING_CONFIG_PATH = path.resolve(__dirname, '../e2e/fixtures/epp-config/testing-filter.yaml');

export function simDeployment(replicas: number, pool = POOL) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: pool, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: pool } },
      template: {
        metadata: { labels: { app: pool } },
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
