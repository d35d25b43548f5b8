// The xDS resource types the server serves, keyed by type URL, in ADS push order (make-before-break:
// clusters, then their endpoints, then listeners, then their routes; secrets first so listeners never wait).

import type { Cluster } from '../../generated/envoy/config/cluster/v3/cluster';
import type { ClusterLoadAssignment } from '../../generated/envoy/config/endpoint/v3/endpoint';
import type { Listener } from '../../generated/envoy/config/listener/v3/listener';
import type { RouteConfiguration } from '../../generated/envoy/config/route/v3/route';
import type { Secret } from '../../generated/envoy/extensions/transport_sockets/tls/v3/secret';
import { T, type MessageType } from '../compiler/xds/types';

/** One xDS resource type: its message type (type URL + codec) and how to name a resource of it. */
export interface XdsType<M> {
  /** Short name used in logs, metrics and /debug: "Cluster", "ClusterLoadAssignment", ... */
  short: string;
  message: MessageType<M>;
  typeUrl: string;
  nameOf(resource: M): string;
  /** SotW sends every resource of a full-state type in each response; removal is by omission. */
  fullState: boolean;
}

function xdsType<M>(short: string, message: MessageType<M>, nameOf: (m: M) => string, fullState: boolean) {
  return { short, message, typeUrl: message.typeUrl, nameOf, fullState } satisfies XdsType<M>;
}

export const XDS = {
  Secret: xdsType<Secret>('Secret', T.Secret, (m) => m.name, false),
  Cluster: xdsType<Cluster>('Cluster', T.Cluster, (m) => m.name, true),
  ClusterLoadAssignment: xdsType<ClusterLoadAssignment>(
    'ClusterLoadAssignment',
    T.ClusterLoadAssignment,
    (m) => m.clusterName,
    false,
  ),
  Listener: xdsType<Listener>('Listener', T.Listener, (m) => m.name, true),
  RouteConfiguration: xdsType<RouteConfiguration>(
    'RouteConfiguration',
    T.RouteConfiguration,
    (m) => m.name,
    false,
  ),
} as const;

export type AnyXdsType = (typeof XDS)[keyof typeof XDS];

/** Push order for ADS. Removals go out after every update, users before what they use. */
export const PUSH_ORDER: readonly string[] = [
  XDS.Secret.typeUrl,
  XDS.Cluster.typeUrl,
  XDS.ClusterLoadAssignment.typeUrl,
  XDS.Listener.typeUrl,
  XDS.RouteConfiguration.typeUrl,
];
export const REMOVAL_ORDER: readonly string[] = [
  XDS.Listener.typeUrl,
  XDS.RouteConfiguration.typeUrl,
  XDS.Cluster.typeUrl,
  XDS.ClusterLoadAssignment.typeUrl,
  XDS.Secret.typeUrl,
];

const byUrl = new Map<string, XdsType<unknown>>(
  Object.values(XDS).map((t) => [t.typeUrl, t as unknown as XdsType<unknown>]),
);

export function xdsTypeForUrl(typeUrl: string): XdsType<unknown> | undefined {
  return byUrl.get(typeUrl);
}

export function shortType(typeUrl: string): string {
  return byUrl.get(typeUrl)?.short ?? typeUrl;
}

export function pushRank(typeUrl: string): number {
  const i = PUSH_ORDER.indexOf(typeUrl);
  return i < 0 ? PUSH_ORDER.length : i;
}
