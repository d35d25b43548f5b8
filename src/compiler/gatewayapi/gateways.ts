// GatewayClass ownership, Gateway listener validation (protocol, port conflicts, allowed kinds, certificates)
// and the Gateway / listener status that follows from it.

import type { Condition, Gateway, GatewayClass, Listener } from '../../api/types';
import { GATEWAY_GROUP } from '../../api/types';
import type { ListenerStatus, ResourceStatus, SecretIR, TLSChainIR } from '../ir';
import { resolveCertificates } from './certificates';
import type { Context } from './context';
import { namespaceOf, nsName, sortedByName, warn } from './context';
import { condition } from './status';

export interface ListenerState {
  listener: Listener;
  index: number;
  /** Accepted and all refs resolved: the listener is compiled into the IR and may take routes. */
  programmed: boolean;
  /** allowedRoutes.kinds admits HTTPRoute. */
  allowsHTTPRoute: boolean;
  conditions: Condition[];
  tls?: TLSChainIR;
  /** The Secrets tls names (HTTPS only). */
  secrets?: SecretIR[];
  /** "<ns>/<name>" of the HTTPRoutes attached to this listener. */
  attachedRoutes: Set<string>;
}

export interface GatewayState {
  gateway: Gateway;
  key: string;
  listeners: ListenerState[];
}

/** Gateways by "ns/name": ours get a state; those of another controller are 'foreign'. */
export type GatewayIndex = Map<string, GatewayState | 'foreign'>;

const HTTP_ROUTE_KIND = { group: GATEWAY_GROUP, kind: 'HTTPRoute' };

function isHTTP(l: Listener): boolean {
  return l.protocol === 'HTTP' || l.protocol === 'HTTPS';
}

export function gatewayClassStatuses(ctx: Context): ResourceStatus[] {
  const ours = sortedByName<GatewayClass>(ctx.resources.gatewayClasses).filter(
    (gc) => gc.spec.controllerName === ctx.controllerName,
  );
  return ours.map((gc) => ({
    kind: 'GatewayClass',
    namespace: '',
    name: gc.metadata.name,
    conditions: [
      condition('Accepted', true, 'Accepted', 'GatewayClass is accepted by infergate', gc.metadata),
    ],
  }));
}

export function indexGateways(ctx: Context): GatewayIndex {
  const index: GatewayIndex = new Map();
  for (const gateway of sortedByName(ctx.resources.gateways)) {
    const className = gateway.spec.gatewayClassName;
    const gc = ctx.gatewayClasses.get(className);
    if (gc && gc.spec.controllerName !== ctx.controllerName) {
      index.set(nsName(gateway.metadata), 'foreign');
      continue;
    }
    if (!gc) {
      warn(
        ctx,
        gateway,
        'spec.gatewayClassName',
        `GatewayClass ${className} not found; compiling it as infergate's`,
      );
    }
    index.set(nsName(gateway.metadata), validateListeners(ctx, gateway));
  }
  return index;
}

type ListenerCheck = { accepted: boolean; reason?: string; message?: string; conflicted?: string };

/** Protocol support and per-port conflicts (HTTP with HTTPS, or two listeners with one hostname). */
function checkPorts(listeners: Listener[]): ListenerCheck[] {
  return listeners.map((l, i) => {
    if (!isHTTP(l)) {
      return {
        accepted: false,
        reason: 'UnsupportedProtocol',
        message: `protocol ${l.protocol} is not supported`,
      };
    }
    const samePort = listeners.filter((o, j) => j !== i && o.port === l.port && isHTTP(o));
    if (samePort.some((o) => o.protocol !== l.protocol)) {
      return {
        accepted: false,
        conflicted: 'ProtocolConflict',
        message: `port ${l.port} mixes HTTP and HTTPS listeners`,
      };
    }
    if (samePort.some((o) => (o.hostname ?? '') === (l.hostname ?? ''))) {
      return {
        accepted: false,
        conflicted: 'HostnameConflict',
        message: `another listener on port ${l.port} has hostname ${l.hostname ?? '(none)'}`,
      };
    }
    return { accepted: true };
  });
}

