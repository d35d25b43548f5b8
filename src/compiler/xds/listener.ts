// One Listener per Gateway port, with an HTTP connection manager whose filter chain is:
//   header_mutation (strip client-sent destination headers) → [body-based router] → the Endpoint Picker ext_proc
//   (disabled unless a route to a pool enables it) → router.
// HTTPS ports get one filter chain per Gateway listener, matched by SNI, each terminating TLS with certificates
// it names (SDS over ADS, or static secrets): a Listener never carries a private key.

import type { Listener } from '../../../generated/envoy/config/listener/v3/listener';
import { Any } from '../../../generated/google/protobuf/any';
import type { HttpFilter } from '../../../generated/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager';
import {
  HttpConnectionManager_CodecType,
  type HttpConnectionManager,
} from '../../../generated/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager';
import type { GatewayIR, PoolIR, PortIR, TLSChainIR } from '../ir';
import { adsSource, socketAddress, type Mode } from './common';
import { DESTINATION_KEY, DESTINATION_METADATA_NAMESPACE, SERVED_ENDPOINT_HEADER } from './cluster';
import { bodyBasedRouterFilter, endpointPickerFilter } from './extproc';
import { routeConfiguration } from './route';
import { sdsSecretConfig } from './secret';
import { make, pack, T, type DeepPartial } from './types';

export interface ListenerOptions {
  mode: Mode;
  /** Address the listeners bind; 0.0.0.0 by default. */
  listenAddress: string;
}

export function listener(gw: GatewayIR, port: PortIR, opts: ListenerOptions): Listener {
  const pools = new Map(gw.pools.map((p) => [p.key, p]));
  const hcm = (statPrefix: string) =>
    pack(T.HttpConnectionManager, httpConnectionManager(gw, port, pools, opts.mode, statPrefix));
  const base = statPrefixOf(gw, port);
  const chains =
    port.protocol === 'HTTPS'
      ? (port.tls ?? []).map((chain) => tlsFilterChain(chain, opts.mode, hcm(`${base}_${chain.listener}`)))
      : [
          {
            filters: [
              {
                name: 'envoy.filters.network.http_connection_manager',
                configType: { $case: 'typedConfig' as const, value: hcm(base) },
              },
            ],
          },
        ];
  return make(T.Listener, {
    name: port.listenerName,
    address: socketAddress(opts.listenAddress, port.port),
    ...(port.protocol === 'HTTPS' ? { listenerFilters: [tlsInspector()] } : {}),
    filterChains: chains,
  });
}

/**
 * Filter chains match on SNI, which only the TLS inspector reads from the ClientHello; without it Envoy 1.40
 * matched no chain and closed every HTTPS connection (stat no_filter_chain_match). Its default config is an
 * empty message, so the Any needs no generated codec.
 */
function tlsInspector() {
  return {
    name: 'envoy.filters.listener.tls_inspector',
    configType: {
      $case: 'typedConfig' as const,
      value: Any.fromPartial({
        typeUrl: 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
      }),
    },
  };
}

function statPrefixOf(gw: GatewayIR, port: PortIR): string {
  return `${gw.namespace}_${gw.name}_${port.port}`.replace(/[^A-Za-z0-9_]/g, '_');
}

function tlsFilterChain(chain: TLSChainIR, mode: Mode, hcm: ReturnType<typeof pack>) {
  return {
    filterChainMatch: { serverNames: chain.serverNames },
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      configType: {
        $case: 'typedConfig' as const,
        value: pack(T.DownstreamTlsContext, {
          commonTlsContext: {
            alpnProtocols: ['h2', 'http/1.1'],
            tlsCertificateSdsSecretConfigs: chain.certificates.map((name) => sdsSecretConfig(name, mode)),
          },
        }),
      },
    },
    filters: [
      {
        name: 'envoy.filters.network.http_connection_manager',
        configType: { $case: 'typedConfig' as const, value: hcm },
      },
    ],
  };
}

function httpConnectionManager(
  gw: GatewayIR,
  port: PortIR,
  pools: Map<string, PoolIR>,
  mode: Mode,
  statPrefix: string,
): DeepPartial<HttpConnectionManager> {
  // The filter chain does not depend on which pools the routes use: a route edit must never change the
  // Listener, since Envoy drains a changed listener and cuts the requests in flight on it.
  const filters: DeepPartial<HttpFilter>[] = [stripDestinationHeaders()];
  if (gw.bodyBasedRouter) filters.push(bodyBasedRouterFilter(gw.bodyBasedRouter));
  if (gw.eppProcessingMode === 'STREAMED') filters.push(requestBuffer());
  filters.push(endpointPickerFilter(gw.eppProcessingMode));
  filters.push(servedEndpointFilter());
  filters.push({
    name: 'envoy.filters.http.router',
    configType: { $case: 'typedConfig', value: pack(T.Router, {}) },
  });
  return {
    statPrefix,
    codecType: HttpConnectionManager_CodecType.AUTO,
    routeSpecifier:
      mode === 'ads'
        ? { $case: 'rds', value: { configSource: adsSource(), routeConfigName: port.routeConfigName } }
        : { $case: 'routeConfig', value: routeConfiguration(port, pools) },
    httpFilters: filters,
    normalizePath: true,
    mergeSlashes: true,
  };
}

/** Only the EPP may name a destination: drop every inbound x-gateway-destination-endpoint* header first. */
/** Largest request body the STREAMED EPP mode buffers (larger requests get 413). */
export const STREAMED_MODE_MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/**
 * For infergate.io/epp-processing-mode STREAMED: the whole request body as one chunk, so an EPP that answers the
 * headers after the last chunk and each chunk in order (lwepp) sends its replies in the order Envoy expects.
 */
function requestBuffer(): DeepPartial<HttpFilter> {
  return {
    name: 'envoy.filters.http.buffer',
    configType: {
      $case: 'typedConfig',
      value: pack(T.Buffer, { maxRequestBytes: STREAMED_MODE_MAX_REQUEST_BYTES }),
    },
  };
}

/**
 * The served endpoint for the EPP's response phase: pool routes add the response header SERVED_ENDPOINT_HEADER =
 * %UPSTREAM_REMOTE_ADDRESS% (the host that answered, after retries), and this filter, which encodes before ext_proc,
 * moves it into dynamic metadata envoy.lb/x-gateway-destination-endpoint-served (the protocol's place for it) and
 * removes the header, so neither the client nor the EPP sees it as a header.
 */
function servedEndpointFilter(): DeepPartial<HttpFilter> {
  return {
    name: 'envoy.filters.http.header_to_metadata/served-endpoint',
    configType: {
      $case: 'typedConfig',
      value: pack(T.HeaderToMetadata, {
        responseRules: [
          {
            header: SERVED_ENDPOINT_HEADER,
            onHeaderPresent: {
              metadataNamespace: DESTINATION_METADATA_NAMESPACE,
              key: SERVED_ENDPOINT_HEADER,
            },
            remove: true,
          },
        ],
      }),
    },
  };
}

function stripDestinationHeaders(): DeepPartial<HttpFilter> {
  return {
    name: 'envoy.filters.http.header_mutation/strip-destination-endpoint',
    configType: {
      $case: 'typedConfig',
      value: pack(T.HeaderMutation, {
        mutations: {
          requestMutations: [
            {
              action: {
                $case: 'removeOnMatch',
                value: { keyMatcher: { matchPattern: { $case: 'prefix', value: DESTINATION_KEY } } },
              },
            },
          ],
        },
      }),
    },
  };
}
