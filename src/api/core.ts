// Core and discovery kinds (Service, EndpointSlice, Pod, Secret, Namespace). They are checked only where
// infergate reads them: their other fields are the cluster's business, so they are accepted as they come.

import { ANY, type Obj, compact, isJson } from './decode';
import { base64, ipAddress, labelValue, qualifiedName } from './formats';
import type { EndpointSlice, PodSpec, PodStatus, ServicePort, ServiceSpec } from './types';

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];

export function decodeServiceSpec(spec: Obj): ServiceSpec {
  const type = (spec.str('type', { oneOf: SERVICE_TYPES }) ?? 'ClusterIP') as ServiceSpec['type'];
  const externalName = spec.str('externalName');
  if (type === 'ExternalName' && !externalName)
    spec.error('externalName', 'required when type is ExternalName');
  const ports = spec.objList('ports', ANY)?.map((p): ServicePort =>
    compact({
      name: p.str('name'),
      protocol: p.str('protocol', { oneOf: ['TCP', 'UDP', 'SCTP'] }) ?? 'TCP',
      port: p.int('port', { required: true, min: 1, max: 65535 }) ?? 0,
      targetPort: targetPort(p),
      appProtocol: p.str('appProtocol'),
    }),
  );
  return compact({
    type,
    selector: spec.strMap('selector', { key: qualifiedName, value: labelValue }),
    clusterIP: spec.str('clusterIP'),
    externalName,
    ports,
  });
}

function targetPort(p: Obj): number | string | undefined {
  const v = p.raw.targetPort;
  if (typeof v === 'string') return p.str('targetPort', { min: 1, max: 15 });
  return p.int('targetPort', { min: 1, max: 65535 });
}

export function decodeEndpointSlice(top: Obj): Pick<EndpointSlice, 'addressType' | 'endpoints' | 'ports'> {
  const addressType = (top.str('addressType', { required: true, oneOf: ['IPv4', 'IPv6', 'FQDN'] }) ??
    'IPv4') as EndpointSlice['addressType'];
  const endpoints = (top.objList('endpoints', ANY, { required: true }) ?? []).map((e) => {
    const check = addressType === 'FQDN' ? undefined : ipAddress;
    const addresses = e.strList('addresses', { required: true, min: 1, max: 100 }, { check }) ?? [];
    const c = e.obj('conditions', ANY);
    const t = e.obj('targetRef', ANY);
    return compact({
      addresses,
      conditions:
        c &&
        compact({ ready: c.bool('ready'), serving: c.bool('serving'), terminating: c.bool('terminating') }),
      targetRef: t && compact({ kind: t.str('kind'), name: t.str('name'), namespace: t.str('namespace') }),
    });
  });
  const ports = top.objList('ports', ANY)?.map((p) =>
    compact({
      name: p.str('name'),
      port: p.int('port', { min: 1, max: 65535 }),
      protocol: p.str('protocol'),
      appProtocol: p.str('appProtocol'),
    }),
  );
  return compact({ addressType, endpoints, ports });
}

export function decodePodSpec(spec: Obj): PodSpec {
  const containers = spec.objList('containers', ANY)?.map((c) =>
    compact({
      name: c.str('name') ?? '',
      ports: c.objList('ports', ANY)?.map((p) =>
        compact({
          containerPort: p.int('containerPort', { required: true, min: 1, max: 65535 }) ?? 0,
          name: p.str('name'),
        }),
      ),
    }),
  );
  return compact({ containers });
}

export function decodePodStatus(status: Obj): PodStatus {
  const conditions = status.objList('conditions', ANY)?.map((c) => ({
    type: c.str('type', { required: true }) ?? '',
    status: (c.str('status', { required: true, oneOf: ['True', 'False', 'Unknown'] }) ?? 'Unknown') as
      'True' | 'False' | 'Unknown',
  }));
  return compact({
    podIP: status.str('podIP', { check: ipAddress }),
    podIPs: status
      .objList('podIPs', ANY)
      ?.map((p) => ({ ip: p.str('ip', { required: true, check: ipAddress }) ?? '' })),
    phase: status.str('phase'),
    conditions,
  });
}

/** Secret data, with stringData merged in as base64 (the API server does the same on write). */
export function decodeSecret(top: Obj): { type?: string; data?: Record<string, string> } {
  const type = top.str('type');
  const data = top.strMap('data', { key: secretKey, value: base64 });
  const stringData = top.strMap('stringData', { key: secretKey });
  const merged = { ...data };
  for (const [k, v] of Object.entries(stringData ?? {}))
    merged[k] = Buffer.from(v, 'utf8').toString('base64');
  if (type === 'kubernetes.io/tls') {
    // Checked on the keys as written, so a bad value is not also reported as a missing key.
    const written = [top.raw.data, top.raw.stringData].flatMap((m) => (isJson(m) ? Object.keys(m) : []));
    for (const key of ['tls.crt', 'tls.key']) {
      if (!written.includes(key))
        top.error('data', `${key} is required for a Secret of type kubernetes.io/tls`);
    }
  }
  return compact({ type, data: data || stringData ? merged : undefined });
}

function secretKey(k: string): string | undefined {
  return /^[-._a-zA-Z0-9]+$/.test(k) && k.length <= 253
    ? undefined
    : 'must consist of alphanumerics, -, _ or .';
}
