// One Listener per Gateway port, with an HTTP connection manager whose filter chain is:
//   header_mutation (strip client-sent destination headers) → one ext_proc per InferencePool (disabled unless a
//   route re-enables it) → router.
// HTTPS ports get one filter chain per Gateway listener, matched by SNI, each terminating TLS.

import type { Listener } from '../../../generated/envoy/config/listener/v3/listener';
import type { HttpFilter } from '../../../generated/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager';
import {
  HttpConnectionManager_CodecType,
  type HttpConnectionManager,
} from '../../../generated/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager';
import {
  ProcessingMode_BodySendMode,
  ProcessingMode_HeaderSendMode,
} from '../../../generated/envoy/extensions/filters/http/ext_proc/v3/processing_mode';
import type { BodyBasedRouterIR, GatewayIR, PoolIR, PortIR, TLSChainIR } from '../ir';
import { adsSource, seconds, socketAddress, type Mode } from './common';
import { DESTINATION_KEY, DESTINATION_METADATA_NAMESPACE } from './cluster';
import { routeConfiguration } from './route';
import { make, pack, T, type DeepPartial } from './types';

export const BBR_FILTER_NAME = 'envoy.filters.http.ext_proc/body-based-router';

/** The GIE protocol's data-plane → EPP subset hint namespace. */
export const SUBSET_HINT_NAMESPACE = 'envoy.lb.subset_hint';

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
      ? (port.tls ?? []).map((chain) => tlsFilterChain(chain, hcm(`${base}_${chain.listener}`)))
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
    filterChains: chains,
  });
}

function statPrefixOf(gw: GatewayIR, port: PortIR): string {
  return `${gw.namespace}_${gw.name}_${port.port}`.replace(/[^A-Za-z0-9_]/g, '_');
}

function tlsFilterChain(chain: TLSChainIR, hcm: ReturnType<typeof pack>) {
  return {
    filterChainMatch: { serverNames: chain.serverNames },
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      configType: {
        $case: 'typedConfig' as const,
        value: pack(T.DownstreamTlsContext, {
          commonTlsContext: {
            alpnProtocols: ['h2', 'http/1.1'],
            tlsCertificates: chain.certificates.map((c) => ({
              certificateChain: { specifier: { $case: 'inlineString' as const, value: c.certificateChain } },
              privateKey: { specifier: { $case: 'inlineString' as const, value: c.privateKey } },
            })),
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
  const filters: DeepPartial<HttpFilter>[] = [];
  const pickers = gw.pools.filter((p) => p.endpointPicker);
  if (gw.pools.length) filters.push(stripDestinationHeaders());
  if (gw.bodyBasedRouter) filters.push(bodyBasedRouterFilter(gw.bodyBasedRouter));
  for (const p of pickers) filters.push(extProcFilter(p));
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

/** The BBR copies the body's model into X-Gateway-Model-Name (and its base model) and clears the route cache. */
function bodyBasedRouterFilter(bbr: BodyBasedRouterIR): DeepPartial<HttpFilter> {
  return {
    name: BBR_FILTER_NAME,
    configType: {
      $case: 'typedConfig',
      value: pack(T.ExternalProcessor, {
        grpcService: {
          targetSpecifier: {
            $case: 'envoyGrpc',
            value: { clusterName: bbr.clusterName, authority: bbr.authority },
          },
          timeout: seconds(10),
        },
        // A request whose model cannot be read must not silently match the wrong route.
        failureModeAllow: false,
        processingMode: {
          requestHeaderMode: ProcessingMode_HeaderSendMode.SEND,
          responseHeaderMode: ProcessingMode_HeaderSendMode.SKIP,
          requestBodyMode: ProcessingMode_BodySendMode.FULL_DUPLEX_STREAMED,
          responseBodyMode: ProcessingMode_BodySendMode.NONE,
          requestTrailerMode: ProcessingMode_HeaderSendMode.SEND,
          responseTrailerMode: ProcessingMode_HeaderSendMode.SKIP,
        },
        messageTimeout: seconds(1000),
      }),
    },
  };
}

/**
 * The Endpoint Picker for one pool, per the GIE protocol: headers and trailers SEND, bodies FULL_DUPLEX_STREAMED,
 * the subset hint forwarded, and envoy.lb dynamic metadata accepted from the EPP. Disabled here and re-enabled
 * only on routes to this pool, so other routes never talk to it.
 */
function extProcFilter(p: PoolIR): DeepPartial<HttpFilter> {
  const epp = p.endpointPicker!;
  return {
    name: p.filterName,
    disabled: true,
    configType: {
      $case: 'typedConfig',
      value: pack(T.ExternalProcessor, {
        grpcService: {
          targetSpecifier: {
            $case: 'envoyGrpc',
            value: { clusterName: epp.clusterName, authority: epp.authority },
          },
          timeout: seconds(10),
        },
        failureModeAllow: epp.failOpen,
        // The endpoint that actually served the request (after retries), for the EPP's completion hooks: Envoy
        // has no filter that writes envoy.lb/x-gateway-destination-endpoint-served, but it reports this attribute.
        responseAttributes: ['upstream.address'],
        processingMode: {
          requestHeaderMode: ProcessingMode_HeaderSendMode.SEND,
          responseHeaderMode: ProcessingMode_HeaderSendMode.SEND,
          requestBodyMode: ProcessingMode_BodySendMode.FULL_DUPLEX_STREAMED,
          responseBodyMode: ProcessingMode_BodySendMode.FULL_DUPLEX_STREAMED,
          requestTrailerMode: ProcessingMode_HeaderSendMode.SEND,
          responseTrailerMode: ProcessingMode_HeaderSendMode.SEND,
        },
        messageTimeout: seconds(1000),
        metadataOptions: {
          forwardingNamespaces: { untyped: [DESTINATION_METADATA_NAMESPACE, SUBSET_HINT_NAMESPACE] },
          receivingNamespaces: { untyped: [DESTINATION_METADATA_NAMESPACE] },
        },
      }),
    },
  };
}
