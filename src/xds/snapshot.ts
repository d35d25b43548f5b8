// Snapshots: one Gateway's (node group's) xDS resources, typed by type URL, each resource serialized and
// hashed once. A resource's version is the hash of its bytes; a type's version is the hash of its
// (name, version) pairs, so an unchanged resource keeps its version across rebuilds. Pure: no I/O, no clock.

import { createHash } from 'node:crypto';
import type { Cluster } from '../../generated/envoy/config/cluster/v3/cluster';
import { Cluster_DiscoveryType } from '../../generated/envoy/config/cluster/v3/cluster';
import type { ClusterLoadAssignment } from '../../generated/envoy/config/endpoint/v3/endpoint';
import type { Listener } from '../../generated/envoy/config/listener/v3/listener';
import type { RouteConfiguration } from '../../generated/envoy/config/route/v3/route';
import type { Secret } from '../../generated/envoy/extensions/transport_sockets/tls/v3/secret';
import type { TransportSocket } from '../../generated/envoy/config/core/v3/base';
import type {
  DownstreamTlsContext,
  UpstreamTlsContext,
} from '../../generated/envoy/extensions/transport_sockets/tls/v3/tls';
import type { HttpConnectionManager } from '../../generated/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager';
import { Any } from '../../generated/google/protobuf/any';
import { T, unpack } from '../compiler/xds/types';
import { PUSH_ORDER, XDS, type XdsType } from './resource-types';

export interface VersionedResource {
  name: string;
  /** Hash of the serialized resource. */
  version: string;
  /** The serialized resource, ready to send. */
  any: Any;
  /** The decoded message (for consistency checks and /debug). */
  message: unknown;
}

export interface TypeSnapshot {
  typeUrl: string;
  /** Hash of the sorted (name, version) pairs (an empty type has a version too). */
  version: string;
  resources: ReadonlyMap<string, VersionedResource>;
}

export interface Snapshot {
  group: string;
  /** Hash of every type's version. */
  version: string;
  types: ReadonlyMap<string, TypeSnapshot>;
}

/** What a snapshot is built from: the compiler's per-Gateway output (secrets optional for hand-built tests). */
export interface SnapshotResources {
  listeners: Listener[];
  routes: RouteConfiguration[];
  clusters: Cluster[];
  endpoints: ClusterLoadAssignment[];
  secrets?: Secret[];
}

export function hash(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('base64url').slice(0, 16);
}

// The same message object is never encoded twice (the endpoint fast path reuses the other types' objects).
const encoded = new WeakMap<object, VersionedResource>();

export function versioned<M>(type: XdsType<M>, message: M): VersionedResource {
  const cached = encoded.get(message as object);
  if (cached) return cached;
  const bytes = Buffer.from(type.message.codec.encode(message).finish());
  const entry: VersionedResource = {
    name: type.nameOf(message),
    version: hash(bytes),
    any: Any.fromPartial({ typeUrl: type.typeUrl, value: bytes }),
    message,
  };
  encoded.set(message as object, entry);
  return entry;
}

export function typeSnapshot<M>(type: XdsType<M>, messages: readonly M[]): TypeSnapshot {
  const entries = messages.map((m) => versioned(type, m)).sort((a, b) => (a.name < b.name ? -1 : 1));
  const resources = new Map<string, VersionedResource>();
  for (const e of entries) {
    if (resources.has(e.name)) throw new Error(`duplicate ${type.short} ${JSON.stringify(e.name)}`);
    resources.set(e.name, e);
  }
  const version = hash(entries.map((e) => `${e.name}\0${e.version}`).join('\n'));
  return { typeUrl: type.typeUrl, version, resources };
}

export function assemble(group: string, types: TypeSnapshot[]): Snapshot {
  const ordered = [...types].sort((a, b) => PUSH_ORDER.indexOf(a.typeUrl) - PUSH_ORDER.indexOf(b.typeUrl));
  const map = new Map(ordered.map((t) => [t.typeUrl, t]));
  return { group, version: hash(ordered.map((t) => `${t.typeUrl}=${t.version}`).join('\n')), types: map };
}

export function buildSnapshot(group: string, r: SnapshotResources): Snapshot {
  return assemble(group, [
    typeSnapshot(XDS.Secret, r.secrets ?? []),
    typeSnapshot(XDS.Cluster, r.clusters),
    typeSnapshot(XDS.ClusterLoadAssignment, r.endpoints),
    typeSnapshot(XDS.Listener, r.listeners),
    typeSnapshot(XDS.RouteConfiguration, r.routes),
  ]);
}

/** A new snapshot with some types replaced; the others are shared with `base` (same versions, no re-encoding). */
export function replaceTypes(base: Snapshot, types: TypeSnapshot[]): Snapshot {
  const merged = new Map(base.types);
  for (const t of types) merged.set(t.typeUrl, t);
  return assemble(base.group, [...merged.values()]);
}

