// InferencePools: members (Ready pods × targetPorts, active-ports honoured), the endpoint picker (EPP) Service,
// and the pool's own validity (ResolvedRefs / InvalidExtensionRef).

import type { InferencePool, Pod } from '../../api/types';
import { ACTIVE_PORTS_ANNOTATION } from '../../api/types';
import type { EndpointIR, EndpointPickerIR, PoolIR } from '../ir';
import { serviceEndpoints, sortEndpoints } from './backends';
import type { Context } from './context';
import { namespaceOf, nsName, warn } from './context';

export interface PoolState {
  pool: InferencePool;
  ir: PoolIR;
  /** Undefined when the endpointPickerRef resolved (or there is none); else why not. */
  invalidExtensionRef?: string;
}

/** Only used in the authority of an EPP that cannot be reached anyway (a ref without a port). */
const CONVENTIONAL_EPP_PORT = 9002;

function isReady(pod: Pod): boolean {
  return (
    pod.metadata.deletionTimestamp === undefined &&
    !!pod.status?.podIP &&
    (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

function activePorts(pod: Pod, targetPorts: number[]): number[] {
  const annotation = pod.metadata.annotations?.[ACTIVE_PORTS_ANNOTATION];
  if (annotation === undefined) return targetPorts;
  const active = new Set(
    annotation
      .split(',')
      .map((s) => s.trim())
      .filter((s) => /^\d+$/.test(s))
      .map(Number),
  );
  return targetPorts.filter((p) => active.has(p));
}

function poolEndpoints(ctx: Context, pool: InferencePool, targetPorts: number[]): EndpointIR[] {
  const wanted = Object.entries(pool.spec.selector?.matchLabels ?? {});
  // An empty selector would select every pod in the namespace; the CRD forbids it, so select nothing.
  if (wanted.length === 0) return [];
  const pods = ctx.podsByNamespace.get(namespaceOf(pool.metadata)) ?? [];
  const out: EndpointIR[] = [];
  for (const pod of pods) {
    const labels = pod.metadata.labels ?? {};
    if (!wanted.every(([k, v]) => labels[k] === v) || !isReady(pod)) continue;
    for (const port of activePorts(pod, targetPorts)) {
      out.push({ address: pod.status?.podIP ?? '', port, name: pod.metadata.name });
    }
  }
  return sortEndpoints(out);
}

/** On the EPP Service: `grpc` health-checks the ext_proc port with the gRPC health protocol (infergate's EPP). */
export const EPP_HEALTH_CHECK_ANNOTATION = 'infergate.io/epp-health-check';

/** The EPP, or why it is unusable (then it has no endpoints and fails closed so requests get a 5xx). */
function endpointPicker(ctx: Context, pool: InferencePool): { picker?: EndpointPickerIR; invalid?: string } {
  const ref = pool.spec.endpointPickerRef;
  if (!ref) return {};
  const ns = namespaceOf(pool.metadata);
  const port = ref.port?.number;
  const base: EndpointPickerIR = {
    clusterName: `epp/${ns}/${pool.metadata.name}`,
    authority: `${ref.name}.${ns}.svc:${port ?? CONVENTIONAL_EPP_PORT}`,
    service: ref.name,
    port: port ?? CONVENTIONAL_EPP_PORT,
    failOpen: ref.failureMode === 'FailOpen',
    tls: false,
    healthCheck: 'tcp',
    endpoints: [],
  };
  const broken = (invalid: string) => ({ picker: { ...base, failOpen: false }, invalid });
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Service';
  if (group !== '' || kind !== 'Service') {
    return broken(`endpointPickerRef kind ${group || 'core'}/${kind} is not supported`);
  }
  if (port === undefined) return broken('endpointPickerRef.port is required for a Service');
  const service = ctx.services.get(`${ns}/${ref.name}`);
  if (!service) return broken(`endpoint picker Service ${ns}/${ref.name} not found`);
  if (service.spec.type === 'ExternalName') {
    return broken(`endpoint picker Service ${ns}/${ref.name} is an ExternalName Service`);
  }
  const servicePort = (service.spec.ports ?? []).find((p) => p.port === port);
  if (!servicePort) return broken(`endpoint picker Service ${ns}/${ref.name} has no port ${port}`);
  // TLS without verification, as every gateway dials an EPP (upstream's EPP and lwepp serve a self-signed
  // certificate by default), unless the port declares cleartext HTTP/2 with the standard appProtocol.
  const tls = servicePort.appProtocol !== 'kubernetes.io/h2c';
  const check = service.metadata.annotations?.[EPP_HEALTH_CHECK_ANNOTATION];
  if (check !== undefined && check !== 'grpc' && check !== 'tcp')
    warn(
      ctx,
      pool,
      'spec.endpointPickerRef',
      `endpoint picker Service ${ns}/${ref.name}: annotation ${EPP_HEALTH_CHECK_ANNOTATION} must be grpc or tcp, got ${JSON.stringify(check)}; using tcp`,
    );
  const healthCheck = check === 'grpc' ? 'grpc' : 'tcp';
  return { picker: { ...base, tls, healthCheck, endpoints: serviceEndpoints(ctx, service, servicePort) } };
}

/** The pool's IR and validity, computed once per pool whatever the number of routes using it. */
export function resolvePool(ctx: Context, pool: InferencePool): PoolState {
  const key = nsName(pool.metadata);
  const cached = ctx.poolCache.get(key);
  if (cached) return cached;
  const targetPorts = [...new Set((pool.spec.targetPorts ?? []).map((p) => p.number))];
  const { picker, invalid } = endpointPicker(ctx, pool);
  if (invalid) warn(ctx, pool, 'spec.endpointPickerRef', invalid);
  const ir: PoolIR = {
    key,
    namespace: namespaceOf(pool.metadata),
    name: pool.metadata.name,
    clusterName: `inferencepool/${key}`,
    protocol: pool.spec.appProtocol === 'kubernetes.io/h2c' ? 'h2c' : 'http1',
    targetPorts,
    endpoints: poolEndpoints(ctx, pool, targetPorts),
    ...(picker ? { endpointPicker: picker } : {}),
  };
  const state: PoolState = { pool, ir, ...(invalid ? { invalidExtensionRef: invalid } : {}) };
  ctx.poolCache.set(key, state);
  return state;
}
