// Clusters and ClusterLoadAssignments: one per Service backend, one per InferencePool (model servers, chosen by
// the override_host policy from the EPP's decision), one per Endpoint Picker (gRPC over HTTP/2, health-checked).

import type { Cluster } from '../../../generated/envoy/config/cluster/v3/cluster';
import { Cluster_DiscoveryType, Cluster_LbPolicy } from '../../../generated/envoy/config/cluster/v3/cluster';
import type { ClusterLoadAssignment } from '../../../generated/envoy/config/endpoint/v3/endpoint';
import type { HttpProtocolOptions_ExplicitHttpConfig } from '../../../generated/envoy/extensions/upstreams/http/v3/http_protocol_options';
import type { EndpointIR, EndpointPickerIR, PoolIR, ServiceClusterIR } from '../ir';
import { adsSource, seconds, socketAddress, type Mode } from './common';
import { make, pack, T, type DeepPartial } from './types';

/** Envoy's upstream picks the EPP's choice from this dynamic-metadata key (GIE endpoint-picker protocol). */
export const DESTINATION_METADATA_NAMESPACE = 'envoy.lb';
export const DESTINATION_KEY = 'x-gateway-destination-endpoint';
/** The endpoint that served the request, reported to the EPP on the response (metadata key and internal header). */
export const SERVED_ENDPOINT_HEADER = 'x-gateway-destination-endpoint-served';
const EXT_PROC_HEALTH_SERVICE = 'envoy.service.ext_proc.v3.ExternalProcessor';
/** GIE's reference gateway configuration sizes circuit breakers at 40,000 for pools and the EPP. */
const CIRCUIT_BREAKER_LIMIT = 40000;

export function loadAssignment(clusterName: string, endpoints: EndpointIR[]): ClusterLoadAssignment {
  return make(T.ClusterLoadAssignment, {
    clusterName,
    endpoints: endpoints.length
      ? [
          {
            lbEndpoints: endpoints.map((e) => ({
              hostIdentifier: { $case: 'endpoint', value: { address: socketAddress(e.address, e.port) } },
            })),
          },
        ]
      : [],
  });
}

function discovery(mode: Mode, name: string, endpoints: EndpointIR[]): DeepPartial<Cluster> {
  if (mode === 'ads') {
    return {
      clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.EDS },
      edsClusterConfig: { edsConfig: adsSource(), serviceName: name },
    };
  }
  return {
    clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.STATIC },
    loadAssignment: loadAssignment(name, endpoints),
  };
}

/**
 * Streams an ext_proc server sees per HTTP/2 connection. Envoy resets every ext_proc stream when its request
 * completes, and Node's HTTP/2 server (nghttp2's rapid-reset guard: a burst of 1,000 resets, then 33/s) answers
 * the 1,001st reset on a connection with GOAWAY — every stream in flight on it then fails. Measured: GOAWAY after
 * 1,002 resets on one connection; 1–3 Envoy "upstream protocol errors" per benchmark run at ≥ 700 req/s. Moving
 * to a fresh connection every 500 requests keeps each below the burst. infergate's EPP now shields its sessions
 * from the guard itself (src/epp/server/reset-shield.ts); the rotation stays for other ext_proc servers on Node,
 * and so that INFERGATE_EPP_SHIELD_RESETS=0 (the shield costs ~1.8x EPP CPU on 220 KB prompts) is safe behind us.
 */
export const EXT_PROC_REQUESTS_PER_CONNECTION = 500;

function protocolOptions(protocol: 'http1' | 'h2c', extProc = false) {
  type Options = DeepPartial<HttpProtocolOptions_ExplicitHttpConfig>;
  const h2: Options = {
    protocolConfig: {
      $case: 'http2ProtocolOptions',
      value: extProc ? { initialStreamWindowSize: 65536, initialConnectionWindowSize: 1048576 } : {},
    },
  };
  const h1: Options = { protocolConfig: { $case: 'httpProtocolOptions', value: {} } };
  return {
    [T.HttpProtocolOptions.name]: pack(T.HttpProtocolOptions, {
      ...(extProc
        ? { commonHttpProtocolOptions: { maxRequestsPerConnection: EXT_PROC_REQUESTS_PER_CONNECTION } }
        : {}),
      upstreamProtocolOptions: { $case: 'explicitHttpConfig', value: protocol === 'h2c' ? h2 : h1 },
    }),
  };
}

