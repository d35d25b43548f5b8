// Compiler stage 1: Gateway API + Inference Extension resources → IR, status conditions and problems.
// Pure: no I/O, no clock, no logging, no randomness; the same ResourceSet always gives the same output.

import type { Gateway, Problem, ResourceSet } from '../../api/types';
import { GATEWAY_GROUP } from '../../api/types';
import type { GatewayIR, IR, ParentStatus, ResourceStatus } from '../ir';
import { CONTROLLER_NAME } from '../ir';
import { GatewayBuilder } from './assemble';
import { needsBodyBasedRouter, resolveBodyBasedRouter } from './bbr';
import { attachRoute } from './attachment';
import type { Context } from './context';
import { compareStrings, namespaceOf, newContext, sortedByName, warn } from './context';
import { gatewayClassStatuses, gatewayStatus, indexGateways } from './gateways';
import { translateRoute } from './rules';
import { condition, sortStatuses } from './status';

export interface BuildIROptions {
  /** The GatewayClass controllerName we own; default CONTROLLER_NAME. */
  controllerName?: string;
}

export interface BuildIRResult {
  ir: IR;
  statuses: ResourceStatus[];
  problems: Problem[];
}

/** pool key → parent Gateway key → whether some route from that Gateway to the pool was accepted. */
type PoolParents = Map<string, Map<string, boolean>>;

function poolStatuses(ctx: Context, parents: PoolParents): ResourceStatus[] {
  return sortedByName(ctx.resources.inferencePools).map((pool) => {
    const key = `${namespaceOf(pool.metadata)}/${pool.metadata.name}`;
    const state = ctx.poolCache.get(key);
    const byGateway = [...(parents.get(key) ?? new Map<string, boolean>()).entries()].sort(([a], [b]) =>
      compareStrings(a, b),
    );
    const meta = pool.metadata;
    const entries = byGateway.map(([gatewayKey, accepted]): ParentStatus => {
      const [namespace, name] = gatewayKey.split('/');
      const invalid = state?.invalidExtensionRef;
      return {
        parentRef: { group: GATEWAY_GROUP, kind: 'Gateway', namespace, name },
        controllerName: ctx.controllerName,
        conditions: [
          accepted
            ? condition('Accepted', true, 'Accepted', 'InferencePool is accepted', meta)
            : condition(
                'Accepted',
                false,
                'HTTPRouteNotAccepted',
                'No HTTPRoute to this pool is accepted',
                meta,
              ),
          invalid
            ? condition('ResolvedRefs', false, 'InvalidExtensionRef', invalid, meta)
            : condition('ResolvedRefs', true, 'ResolvedRefs', 'All references resolved', meta),
        ],
      };
    });
    return { kind: 'InferencePool', namespace: namespaceOf(meta), name: meta.name, parents: entries };
  });
}

export function buildIR(resources: ResourceSet, options: BuildIROptions = {}): BuildIRResult {
  const ctx = newContext(resources, options.controllerName ?? CONTROLLER_NAME);
  const statuses: ResourceStatus[] = gatewayClassStatuses(ctx);
  const gateways = indexGateways(ctx);
  const builders = new Map<string, GatewayBuilder>();
  for (const [key, state] of gateways) if (state !== 'foreign') builders.set(key, new GatewayBuilder(state));
  const poolParents: PoolParents = new Map();

  for (const route of sortedByName(resources.httpRoutes)) {
    const outcomes = attachRoute(ctx, route, gateways);
    // A route none of whose parents is ours is another controller's business: no status, no problems.
    if (outcomes.length === 0) continue;
    const translation = translateRoute(ctx, route);
    const resolvedRefs = translation.resolvedRefs.build(route.metadata);
    statuses.push({
      kind: 'HTTPRoute',
      namespace: namespaceOf(route.metadata),
      name: route.metadata.name,
      parents: outcomes.map((o) => ({
        parentRef: o.parentRef,
        controllerName: ctx.controllerName,
        conditions: [o.accepted, resolvedRefs],
      })),
    });
    for (const o of outcomes) {
      for (const a of o.attachments) builders.get(a.gateway.key)?.addRoute(a, translation);
    }
    for (const pool of translation.referencedPools) {
      let byGateway = poolParents.get(pool.ir.key);
      if (!byGateway) poolParents.set(pool.ir.key, (byGateway = new Map()));
      for (const o of outcomes) {
        if (!o.gatewayExists) continue;
        byGateway.set(o.gatewayKey, (byGateway.get(o.gatewayKey) ?? false) || o.accepted.status === 'True');
      }
    }
  }

  for (const state of gateways.values()) if (state !== 'foreign') statuses.push(gatewayStatus(state));
  statuses.push(...poolStatuses(ctx, poolParents));
  const ir: IR = {
    gateways: [...builders.entries()]
      .filter(([, b]) => b.hasListeners)
      .sort(([a], [b]) => compareStrings(a, b))
      .map(([key, b]) => {
        const gw = b.build();
        const state = gateways.get(key);
        if (state && state !== 'foreign' && needsBodyBasedRouter(gw)) {
          const bbr = resolveBodyBasedRouter(ctx, state.gateway);
          if (bbr) gw.bodyBasedRouter = bbr;
        }
        if (state && state !== 'foreign') {
          const mode = eppProcessingMode(ctx, state.gateway);
          if (mode) gw.eppProcessingMode = mode;
        }
        return gw;
      }),
  };
  return { ir, statuses: sortStatuses(statuses), problems: ctx.problems };
}

/** On a Gateway or its GatewayClass: the EPP filter's body mode (see GatewayIR.eppProcessingMode). */
export const EPP_PROCESSING_MODE_ANNOTATION = 'infergate.io/epp-processing-mode';

/** STREAMED, or undefined for the protocol's FULL_DUPLEX_STREAMED (also when the annotation is wrong: a problem). */
function eppProcessingMode(ctx: Context, gateway: Gateway): GatewayIR['eppProcessingMode'] {
  const gc = ctx.gatewayClasses.get(gateway.spec.gatewayClassName);
  for (const obj of [gateway, gc]) {
    const v = obj?.metadata.annotations?.[EPP_PROCESSING_MODE_ANNOTATION];
    if (v === undefined) continue;
    if (v === 'STREAMED') return 'STREAMED';
    if (v !== 'FULL_DUPLEX_STREAMED')
      warn(
        ctx,
        obj!,
        `metadata.annotations[${EPP_PROCESSING_MODE_ANNOTATION}]`,
        `must be one of FULL_DUPLEX_STREAMED, STREAMED, got ${JSON.stringify(v)}; using FULL_DUPLEX_STREAMED`,
      );
    return undefined;
  }
  return undefined;
}
