// The ext_proc HTTP filters infergate emits: the body-based router (ahead of route matching) and the Endpoint
// Picker (one shared filter, enabled per route with that route's pool).

import type { HttpFilter } from '../../../generated/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager';
import {
  ProcessingMode_BodySendMode,
  ProcessingMode_HeaderSendMode,
} from '../../../generated/envoy/extensions/filters/http/ext_proc/v3/processing_mode';
import type { BodyBasedRouterIR } from '../ir';
import { DESTINATION_METADATA_NAMESPACE } from './cluster';
import { seconds } from './common';
import { pack, T, type DeepPartial } from './types';

export const BBR_FILTER_NAME = 'envoy.filters.http.ext_proc/body-based-router';
export const EPP_FILTER_NAME = 'envoy.filters.http.ext_proc/endpoint-picker';
const EPP_PLACEHOLDER_CLUSTER = 'infergate_epp_unset';

/** The GIE protocol's data-plane → EPP subset hint namespace. */
export const SUBSET_HINT_NAMESPACE = 'envoy.lb.subset_hint';

/** The BBR copies the body's model into X-Gateway-Model-Name (and its base model) and clears the route cache. */
export function bodyBasedRouterFilter(bbr: BodyBasedRouterIR): DeepPartial<HttpFilter> {
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
 * The Endpoint Picker, per the GIE protocol: headers and trailers SEND, bodies FULL_DUPLEX_STREAMED, the subset
 * hint forwarded, envoy.lb dynamic metadata accepted from the EPP. One filter for every pool, disabled here; each
 * route to a pool re-enables it with that pool's EPP cluster and failure mode (ExtProcPerRoute overrides), so
 * other routes never talk to an EPP and adding or removing pools only touches routes and clusters.
 */
export function endpointPickerFilter(mode?: 'STREAMED'): DeepPartial<HttpFilter> {
  return {
    name: EPP_FILTER_NAME,
    disabled: true,
    configType: {
      $case: 'typedConfig',
      value: pack(T.ExternalProcessor, {
        // Never dialled: every route that enables the filter names its pool's EPP cluster.
        grpcService: eppGrpcService(EPP_PLACEHOLDER_CLUSTER, EPP_PLACEHOLDER_CLUSTER),
        failureModeAllow: false,
        // The endpoint that actually served the request (after retries), for the EPP's completion hooks: Envoy
        // has no filter that writes envoy.lb/x-gateway-destination-endpoint-served, but it reports this attribute.
        responseAttributes: ['upstream.address'],
        processingMode: {
          requestHeaderMode: ProcessingMode_HeaderSendMode.SEND,
          responseHeaderMode: ProcessingMode_HeaderSendMode.SEND,
          ...(mode === 'STREAMED'
            ? {
                requestBodyMode: ProcessingMode_BodySendMode.STREAMED,
                responseBodyMode: ProcessingMode_BodySendMode.STREAMED,
              }
            : {
                requestBodyMode: ProcessingMode_BodySendMode.FULL_DUPLEX_STREAMED,
                responseBodyMode: ProcessingMode_BodySendMode.FULL_DUPLEX_STREAMED,
                // Envoy requires trailers SEND with FULL_DUPLEX_STREAMED bodies.
                requestTrailerMode: ProcessingMode_HeaderSendMode.SEND,
                responseTrailerMode: ProcessingMode_HeaderSendMode.SEND,
              }),
        },
        // STREAMED: such EPPs answer the headers only once they have the whole body (the buffer filter ahead hands
        // it over as one chunk), so Envoy must not wait for that answer before sending the body.
        ...(mode === 'STREAMED' ? { sendBodyWithoutWaitingForHeaderResponse: true } : {}),
        messageTimeout: seconds(1000),
        metadataOptions: {
          forwardingNamespaces: { untyped: [DESTINATION_METADATA_NAMESPACE, SUBSET_HINT_NAMESPACE] },
          receivingNamespaces: { untyped: [DESTINATION_METADATA_NAMESPACE] },
        },
      }),
    },
  };
}

/** The ext_proc gRPC service of one pool's Endpoint Picker. */
export function eppGrpcService(clusterName: string, authority: string) {
  return {
    targetSpecifier: { $case: 'envoyGrpc' as const, value: { clusterName, authority } },
    timeout: seconds(10),
  };
}