function circuitBreakers(extra: { maxRetries?: number } = {}) {
  const limit = CIRCUIT_BREAKER_LIMIT;
  return { thresholds: [{ maxConnections: limit, maxPendingRequests: limit, maxRequests: limit, ...extra }] };
}

export function serviceCluster(c: ServiceClusterIR, mode: Mode): Cluster {
  return make(T.Cluster, {
    name: c.name,
    connectTimeout: seconds(10),
    ...discovery(mode, c.name, c.endpoints),
    typedExtensionProtocolOptions: protocolOptions(c.protocol),
  });
}

/**
 * The pool's model servers. override_host reads the EPP's pick from dynamic metadata first, then from the
 * header the EPP set (inbound copies of that header are stripped before ext_proc runs, so a client cannot
 * steer), and only ever selects hosts that are members of this cluster. Without a pick (no EPP, or the EPP
 * failed open) the fallback policy balances across the pool.
 */
export function poolCluster(p: PoolIR, mode: Mode): Cluster {
  const overrideHost = pack(T.OverrideHost, {
    overrideHostSources: [
      {
        metadata: {
          key: DESTINATION_METADATA_NAMESPACE,
          path: [{ segment: { $case: 'key', value: DESTINATION_KEY } }],
        },
      },
      { header: DESTINATION_KEY },
    ],
    fallbackPolicy: {
      policies: [
        {
          typedExtensionConfig: {
            name: 'envoy.load_balancing_policies.least_request',
            typedConfig: pack(T.LeastRequest, {}),
          },
        },
      ],
    },
  });
  return make(T.Cluster, {
    name: p.clusterName,
    connectTimeout: seconds(10),
    ...discovery(mode, p.clusterName, p.endpoints),
    loadBalancingPolicy: {
      policies: [
        {
          typedExtensionConfig: {
            name: 'envoy.load_balancing_policies.override_host',
            typedConfig: overrideHost,
          },
        },
      ],
    },
    circuitBreakers: circuitBreakers(),
    typedExtensionProtocolOptions: protocolOptions(p.protocol),
  });
}

/**
 * An ext_proc server (the Endpoint Picker or the body-based router): gRPC over HTTP/2, least-request, actively
 * health-checked with the gRPC health protocol on its port, or with a TCP connect for EPPs that do not serve health
 * there (upstream's EPP and lwepp serve it on a port of their own, which the InferencePool does not name).
 */
export function extProcCluster(
  e: Pick<EndpointPickerIR, 'clusterName' | 'authority' | 'endpoints' | 'tls' | 'healthCheck'>,
  mode: Mode,
): Cluster {
  return make(T.Cluster, {
    name: e.clusterName,
    connectTimeout: seconds(10),
    ...discovery(mode, e.clusterName, e.endpoints),
    lbPolicy: Cluster_LbPolicy.LEAST_REQUEST,
    // With every EPP host unhealthy, opening the ext_proc stream fails at once, before any body chunk is sent,
    // which is the only point where Envoy can still fail open in FULL_DUPLEX_STREAMED mode. Envoy's default
    // panic routing (to unhealthy hosts) would instead fail the stream later and turn FailOpen into a 500.
    commonLbConfig: { healthyPanicThreshold: { value: 0 } },
    circuitBreakers: circuitBreakers({ maxRetries: 1024 }),
    typedExtensionProtocolOptions: protocolOptions('h2c', true),
    healthChecks: [
      {
        // A slow answer on a busy machine is not a dead EPP (a refused connection fails at once regardless).
        timeout: seconds(2),
        interval: seconds(1),
        noTrafficInterval: seconds(1),
        unhealthyThreshold: 2,
        healthyThreshold: 1,
        // Envoy would send the cluster name as :authority, and "/" in it is not a valid HTTP/2 authority.
        healthChecker:
          e.healthCheck === 'grpc'
            ? {
                $case: 'grpcHealthCheck',
                value: { serviceName: EXT_PROC_HEALTH_SERVICE, authority: e.authority },
              }
            : { $case: 'tcpHealthCheck', value: {} },
        ...(e.tls && e.healthCheck === 'grpc' ? { tlsOptions: { alpnProtocols: ['h2'] } } : {}),
      },
    ],
    ...(e.tls
      ? {
          transportSocket: {
            name: 'envoy.transport_sockets.tls',
            configType: {
              $case: 'typedConfig',
              // Every gateway dials the EPP without certificate verification; the EPP's certificate is self-signed.
              value: pack(T.UpstreamTlsContext, { commonTlsContext: { alpnProtocols: ['h2'] } }),
            },
          },
        }
      : {}),
  });
}
