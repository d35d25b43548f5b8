// Service backends: backendRef → ServiceClusterIR, with endpoints from EndpointSlices (else the clusterIP).
// Also classifies any backendRef (Service, InferencePool, other kinds) so rules and mirrors share the checks,
// including whether a ReferenceGrant lets the route reach a backend in another namespace.

import type { BackendObjectReference, InferencePool, Service, ServicePort } from '../../api/types';
import { GATEWAY_GROUP, INFERENCE_GROUP, INFERENCE_X_GROUP } from '../../api/types';
import type { EndpointIR, ServiceClusterIR } from '../ir';
import type { Context } from './context';
import { compareStrings, namespaceOf } from './context';
import { type Referrer, referencePermitted, refNotPermitted } from './referencegrants';

export type Resolved<T> = { ok: true; value: T } | { ok: false; reason: string; message: string };

export type BackendKind = 'Service' | 'InferencePool';

/** The namespace a backendRef points into: its own, else the route's. */
export function backendNamespace(ref: BackendObjectReference, routeNs: string): string {
  return ref.namespace ?? routeNs;
}

/**
 * Group/kind checks common to every backendRef of an HTTPRoute, and the ReferenceGrant check for one in another
 * namespace; returns which kind it is.
 */
export function classifyBackendRef(
  ctx: Context,
  ref: BackendObjectReference,
  routeNs: string,
): Resolved<BackendKind> {
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Service';
  let backendKind: BackendKind;
  if (group === '' && kind === 'Service') backendKind = 'Service';
  else if ((group === INFERENCE_GROUP || group === INFERENCE_X_GROUP) && kind === 'InferencePool') {
    backendKind = 'InferencePool';
  } else {
    return {
      ok: false,
      reason: 'InvalidKind',
      message: `backend kind ${group || 'core'}/${kind} is not supported`,
    };
  }
  const from: Referrer = { group: GATEWAY_GROUP, kind: 'HTTPRoute', namespace: routeNs };
  const to = { group, kind, namespace: backendNamespace(ref, routeNs), name: ref.name };
  if (!referencePermitted(ctx.referenceGrants, from, to)) {
    return { ok: false, reason: 'RefNotPermitted', message: refNotPermitted('backendRef', from, to) };
  }
  return { ok: true, value: backendKind };
}

/** An InferencePool backendRef (already classified, so permitted) → the pool. */
export function resolvePoolBackend(
  ctx: Context,
  ref: BackendObjectReference,
  routeNs: string,
): Resolved<InferencePool> {
  const key = `${backendNamespace(ref, routeNs)}/${ref.name}`;
  const pool = ctx.pools.get(key);
  if (!pool) return { ok: false, reason: 'BackendNotFound', message: `InferencePool ${key} not found` };
  return { ok: true, value: pool };
}

function compareIPs(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  if (pa.length === 4 && pb.length === 4 && [...pa, ...pb].every((p) => /^\d+$/.test(p))) {
    for (let i = 0; i < 4; i++) {
      const d = Number(pa[i]) - Number(pb[i]);
      if (d !== 0) return d;
    }
    return 0;
  }
  return compareStrings(a, b);
}

/** Sorted by address then port, duplicates removed. */
export function sortEndpoints(endpoints: EndpointIR[]): EndpointIR[] {
  const seen = new Set<string>();
  return endpoints
    .filter((e) => {
      const k = `${e.address}:${e.port}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => compareIPs(a.address, b.address) || a.port - b.port);
}

/** Ready endpoints of a Service port: EndpointSlices labelled with the Service, else its clusterIP. */
export function serviceEndpoints(ctx: Context, service: Service, port: ServicePort): EndpointIR[] {
  const ns = namespaceOf(service.metadata);
  const slices = ctx.slicesByService.get(`${ns}/${service.metadata.name}`);
  if (!slices || slices.length === 0) {
    const ip = service.spec.clusterIP;
    return ip && ip !== 'None' ? [{ address: ip, port: port.port }] : [];
  }
  const out: EndpointIR[] = [];
  for (const slice of slices) {
    if (slice.addressType === 'FQDN') continue;
    const ports = slice.ports ?? [];
    const slicePort =
      ports.find((p) => (p.name ?? '') === (port.name ?? '')) ?? (ports.length === 1 ? ports[0] : undefined);
    if (slicePort?.port === undefined) continue;
    for (const ep of slice.endpoints ?? []) {
      if (ep.conditions?.ready === false) continue;
      for (const address of ep.addresses ?? []) {
        out.push({
          address,
          port: slicePort.port,
          ...(ep.targetRef?.name ? { name: ep.targetRef.name } : {}),
        });
      }
    }
  }
  return sortEndpoints(out);
}

export function isH2C(appProtocol: string | undefined): boolean {
  return appProtocol === 'kubernetes.io/h2c' || appProtocol === 'h2c';
}

/** A Service backendRef (already classified, so permitted) → its cluster, cached across routes and Gateways. */
export function resolveServiceCluster(
  ctx: Context,
  ref: BackendObjectReference,
  routeNs: string,
): Resolved<ServiceClusterIR> {
  const namespace = backendNamespace(ref, routeNs);
  const key = `${namespace}/${ref.name}`;
  const service = ctx.services.get(key);
  if (!service) return { ok: false, reason: 'BackendNotFound', message: `Service ${key} not found` };
  if (ref.port === undefined) {
    return { ok: false, reason: 'BackendNotFound', message: `backendRef to Service ${key} has no port` };
  }
  const port = (service.spec.ports ?? []).find((p) => p.port === ref.port);
  if (!port) {
    return { ok: false, reason: 'BackendNotFound', message: `Service ${key} has no port ${ref.port}` };
  }
  const name = `service/${key}/${port.port}`;
  let cluster = ctx.clusterCache.get(name);
  if (!cluster) {
    cluster = {
      name,
      namespace,
      service: ref.name,
      port: port.port,
      protocol: isH2C(port.appProtocol) ? 'h2c' : 'http1',
      endpoints: serviceEndpoints(ctx, service, port),
    };
    ctx.clusterCache.set(name, cluster);
  }
  return { ok: true, value: cluster };
}
