// Type URLs of the xDS resources and extension configs infergate emits, and typed packing into Any.
// The registry is the one place that maps a type URL to its ts-proto codec; rendering and validation use it
// to look inside an Any.

import type { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import type { DeepPartial } from '../../../generated/envoy/config/cluster/v3/cluster';
import { Any } from '../../../generated/google/protobuf/any';
import { Cluster } from '../../../generated/envoy/config/cluster/v3/cluster';
import { ClusterLoadAssignment } from '../../../generated/envoy/config/endpoint/v3/endpoint';
import { Listener } from '../../../generated/envoy/config/listener/v3/listener';
import { RouteConfiguration } from '../../../generated/envoy/config/route/v3/route';
import { FilterConfig } from '../../../generated/envoy/config/route/v3/route_components';
import { Secret } from '../../../generated/envoy/extensions/transport_sockets/tls/v3/secret';
import { HttpConnectionManager } from '../../../generated/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager';
import { Router } from '../../../generated/envoy/extensions/filters/http/router/v3/router';
import {
  ExternalProcessor,
  ExtProcPerRoute,
} from '../../../generated/envoy/extensions/filters/http/ext_proc/v3/ext_proc';
import { HeaderMutation } from '../../../generated/envoy/extensions/filters/http/header_mutation/v3/header_mutation';
import { Buffer as BufferFilter } from '../../../generated/envoy/extensions/filters/http/buffer/v3/buffer';
import { Config as HeaderToMetadata } from '../../../generated/envoy/extensions/filters/http/header_to_metadata/v3/header_to_metadata';
import { OverrideHost } from '../../../generated/envoy/extensions/load_balancing_policies/override_host/v3/override_host';
import { LeastRequest } from '../../../generated/envoy/extensions/load_balancing_policies/least_request/v3/least_request';
import { RoundRobin } from '../../../generated/envoy/extensions/load_balancing_policies/round_robin/v3/round_robin';
import { HttpProtocolOptions } from '../../../generated/envoy/extensions/upstreams/http/v3/http_protocol_options';
import {
  DownstreamTlsContext,
  UpstreamTlsContext,
} from '../../../generated/envoy/extensions/transport_sockets/tls/v3/tls';
import { PreviousHostsPredicate } from '../../../generated/envoy/extensions/retry/host/previous_hosts/v3/previous_hosts';

/** The slice of a ts-proto MessageFns the compiler needs. */
export interface Codec<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
  decode(input: BinaryReader | Uint8Array, length?: number): T;
  fromPartial(object: DeepPartial<T>): T;
}

export interface MessageType<T> {
  /** Full proto name, e.g. envoy.config.cluster.v3.Cluster. */
  name: string;
  typeUrl: string;
  codec: Codec<T>;
}

function messageType<T>(name: string, codec: Codec<T>): MessageType<T> {
  return { name, typeUrl: `type.googleapis.com/${name}`, codec };
}

export const T = {
  Cluster: messageType('envoy.config.cluster.v3.Cluster', Cluster),
  ClusterLoadAssignment: messageType('envoy.config.endpoint.v3.ClusterLoadAssignment', ClusterLoadAssignment),
  Listener: messageType('envoy.config.listener.v3.Listener', Listener),
  RouteConfiguration: messageType('envoy.config.route.v3.RouteConfiguration', RouteConfiguration),
  Secret: messageType('envoy.extensions.transport_sockets.tls.v3.Secret', Secret),
  FilterConfig: messageType('envoy.config.route.v3.FilterConfig', FilterConfig),
  HttpConnectionManager: messageType(
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    HttpConnectionManager,
  ),
  Router: messageType('envoy.extensions.filters.http.router.v3.Router', Router),
  ExternalProcessor: messageType(
    'envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
    ExternalProcessor,
  ),
  ExtProcPerRoute: messageType('envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', ExtProcPerRoute),
  HeaderMutation: messageType(
    'envoy.extensions.filters.http.header_mutation.v3.HeaderMutation',
    HeaderMutation,
  ),
  Buffer: messageType('envoy.extensions.filters.http.buffer.v3.Buffer', BufferFilter),
  HeaderToMetadata: messageType(
    'envoy.extensions.filters.http.header_to_metadata.v3.Config',
    HeaderToMetadata,
  ),
  OverrideHost: messageType(
    'envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost',
    OverrideHost,
  ),
  LeastRequest: messageType(
    'envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest',
    LeastRequest,
  ),
  RoundRobin: messageType('envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin', RoundRobin),
  HttpProtocolOptions: messageType(
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    HttpProtocolOptions,
  ),
  DownstreamTlsContext: messageType(
    'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
    DownstreamTlsContext,
  ),
  UpstreamTlsContext: messageType(
    'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
    UpstreamTlsContext,
  ),
  PreviousHostsPredicate: messageType(
    'envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate',
    PreviousHostsPredicate,
  ),
} as const;

const byUrl = new Map<string, MessageType<unknown>>(
  Object.values(T).map((t) => [t.typeUrl, t as MessageType<unknown>]),
);

export function typeForUrl(typeUrl: string): MessageType<unknown> | undefined {
  return byUrl.get(typeUrl);
}

export type { DeepPartial };

/** Builds a full message from a partial one (ts-proto fills defaults). */
export function make<M>(type: MessageType<M>, partial: DeepPartial<M>): M {
  return type.codec.fromPartial(partial);
}

/** Packs a message into an Any; the original object is kept so rendering and validation need not decode. */
export function pack<M>(type: MessageType<M>, partial: DeepPartial<M>): Any {
  const message = make(type, partial);
  const any = Any.fromPartial({
    typeUrl: type.typeUrl,
    value: Buffer.from(type.codec.encode(message).finish()),
  });
  unpacked.set(any, message);
  return any;
}

const unpacked = new WeakMap<Any, unknown>();

/** The message inside an Any, with its type; undefined for a type infergate does not know. */
export function unpack(any: Any): { type: MessageType<unknown>; message: unknown } | undefined {
  const type = typeForUrl(any.typeUrl);
  if (!type) return undefined;
  let message = unpacked.get(any);
  if (message === undefined) {
    message = type.codec.decode(any.value);
    unpacked.set(any, message);
  }
  return { type, message };
}
