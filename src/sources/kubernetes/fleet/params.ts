// The knobs of a managed Envoy fleet: a GatewayClass `parametersRef` ConfigMap (and a Gateway's
// `spec.infrastructure.parametersRef`, which overrides it key by key). Every key is checked; one bad key makes the
// whole ConfigMap invalid, reported with every problem, and the fleet keeps what it last applied.

export const ENVOY_IMAGE = 'docker.io/envoyproxy/envoy:v1.40.0';

export interface ResourceRequirements {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

export interface FleetParams {
  replicas: number;
  image: string;
  serviceType: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  resources: ResourceRequirements;
  logLevel: string;
  /** Envoy's admin interface on 127.0.0.1; 0 lets Envoy pick a free port (several Envoys sharing a host). */
  adminPort: number;
  /** The static listener the readiness probe asks (GET /ready), never exposed by the Service. */
  readyPort: number;
}

export const DEFAULT_PARAMS: FleetParams = {
  replicas: 1,
  image: ENVOY_IMAGE,
  serviceType: 'LoadBalancer',
  resources: { requests: { cpu: '100m', memory: '256Mi' } },
  logLevel: 'info',
  adminPort: 19000,
  readyPort: 19001,
};

const LOG_LEVELS = ['trace', 'debug', 'info', 'warning', 'warn', 'error', 'critical', 'off'];
const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'];
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[numkMGTPE]|[KMGTPE]i)?$/;

export type ParamsResult = { ok: true; params: FleetParams } | { ok: false; problems: string[] };

/** Reads a ConfigMap's `data` over BASE; `where` names it in problems ("ConfigMap ns/name"). */
export function parseParams(
  data: Record<string, string> | undefined,
  where: string,
  base: FleetParams = DEFAULT_PARAMS,
): ParamsResult {
  const p: FleetParams = { ...base, resources: { ...base.resources } };
  const problems: string[] = [];
  const bad = (key: string, why: string) => problems.push(`${where}: data.${key}: ${why}`);
  const int = (key: string, text: string, min: number, max: number) => {
    const n = Number(text.trim());
    if (!/^\s*\d+\s*$/.test(text) || n < min || n > max) {
      bad(key, `must be an integer from ${min} to ${max}, not ${JSON.stringify(text)}`);
      return undefined;
    }
    return n;
  };
  for (const [key, value] of Object.entries(data ?? {})) {
    switch (key) {
      case 'replicas':
        p.replicas = int(key, value, 0, 1000) ?? p.replicas;
        break;
      case 'image':
        if (!value.trim() || /\s/.test(value.trim()))
          bad(key, `not an image reference: ${JSON.stringify(value)}`);
        else p.image = value.trim();
        break;
      case 'serviceType':
        if (!SERVICE_TYPES.includes(value.trim()))
          bad(key, `must be one of ${SERVICE_TYPES.join(', ')}, not ${JSON.stringify(value)}`);
        else p.serviceType = value.trim() as FleetParams['serviceType'];
        break;
      case 'logLevel':
        if (!LOG_LEVELS.includes(value.trim()))
          bad(key, `must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(value)}`);
        else p.logLevel = value.trim();
        break;
      case 'adminPort':
        p.adminPort = int(key, value, 0, 65535) ?? p.adminPort;
        break;
      case 'readyPort':
        p.readyPort = int(key, value, 1, 65535) ?? p.readyPort;
        break;
      case 'resources': {
        const r = parseResources(value);
        if (typeof r === 'string') bad(key, r);
        else p.resources = r;
        break;
      }
      default:
        bad(
          key,
          'unknown key (known: replicas, image, serviceType, resources, logLevel, adminPort, readyPort)',
        );
    }
  }
  if (p.adminPort !== 0 && p.adminPort === p.readyPort)
    problems.push(`${where}: adminPort and readyPort are both ${p.adminPort}`);
  return problems.length ? { ok: false, problems } : { ok: true, params: p };
}

/** `resources` is JSON (or YAML flow style, which is JSON here): {"requests": {...}, "limits": {...}}. */
function parseResources(text: string): ResourceRequirements | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'must be an object {requests, limits}';
  const out: ResourceRequirements = {};
  for (const [k, m] of Object.entries(v)) {
    if (k !== 'requests' && k !== 'limits') return `unknown field ${k} (known: requests, limits)`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return `${k} must be an object`;
    const q: Record<string, string> = {};
    for (const [res, amount] of Object.entries(m)) {
      const s = typeof amount === 'number' ? String(amount) : amount;
      if (typeof s !== 'string' || !QUANTITY.test(s))
        return `${k}.${res}: not a quantity: ${JSON.stringify(amount)}`;
      q[res] = s;
    }
    out[k] = q;
  }
  return out;
}
