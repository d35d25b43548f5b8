// The endpoint fast path: when an input change touches only Pods or EndpointSlices and stage 1's IR differs
// only in endpoints, just the ClusterLoadAssignments are rebuilt; listener, route and cluster resources (and
// their versions) stay the very same objects.

import type { ClusterLoadAssignment } from '../../generated/envoy/config/endpoint/v3/endpoint';
import type { ResourceSet } from '../api/types';
import type { GatewayIR } from '../compiler/ir';
import { loadAssignment } from '../compiler/xds/cluster';

const ENDPOINT_KINDS: (keyof ResourceSet)[] = ['pods', 'endpointSlices'];

/** True when the two inputs differ at most in Pods and EndpointSlices. */
export function onlyEndpointsChanged(before: ResourceSet, after: ResourceSet): boolean {
  for (const kind of Object.keys(after) as (keyof ResourceSet)[]) {
    if (ENDPOINT_KINDS.includes(kind)) continue;
    if (JSON.stringify(before[kind]) !== JSON.stringify(after[kind])) return false;
  }
  return true;
}

/** The Gateway's IR with every endpoint list blanked: equal signatures mean only endpoints changed. */
export function shapeOf(gw: GatewayIR): string {
  return JSON.stringify({
    ...gw,
    clusters: gw.clusters.map((c) => ({ ...c, endpoints: [] })),
    pools: gw.pools.map((p) => ({
      ...p,
      endpoints: [],
      endpointPicker: p.endpointPicker && { ...p.endpointPicker, endpoints: [] },
    })),
  });
}

/** The Gateway's ClusterLoadAssignments, as compiler stage 2 builds them in ads mode. */
export function loadAssignments(gw: GatewayIR): ClusterLoadAssignment[] {
  const out: ClusterLoadAssignment[] = [];
  for (const c of gw.clusters) out.push(loadAssignment(c.name, c.endpoints));
  for (const p of gw.pools) {
    out.push(loadAssignment(p.clusterName, p.endpoints));
    if (p.endpointPicker) out.push(loadAssignment(p.endpointPicker.clusterName, p.endpointPicker.endpoints));
  }
  return out.sort((a, b) => (a.clusterName < b.clusterName ? -1 : a.clusterName > b.clusterName ? 1 : 0));
}