export function resourcesOf<M>(snapshot: Snapshot, type: XdsType<M>): M[] {
  const t = snapshot.types.get(type.typeUrl);
  return t ? [...t.resources.values()].map((r) => r.message as M) : [];
}

/**
 * go-control-plane's Snapshot.Consistent, both ways: every ClusterLoadAssignment is named by an EDS cluster and
 * every EDS cluster has one; every RouteConfiguration is named by a listener's RDS and every RDS name exists;
 * every Secret is named by an SDS-over-ADS reference of a listener or cluster and every such name exists.
 * An inconsistent snapshot would leave Envoy warming a cluster or listener forever.
 */
export function consistencyProblems(snapshot: Snapshot): string[] {
  const problems: string[] = [];
  const edsNames = new Set(resourcesOf(snapshot, XDS.Cluster).flatMap(edsServiceName));
  const rdsNames = new Set(resourcesOf(snapshot, XDS.Listener).flatMap(rdsRouteNames));
  const claNames = new Set(snapshot.types.get(XDS.ClusterLoadAssignment.typeUrl)?.resources.keys() ?? []);
  const routeNames = new Set(snapshot.types.get(XDS.RouteConfiguration.typeUrl)?.resources.keys() ?? []);
  for (const n of claNames) {
    if (!edsNames.has(n))
      problems.push(`ClusterLoadAssignment ${JSON.stringify(n)} is named by no EDS cluster`);
  }
  for (const n of edsNames) {
    if (!claNames.has(n)) problems.push(`EDS cluster ${JSON.stringify(n)} has no ClusterLoadAssignment`);
  }
  for (const n of routeNames) {
    if (!rdsNames.has(n)) problems.push(`RouteConfiguration ${JSON.stringify(n)} is named by no listener`);
  }
  for (const n of rdsNames) {
    if (!routeNames.has(n))
      problems.push(`listener RDS names missing RouteConfiguration ${JSON.stringify(n)}`);
  }
  const sdsNames = new Set([
    ...resourcesOf(snapshot, XDS.Listener).flatMap((l) =>
      filterChainsOf(l).flatMap((c) => sdsSecretNames(c.transportSocket)),
    ),
    ...resourcesOf(snapshot, XDS.Cluster).flatMap((c) => sdsSecretNames(c.transportSocket)),
  ]);
  const secretNames = new Set(snapshot.types.get(XDS.Secret.typeUrl)?.resources.keys() ?? []);
  for (const n of secretNames) {
    if (!sdsNames.has(n)) problems.push(`Secret ${JSON.stringify(n)} is named by no listener or cluster`);
  }
  for (const n of sdsNames) {
    if (!secretNames.has(n)) problems.push(`SDS names missing Secret ${JSON.stringify(n)}`);
  }
  return problems;
}

function filterChainsOf(l: Listener) {
  return [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])];
}

/** Names a TLS transport socket fetches over SDS (ADS); static secret names are not served by us. */
function sdsSecretNames(socket: TransportSocket | undefined): string[] {
  if (socket?.configType?.$case !== 'typedConfig') return [];
  const any = socket.configType.value;
  if (any.typeUrl !== T.DownstreamTlsContext.typeUrl && any.typeUrl !== T.UpstreamTlsContext.typeUrl)
    return [];
  const tls = unpack(any)?.message as DownstreamTlsContext | UpstreamTlsContext | undefined;
  const common = tls?.commonTlsContext;
  if (!common) return [];
  const configs = [...common.tlsCertificateSdsSecretConfigs];
  const validation = common.validationContextType;
  if (validation?.$case === 'validationContextSdsSecretConfig') configs.push(validation.value);
  return configs.filter((c) => c.sdsConfig !== undefined).map((c) => c.name);
}

function edsServiceName(c: Cluster): string[] {
  const type = c.clusterDiscoveryType;
  if (type?.$case !== 'type' || type.value !== Cluster_DiscoveryType.EDS) return [];
  return [c.edsClusterConfig?.serviceName || c.name];
}

function rdsRouteNames(l: Listener): string[] {
  const names: string[] = [];
  for (const chain of filterChainsOf(l)) {
    for (const f of chain.filters) {
      if (f.configType?.$case !== 'typedConfig') continue;
      if (f.configType.value.typeUrl !== T.HttpConnectionManager.typeUrl) continue;
      const hcm = unpack(f.configType.value)?.message as HttpConnectionManager | undefined;
      if (hcm?.routeSpecifier?.$case === 'rds') names.push(hcm.routeSpecifier.value.routeConfigName);
    }
  }
  return names;
}
