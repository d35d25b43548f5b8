// Printing compiled configuration: Envoy bootstraps and per-type xDS files as YAML or JSON (proto JSON with
// .proto field names, which Envoy reads directly).

import { stringify } from 'yaml';
import type { Bootstrap } from '../../generated/envoy/config/bootstrap/v3/bootstrap';
import { BOOTSTRAP_TYPE } from './xds/bootstrap';
import type { XdsResources } from './xds';
import { renderMessage, type Json } from './xds/render';
import { T } from './xds/types';

export type Format = 'yaml' | 'json';

export function formatJson(value: Json | unknown, format: Format): string {
  if (format === 'json') return JSON.stringify(value, null, 2) + '\n';
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

export function renderBootstrap(b: Bootstrap, format: Format): string {
  return formatJson(renderMessage(BOOTSTRAP_TYPE.name, b), format);
}

/** One document per xDS type, in the discovery-response shape: {version_info?, resources: [Any...]}. */
export function renderXdsFiles(r: XdsResources, format: Format): Record<string, string> {
  const files: Record<string, string> = {};
  const one = <M>(file: string, typeName: string, typeUrl: string, items: M[]) => {
    const resources = items.map((m) => ({ '@type': typeUrl, ...(renderMessage(typeName, m) as object) }));
    files[`${file}.${format}`] = formatJson({ resources }, format);
  };
  one('listeners', T.Listener.name, T.Listener.typeUrl, r.listeners);
  one('routes', T.RouteConfiguration.name, T.RouteConfiguration.typeUrl, r.routes);
  one('clusters', T.Cluster.name, T.Cluster.typeUrl, r.clusters);
  one('endpoints', T.ClusterLoadAssignment.name, T.ClusterLoadAssignment.typeUrl, r.endpoints);
  // Only with TLS certificates: the file holds private keys (the CLI writes it readable by its owner only).
  if (r.secrets.length) one('secrets', T.Secret.name, T.Secret.typeUrl, r.secrets);
  return files;
}
