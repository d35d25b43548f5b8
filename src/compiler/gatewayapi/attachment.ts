// Route attachment: HTTPRoute parentRefs → Gateway listeners (sectionName, port, allowedRoutes, hostnames),
// and the Accepted condition of each parentRef.

import type { Condition, HTTPRoute, Listener, ParentReference } from '../../api/types';
import { GATEWAY_GROUP } from '../../api/types';
import type { ParentStatus } from '../ir';
import type { Context } from './context';
import { namespaceOf, warn } from './context';
import type { GatewayIndex, GatewayState, ListenerState } from './gateways';
import { intersectHostnames } from './hostnames';
import { condition } from './status';

export interface Attachment {
  gateway: GatewayState;
  listener: ListenerState;
  /** Effective hostnames on this listener ("*" = any). */
  hostnames: string[];
}

export interface ParentOutcome {
  parentRef: ParentStatus['parentRef'];
  /** "ns/name" of the Gateway. */
  gatewayKey: string;
  gatewayExists: boolean;
  accepted: Condition;
  attachments: Attachment[];
}

const METADATA_NAME_LABEL = 'kubernetes.io/metadata.name';

function namespaceLabels(ctx: Context, namespace: string): Record<string, string> {
  const ns = ctx.namespaces.get(namespace);
  return { ...(ns?.metadata.labels ?? {}), [METADATA_NAME_LABEL]: namespace };
}

function namespaceAllowed(ctx: Context, gateway: GatewayState, listener: Listener, routeNs: string): boolean {
  const from = listener.allowedRoutes?.namespaces?.from ?? 'Same';
  if (from === 'All') return true;
  if (from === 'Same') return routeNs === namespaceOf(gateway.gateway.metadata);
  const labels = namespaceLabels(ctx, routeNs);
  const wanted = listener.allowedRoutes?.namespaces?.selector?.matchLabels ?? {};
  return Object.entries(wanted).every(([k, v]) => labels[k] === v);
}

function echoParentRef(ref: ParentReference, routeNs: string): ParentStatus['parentRef'] {
  return {
    group: ref.group ?? GATEWAY_GROUP,
    kind: ref.kind ?? 'Gateway',
    namespace: ref.namespace ?? routeNs,
    name: ref.name,
    ...(ref.sectionName !== undefined ? { sectionName: ref.sectionName } : {}),
    ...(ref.port !== undefined ? { port: ref.port } : {}),
  };
}

type Selection = { ok: true; attachments: Attachment[] } | { ok: false; reason: string; message: string };

function selectListeners(ctx: Context, route: HTTPRoute, ref: ParentReference, gw: GatewayState): Selection {
  let candidates = gw.listeners;
  if (ref.sectionName !== undefined) {
    candidates = candidates.filter((l) => l.listener.name === ref.sectionName);
    if (candidates.length === 0) {
      return {
        ok: false,
        reason: 'NoMatchingParent',
        message: `Gateway ${gw.key} has no listener ${ref.sectionName}`,
      };
    }
  }
  if (ref.port !== undefined) {
    candidates = candidates.filter((l) => l.listener.port === ref.port);
    if (candidates.length === 0) {
      const which =
        ref.sectionName !== undefined ? `listener ${ref.sectionName} on port` : 'listener on port';
      return {
        ok: false,
        reason: 'NoMatchingParent',
        message: `Gateway ${gw.key} has no ${which} ${ref.port}`,
      };
    }
  }
  const invalid = candidates.filter((l) => !l.programmed).map((l) => l.listener.name);
  candidates = candidates.filter((l) => l.programmed);
  if (candidates.length === 0) {
    const which = invalid.length > 0 ? ` (invalid: ${invalid.join(', ')})` : '';
    return {
      ok: false,
      reason: 'NoMatchingParent',
      message: `no valid listener of Gateway ${gw.key} matches${which}`,
    };
  }
  const routeNs = namespaceOf(route.metadata);
  candidates = candidates.filter((l) => l.allowsHTTPRoute && namespaceAllowed(ctx, gw, l.listener, routeNs));
  if (candidates.length === 0) {
    return {
      ok: false,
      reason: 'NotAllowedByListeners',
      message: `no listener of Gateway ${gw.key} allows HTTPRoutes from namespace ${routeNs}`,
    };
  }
  const routeHosts = route.spec.hostnames ?? [];
  const attachments = candidates
    .map((listener) => ({
      gateway: gw,
      listener,
      hostnames: intersectHostnames(listener.listener.hostname, routeHosts),
    }))
    .filter((a) => a.hostnames.length > 0);
  if (attachments.length === 0) {
    return {
      ok: false,
      reason: 'NoMatchingListenerHostname',
      message: `no listener hostname of Gateway ${gw.key} intersects the route's hostnames`,
    };
  }
  return { ok: true, attachments };
}

/** One outcome per parentRef we are responsible for; Gateways of another controller get none. */
export function attachRoute(ctx: Context, route: HTTPRoute, gateways: GatewayIndex): ParentOutcome[] {
  const routeNs = namespaceOf(route.metadata);
  const routeKey = `${routeNs}/${route.metadata.name}`;
  const outcomes: ParentOutcome[] = [];
  (route.spec.parentRefs ?? []).forEach((ref, i) => {
    const parentRef = echoParentRef(ref, routeNs);
    if (parentRef.group !== GATEWAY_GROUP || parentRef.kind !== 'Gateway') {
      warn(
        ctx,
        route,
        `spec.parentRefs[${i}]`,
        `parentRef kind ${parentRef.group}/${parentRef.kind} is not supported`,
      );
      return;
    }
    const gatewayKey = `${parentRef.namespace}/${parentRef.name}`;
    const gw = gateways.get(gatewayKey);
    if (gw === 'foreign') return;
    const meta = route.metadata;
    if (!gw) {
      const message = `Gateway ${gatewayKey} not found`;
      warn(ctx, route, `spec.parentRefs[${i}]`, message);
      const accepted = condition('Accepted', false, 'NoMatchingParent', message, meta);
      outcomes.push({ parentRef, gatewayKey, gatewayExists: false, accepted, attachments: [] });
      return;
    }
    const sel = selectListeners(ctx, route, ref, gw);
    if (!sel.ok) {
      warn(ctx, route, `spec.parentRefs[${i}]`, sel.message);
      const accepted = condition('Accepted', false, sel.reason, sel.message, meta);
      outcomes.push({ parentRef, gatewayKey, gatewayExists: true, accepted, attachments: [] });
      return;
    }
    for (const a of sel.attachments) a.listener.attachedRoutes.add(routeKey);
    const accepted = condition('Accepted', true, 'Accepted', 'Route is accepted', meta);
    outcomes.push({ parentRef, gatewayKey, gatewayExists: true, accepted, attachments: sel.attachments });
  });
  return outcomes;
}
