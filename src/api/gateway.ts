// GatewayClass and Gateway (gateway.networking.k8s.io/v1), with the CRD's limits, CEL rules and defaults.

import { type Obj, compact, unique } from './decode';
import { decodeLabelSelector } from './selector';
import { dnsLabel, dnsSubdomain, hostname } from './formats';
import type {
  GatewayAddress,
  GatewayClassSpec,
  GatewaySpec,
  GatewayTLSConfig,
  Listener,
  RouteNamespaces,
  SecretObjectReference,
} from './types';

const CONTROLLER_NAME_RE =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/;
export const PROTOCOLS = ['HTTP', 'HTTPS', 'TLS', 'TCP', 'UDP'];

export function decodeGatewayClassSpec(spec: Obj): GatewayClassSpec {
  spec.ignored('parametersRef');
  const controllerName = spec.str('controllerName', {
    required: true,
    max: 253,
    check: (v) =>
      CONTROLLER_NAME_RE.test(v) ? undefined : 'must be a domain-prefixed path, e.g. example.com/gateway',
  });
  return compact({ controllerName: controllerName ?? '', description: spec.str('description', { max: 64 }) });
}

export function decodeGatewaySpec(spec: Obj): GatewaySpec {
  spec.ignored('infrastructure', 'tls', 'allowedListeners', 'backendTLS');
  const objs = spec.objList('listeners', LISTENER_FIELDS, { required: true, min: 1, max: 64 }) ?? [];
  const listeners = objs.map(decodeListener);
  unique(
    spec.ctx,
    listeners,
    (l) => l.name || undefined,
    (i) => objs[i].at('name'),
  );
  unique(
    spec.ctx,
    listeners,
    (l) => `port ${l.port}, protocol ${l.protocol}, hostname ${l.hostname ?? '(any)'}`,
    (i) => objs[i].path,
  );
  const addresses = spec.objList('addresses', ['type', 'value'], { max: 16 })?.map((a): GatewayAddress =>
    compact({
      type: a.str('type', { max: 253 }),
      value: a.str('value', { required: true, max: 253 }) ?? '',
    }),
  );
  return compact({
    gatewayClassName: spec.str('gatewayClassName', { required: true, min: 1, max: 253 }) ?? '',
    listeners,
    addresses,
  });
}

const LISTENER_FIELDS = ['name', 'hostname', 'port', 'protocol', 'tls', 'allowedRoutes'];

function decodeListener(l: Obj): Listener {
  const protocol = l.str('protocol', { required: true, oneOf: PROTOCOLS }) ?? '';
  const listener: Listener = compact({
    name: l.str('name', { required: true, check: dnsSubdomain }) ?? '',
    hostname: l.str('hostname', { check: hostname }),
    port: l.int('port', { required: true, min: 1, max: 65535 }) ?? 0,
    protocol,
    tls: decodeTLS(l),
    allowedRoutes: decodeAllowedRoutes(l),
  });
  // CEL rules of the Listener list, reported on the listener they concern.
  if (['HTTP', 'TCP', 'UDP'].includes(protocol) && l.has('tls'))
    l.error('tls', `must not be set for protocol ${protocol}`);
  if (['TCP', 'UDP'].includes(protocol) && l.has('hostname')) {
    l.error('hostname', `must not be set for protocol ${protocol}`);
  }
  if (['HTTPS', 'TLS'].includes(protocol) && !l.has('tls'))
    l.error('tls', `required for protocol ${protocol}`);
  if (protocol === 'HTTPS' && listener.tls) {
    if (listener.tls.mode !== 'Terminate') l.error('tls.mode', 'must be Terminate for protocol HTTPS');
    if (!listener.tls.certificateRefs?.length)
      l.error('tls.certificateRefs', 'required when mode is Terminate');
  }
  return listener;
}

function decodeTLS(l: Obj): GatewayTLSConfig | undefined {
  const tls = l.obj('tls', ['mode', 'certificateRefs', 'options', 'frontendValidation']);
  if (!tls) return undefined;
  tls.ignored('options', 'frontendValidation');
  const certificateRefs = tls
    .objList('certificateRefs', ['group', 'kind', 'name', 'namespace'], { max: 64 })
    ?.map((r): SecretObjectReference =>
      compact({
        group: r.str('group', { max: 253 }) ?? '',
        kind: r.str('kind', { min: 1, max: 63 }) ?? 'Secret',
        name: r.str('name', { required: true, min: 1, max: 253 }) ?? '',
        namespace: r.str('namespace', { check: dnsLabel }),
      }),
    );
  const mode = tls.str('mode', { oneOf: ['Terminate', 'Passthrough'] }) as GatewayTLSConfig['mode'];
  return compact({ mode: mode ?? 'Terminate', certificateRefs });
}

function decodeAllowedRoutes(l: Obj): Listener['allowedRoutes'] {
  const ar = l.obj('allowedRoutes', ['namespaces', 'kinds']);
  const ns = ar?.obj('namespaces', ['from', 'selector']);
  const from = (ns?.str('from', { oneOf: ['All', 'Same', 'Selector'] }) ?? 'Same') as RouteNamespaces['from'];
  const namespaces: RouteNamespaces = { from };
  const selector = ns && decodeLabelSelector(ns, 'selector');
  if (selector) namespaces.selector = selector;
  if (from === 'Selector' && !selector) ns?.error('selector', 'required when from is Selector');
  const kinds = ar?.objList('kinds', ['group', 'kind'], { max: 8 })?.map((k) =>
    compact({
      group: k.str('group', { max: 253 }),
      kind: k.str('kind', { required: true, min: 1, max: 63 }) ?? '',
    }),
  );
  return compact({ namespaces, kinds });
}
