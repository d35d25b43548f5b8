// One HTTPRoute → its rules translated once (matches, filters, backends, timeouts), independent of the
// Gateways it attaches to, plus the route-wide ResolvedRefs condition.

import type { HTTPBackendRef, HTTPRoute, HTTPRouteRule } from '../../api/types';
import type { BackendIR, RouteActionIR, RouteIR, ServiceClusterIR } from '../ir';
import { classifyBackendRef, resolvePoolBackend, resolveServiceCluster } from './backends';
import type { Context } from './context';
import { namespaceOf, warn } from './context';
import type { RuleScope } from './filters';
import { applyFilters } from './filters';
import type { RankedRoute } from './matches';
import { convertMatch, parseTimestamp } from './matches';
import type { PoolState } from './pools';
import { resolvePool } from './pools';
import { ConditionBuilder } from './status';

export interface RuleTranslation {
  /** One per match, in match order. */
  routes: RankedRoute[];
  /** Service clusters the rule forwards or mirrors to. */
  clusters: ServiceClusterIR[];
  /** Pools the rule forwards to (weight > 0). */
  pools: PoolState[];
}

export interface RouteTranslation {
  rules: RuleTranslation[];
  resolvedRefs: ConditionBuilder;
  /** Every pool a backendRef resolved to (whatever its weight), for InferencePool status. */
  referencedPools: PoolState[];
}

interface RuleBackends {
  backends: BackendIR[];
  clusters: ServiceClusterIR[];
  pools: PoolState[];
}

function resolveBackend(
  scope: RuleScope,
  ref: HTTPBackendRef,
  k: number,
  out: RuleBackends,
  refs: PoolState[],
): void {
  const { ctx, route, routeNs } = scope;
  const path = `${scope.path}.backendRefs[${k}]`;
  const fail = (reason: string, message: string) => {
    warn(ctx, route, path, message);
    scope.resolvedRefs.fail(reason, message);
  };
  if (ref.filters && ref.filters.length > 0) {
    warn(ctx, route, `${path}.filters`, 'backendRef filters are not supported, ignored');
  }
  const kind = classifyBackendRef(ctx, ref, routeNs);
  if (!kind.ok) return fail(kind.reason, kind.message);
  const weight = ref.weight ?? 1;
  if (kind.value === 'Service') {
    const cluster = resolveServiceCluster(ctx, ref, routeNs);
    if (!cluster.ok) return fail(cluster.reason, cluster.message);
    if (weight <= 0) return;
    out.backends.push({ cluster: cluster.value.name, weight });
    out.clusters.push(cluster.value);
    return;
  }
  const pool = resolvePoolBackend(ctx, ref, routeNs);
  if (!pool.ok) return fail(pool.reason, pool.message);
  const state = resolvePool(ctx, pool.value);
  refs.push(state);
  if (weight <= 0) return;
  out.backends.push({ cluster: state.ir.clusterName, weight, pool: state.ir.key });
  out.pools.push(state);
}

const DURATION = /^(?:\d{1,5}(?:h|m|s|ms)){1,4}$/;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Gateway API duration ("1h30m", "10s", "500ms") → milliseconds; undefined if malformed. */
export function parseDuration(d: string): number | undefined {
  if (!DURATION.test(d)) return undefined;
  let total = 0;
  for (const [, n, unit] of d.matchAll(/(\d+)(ms|h|m|s)/g)) total += Number(n) * UNIT_MS[unit];
  return total;
}

function timeouts(scope: RuleScope, rule: HTTPRouteRule): Pick<RouteIR, 'timeoutMs' | 'backendTimeoutMs'> {
  const out: Pick<RouteIR, 'timeoutMs' | 'backendTimeoutMs'> = {};
  const fields = [
    ['request', 'timeoutMs'],
    ['backendRequest', 'backendTimeoutMs'],
  ] as const;
  for (const [field, key] of fields) {
    const value = rule.timeouts?.[field];
    if (value === undefined) continue;
    const ms = parseDuration(value);
    if (ms === undefined)
      warn(scope.ctx, scope.route, `${scope.path}.timeouts.${field}`, `invalid duration ${value}`);
    else out[key] = ms;
  }
  return out;
}

function translateRule(scope: RuleScope, rule: HTTPRouteRule, i: number, refs: PoolState[]): RuleTranslation {
  const { ctx, route, routeNs } = scope;
  const filters = applyFilters(rule.filters, scope);
  const resolved: RuleBackends = { backends: [], clusters: [], pools: [] };
  if (filters.redirect) {
    if ((rule.backendRefs ?? []).length > 0) {
      warn(
        ctx,
        route,
        `${scope.path}.backendRefs`,
        'backendRefs are ignored on a rule with a RequestRedirect filter',
      );
    }
  } else {
    (rule.backendRefs ?? []).forEach((ref, k) => resolveBackend(scope, ref, k, resolved, refs));
  }
  let action: RouteActionIR;
  if (filters.invalid) action = { type: 'direct', status: 500 };
  else if (filters.redirect) action = { type: 'redirect', redirect: filters.redirect };
  else if (resolved.backends.length === 0) action = { type: 'direct', status: 500 };
  else action = { type: 'forward', backends: resolved.backends };
  const created = parseTimestamp(route.metadata.creationTimestamp);
  const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [undefined];
  const routes = matches.map((m, j): RankedRoute => {
    const ir: RouteIR = {
      name: `httproute/${routeNs}/${route.metadata.name}/rule/${i}/match/${j}`,
      route: { namespace: routeNs, name: route.metadata.name, ruleIndex: i, matchIndex: j },
      ...convertMatch(m),
      ...(filters.requestHeaders ? { requestHeaders: filters.requestHeaders } : {}),
      ...(filters.responseHeaders ? { responseHeaders: filters.responseHeaders } : {}),
      ...(filters.urlRewrite ? { urlRewrite: filters.urlRewrite } : {}),
      mirrors: filters.mirrors,
      action,
      ...timeouts(scope, rule),
    };
    return { ir, ...(created !== undefined ? { created } : {}) };
  });
  const forwarded = action.type === 'forward';
  return {
    routes,
    clusters: [...(forwarded ? resolved.clusters : []), ...filters.mirrorClusters],
    pools: forwarded ? resolved.pools : [],
  };
}

/** The Gateway API default when a route has no rules: one rule matching every path, with no backends. */
const DEFAULT_RULES: HTTPRouteRule[] = [{}];

export function translateRoute(ctx: Context, route: HTTPRoute): RouteTranslation {
  const resolvedRefs = new ConditionBuilder('ResolvedRefs', 'ResolvedRefs', 'All references resolved');
  const routeNs = namespaceOf(route.metadata);
  const referencedPools: PoolState[] = [];
  const rules = route.spec.rules && route.spec.rules.length > 0 ? route.spec.rules : DEFAULT_RULES;
  const translated = rules.map((rule, i) =>
    translateRule({ ctx, route, routeNs, path: `spec.rules[${i}]`, resolvedRefs }, rule, i, referencedPools),
  );
  return { rules: translated, resolvedRefs, referencedPools };
}