function validateListeners(ctx: Context, gateway: Gateway): GatewayState {
  const listeners = gateway.spec.listeners ?? [];
  const checks = checkPorts(listeners);
  const meta = gateway.metadata;
  const states = listeners.map((listener, index): ListenerState => {
    const check = checks[index];
    const path = `spec.listeners[${index}]`;
    let accepted = check.accepted;
    let resolved: { ok: boolean; reason: string; message: string } = {
      ok: true,
      reason: 'ResolvedRefs',
      message: 'All references resolved',
    };
    const kinds = listener.allowedRoutes?.kinds;
    const allowsHTTPRoute =
      kinds === undefined ||
      kinds.some((k) => (k.group ?? GATEWAY_GROUP) === GATEWAY_GROUP && k.kind === 'HTTPRoute');
    const invalidKinds = (kinds ?? []).filter(
      (k) => (k.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || k.kind !== 'HTTPRoute',
    );
    if (invalidKinds.length > 0) {
      const names = invalidKinds.map((k) => `${k.group ?? GATEWAY_GROUP}/${k.kind}`).join(', ');
      resolved = { ok: false, reason: 'InvalidRouteKinds', message: `route kinds not supported: ${names}` };
      warn(ctx, gateway, `${path}.allowedRoutes.kinds`, resolved.message);
    }
    let tls: TLSChainIR | undefined;
    let secrets: SecretIR[] | undefined;
    let programmedOk = accepted;
    if (accepted && listener.protocol === 'HTTPS') {
      const certs = resolveCertificates(ctx, gateway, listener);
      if (certs.ok) {
        tls = certs.chain;
        secrets = certs.secrets;
      } else if (certs.reason === 'UnsupportedProtocol') {
        accepted = false;
        programmedOk = false;
        check.reason = certs.reason;
        check.message = certs.message;
      } else {
        resolved = { ok: false, reason: certs.reason, message: certs.message };
        programmedOk = false;
      }
      if (!certs.ok) warn(ctx, gateway, `${path}.tls`, certs.message);
    }
    if (!check.accepted) warn(ctx, gateway, path, `listener ${listener.name}: ${check.message}; skipped`);
    const conditions = [
      accepted
        ? condition('Accepted', true, 'Accepted', 'Listener is accepted', meta)
        : condition(
            'Accepted',
            false,
            check.conflicted ?? check.reason ?? 'Invalid',
            check.message ?? '',
            meta,
          ),
      programmedOk
        ? condition('Programmed', true, 'Programmed', 'Listener is programmed', meta)
        : condition('Programmed', false, 'Invalid', 'Listener is invalid and not programmed', meta),
      condition('ResolvedRefs', resolved.ok, resolved.reason, resolved.message, meta),
      check.conflicted
        ? condition('Conflicted', true, check.conflicted, check.message ?? '', meta)
        : condition('Conflicted', false, 'NoConflicts', 'No conflicts', meta),
    ];
    return {
      listener,
      index,
      programmed: programmedOk,
      allowsHTTPRoute,
      conditions,
      ...(tls ? { tls, secrets } : {}),
      attachedRoutes: new Set(),
    };
  });
  return { gateway, key: nsName(gateway.metadata), listeners: states };
}

export function gatewayStatus(state: GatewayState): ResourceStatus {
  const meta = state.gateway.metadata;
  const total = state.listeners.length;
  const good = state.listeners.filter((l) => l.programmed).length;
  const accepted =
    total > 0 && good === total
      ? condition('Accepted', true, 'Accepted', 'Gateway is accepted', meta)
      : condition(
          'Accepted',
          good > 0,
          'ListenersNotValid',
          `${total - good} of ${total} listeners are not valid`,
          meta,
        );
  const programmed =
    good > 0
      ? condition('Programmed', true, 'Programmed', `${good} of ${total} listeners are programmed`, meta)
      : condition('Programmed', false, 'Invalid', 'No listener is programmed', meta);
  const listeners: ListenerStatus[] = state.listeners.map((l) => ({
    name: l.listener.name,
    attachedRoutes: l.attachedRoutes.size,
    supportedKinds: l.allowsHTTPRoute && isHTTP(l.listener) ? [{ ...HTTP_ROUTE_KIND }] : [],
    conditions: l.conditions,
  }));
  return {
    kind: 'Gateway',
    namespace: namespaceOf(meta),
    name: meta.name,
    conditions: [accepted, programmed],
    listeners,
  };
}
