// Envoy bootstraps: `static` inlines every resource; `ads` points Envoy at the xDS server over delta ADS.

import type { Bootstrap } from '../../../generated/envoy/config/bootstrap/v3/bootstrap';
import { Bootstrap as BootstrapCodec } from '../../../generated/envoy/config/bootstrap/v3/bootstrap';
import { Cluster_DiscoveryType } from '../../../generated/envoy/config/cluster/v3/cluster';
import { ApiConfigSource_ApiType, ApiVersion } from '../../../generated/envoy/config/core/v3/config_source';
import { Any } from '../../../generated/google/protobuf/any';
import { adsSource, seconds, socketAddress } from './common';
import { loadAssignment } from './cluster';
import type { XdsResources } from './index';
import { make, pack, T, type MessageType } from './types';

export const BOOTSTRAP_TYPE: MessageType<Bootstrap> = {
  name: 'envoy.config.bootstrap.v3.Bootstrap',
  typeUrl: 'type.googleapis.com/envoy.config.bootstrap.v3.Bootstrap',
  codec: BootstrapCodec,
};

export const XDS_CLUSTER = 'infergate_xds';

export interface BootstrapOptions {
  /** The Gateway key ("namespace/name"): Envoy's node.cluster, which the xDS server groups nodes by. */
  gateway: string;
  nodeId?: string;
  adminAddress?: string;
  adminPort?: number;
  /**
   * A static listener on 0.0.0.0:PORT answering 200 on /ready (ads mode). Envoy starts accepting on its listeners
   * only after its first CDS and LDS responses, so a readiness probe there passes once Envoy has config.
   */
  readyPort?: number;
}

function base(o: BootstrapOptions) {
  return {
    node: { id: o.nodeId ?? `infergate-${o.gateway.replace('/', '-')}`, cluster: o.gateway },
    admin: { address: socketAddress(o.adminAddress ?? '127.0.0.1', o.adminPort ?? 19000) },
  };
}

export function staticBootstrap(resources: XdsResources, o: BootstrapOptions): Bootstrap {
  return make(BOOTSTRAP_TYPE, {
    ...base(o),
    staticResources: {
      listeners: resources.listeners,
      clusters: resources.clusters,
      secrets: resources.secrets,
    },
  });
}

export function adsBootstrap(xdsAddress: string, o: BootstrapOptions): Bootstrap {
  const [host, portText] = splitHostPort(xdsAddress);
  const isIp = /^[\d.]+$|:/.test(host);
  const xds = make(T.Cluster, {
    name: XDS_CLUSTER,
    connectTimeout: seconds(1),
    clusterDiscoveryType: {
      $case: 'type',
      value: isIp ? Cluster_DiscoveryType.STATIC : Cluster_DiscoveryType.STRICT_DNS,
    },
    loadAssignment: loadAssignment(XDS_CLUSTER, [{ address: host, port: Number(portText) }]),
    // A name (a Service in a cluster) is resolved with getaddrinfo, which reads /etc/hosts and resolv.conf afresh on
    // every lookup: with c-ares, a managed Envoy that started before its control plane's name existed kept failing
    // for ~80 s after the name appeared in /etc/hosts (the test cluster's node agent), re-resolving every 5 s.
    ...(isIp
      ? {}
      : {
          typedDnsResolverConfig: {
            name: 'envoy.network.dns_resolver.getaddrinfo',
            typedConfig: Any.fromPartial({
              typeUrl:
                'type.googleapis.com/envoy.extensions.network.dns_resolver.getaddrinfo.v3.GetAddrInfoDnsResolverConfig',
            }),
          },
          dnsRefreshRate: seconds(2),
        }),
    typedExtensionProtocolOptions: {
      [T.HttpProtocolOptions.name]: pack(T.HttpProtocolOptions, {
        upstreamProtocolOptions: {
          $case: 'explicitHttpConfig',
          value: {
            protocolConfig: {
              $case: 'http2ProtocolOptions',
              value: { connectionKeepalive: { interval: seconds(30), timeout: seconds(5) } },
            },
          },
        },
      }),
    },
  });
  // Wait for the control plane rather than starting with nothing after the default 15 s.
  const source = { ...adsSource(), initialFetchTimeout: seconds(0) };
  return make(BOOTSTRAP_TYPE, {
    ...base(o),
    dynamicResources: {
      adsConfig: {
        apiType: ApiConfigSource_ApiType.DELTA_GRPC,
        transportApiVersion: ApiVersion.V3,
        setNodeOnFirstMessageOnly: true,
        grpcServices: [{ targetSpecifier: { $case: 'envoyGrpc', value: { clusterName: XDS_CLUSTER } } }],
      },
      ldsConfig: source,
      cdsConfig: source,
    },
    staticResources: {
      clusters: [xds],
      ...(o.readyPort !== undefined ? { listeners: [readyListener(o.readyPort)] } : {}),
    },
  });
}

export const READY_LISTENER = 'infergate_ready';

function readyListener(port: number) {
  const hcm = pack(T.HttpConnectionManager, {
    statPrefix: READY_LISTENER,
    routeSpecifier: {
      $case: 'routeConfig',
      value: {
        name: READY_LISTENER,
        virtualHosts: [
          {
            name: READY_LISTENER,
            domains: ['*'],
            routes: [
              {
                match: { pathSpecifier: { $case: 'path', value: '/ready' } },
                action: {
                  $case: 'directResponse',
                  value: { status: 200, body: { specifier: { $case: 'inlineString', value: 'ready\n' } } },
                },
              },
            ],
          },
        ],
      },
    },
    httpFilters: [
      { name: 'envoy.filters.http.router', configType: { $case: 'typedConfig', value: pack(T.Router, {}) } },
    ],
  });
  return make(T.Listener, {
    name: READY_LISTENER,
    address: socketAddress('0.0.0.0', port),
    filterChains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            configType: { $case: 'typedConfig', value: hcm },
          },
        ],
      },
    ],
  });
}

export function splitHostPort(address: string): [string, string] {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!m) throw new Error(`invalid address ${JSON.stringify(address)}: expected host:port`);
  return [m[1], m[2]];
}
