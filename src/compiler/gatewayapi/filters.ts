// HTTPRoute rule filters, one handler per filter type, registered by name. An unknown type or an ExtensionRef
// (no extension kinds are supported) makes the rule answer 500, as the Gateway API requires for filters that
// cannot be honoured: such a filter must never be silently skipped.

import type { HTTPHeaderFilter, HTTPPathModifier, HTTPRoute, HTTPRouteFilter } from '../../api/types';
import type { HeaderModifierIR, MirrorIR, RedirectIR, ServiceClusterIR, URLRewriteIR } from '../ir';
import type { Resolved } from './backends';
import { classifyBackendRef, resolveServiceCluster } from './backends';
import type { Context } from './context';
import { warn } from './context';
import type { ConditionBuilder } from './status';

/** Where a rule is being translated, and the route-wide ResolvedRefs condition it reports into. */
export interface RuleScope {
  ctx: Context;
  route: HTTPRoute;
  routeNs: string;
  /** e.g. "spec.rules[0]" */
  path: string;
  resolvedRefs: ConditionBuilder;
}

export interface RuleFilters {
  requestHeaders?: HeaderModifierIR;
  responseHeaders?: HeaderModifierIR;
  urlRewrite?: URLRewriteIR;
  redirect?: RedirectIR;
  mirrors: MirrorIR[];
  mirrorClusters: ServiceClusterIR[];
  /** Set when a filter cannot be honoured: the rule then answers 500. */
  invalid?: string;
}

type FilterHandler = (filter: HTTPRouteFilter, out: RuleFilters, scope: RuleScope, path: string) => void;

function headerModifier(
  f: HTTPHeaderFilter | undefined,
  prev: HeaderModifierIR | undefined,
): HeaderModifierIR {
  const lower = (hs: { name: string; value: string }[] | undefined) =>
    (hs ?? []).map((h) => ({ name: h.name.toLowerCase(), value: h.value }));
  return {
    set: [...(prev?.set ?? []), ...lower(f?.set)],
    add: [...(prev?.add ?? []), ...lower(f?.add)],
    remove: [...(prev?.remove ?? []), ...(f?.remove ?? []).map((n) => n.toLowerCase())],
  };
}

function pathModifier(p: HTTPPathModifier | undefined): RedirectIR['path'] {
  if (!p) return undefined;
  if (p.type === 'ReplaceFullPath') return { type: 'ReplaceFullPath', value: p.replaceFullPath ?? '/' };
  return { type: 'ReplacePrefixMatch', value: p.replacePrefixMatch ?? '/' };
}

function missingConfig(scope: RuleScope, out: RuleFilters, path: string, type: string, field: string): void {
  const message = `${type} filter has no ${field}`;
  warn(scope.ctx, scope.route, path, message);
  out.invalid ??= message;
}

const FILTERS: Record<string, FilterHandler> = {
  /** Adds, sets and removes request headers before the request goes upstream. */
  RequestHeaderModifier: (f, out) => {
    out.requestHeaders = headerModifier(f.requestHeaderModifier, out.requestHeaders);
  },
  /** Adds, sets and removes response headers before the response goes downstream. */
  ResponseHeaderModifier: (f, out) => {
    out.responseHeaders = headerModifier(f.responseHeaderModifier, out.responseHeaders);
  },
  /** Answers with a redirect instead of forwarding. */
  RequestRedirect: (f, out, scope, path) => {
    const r = f.requestRedirect;
    if (!r) return missingConfig(scope, out, path, 'RequestRedirect', 'requestRedirect');
    const p = pathModifier(r.path);
    out.redirect = {
      ...(r.scheme ? { scheme: r.scheme } : {}),
      ...(r.hostname ? { hostname: r.hostname } : {}),
      ...(r.port !== undefined ? { port: r.port } : {}),
      statusCode: r.statusCode ?? 302,
      ...(p ? { path: p } : {}),
    };
  },
  /** Rewrites the Host header and/or path on the way upstream. */
  URLRewrite: (f, out, scope, path) => {
    const r = f.urlRewrite;
    if (!r) return missingConfig(scope, out, path, 'URLRewrite', 'urlRewrite');
    const p = pathModifier(r.path);
    out.urlRewrite = { ...(r.hostname ? { hostname: r.hostname } : {}), ...(p ? { path: p } : {}) };
  },
  /** Copies requests to a Service, fire and forget. An unresolvable mirror is dropped. */
  RequestMirror: (f, out, scope, path) => {
    const m = f.requestMirror;
    if (!m) return missingConfig(scope, out, path, 'RequestMirror', 'requestMirror');
    const refPath = `${path}.requestMirror.backendRef`;
    const kind = classifyBackendRef(scope.ctx, m.backendRef, scope.routeNs);
    let resolved: Resolved<ServiceClusterIR>;
    if (!kind.ok) resolved = kind;
    else if (kind.value === 'Service')
      resolved = resolveServiceCluster(scope.ctx, m.backendRef, scope.routeNs);
    else
      resolved = {
        ok: false,
        reason: 'InvalidKind',
        message: 'RequestMirror to an InferencePool is not supported',
      };
    if (!resolved.ok) {
      warn(scope.ctx, scope.route, refPath, `${resolved.message}; mirror dropped`);
      scope.resolvedRefs.fail(resolved.reason, resolved.message);
      return;
    }
    let percent = m.percent;
    if (percent === undefined && m.fraction) {
      percent = (m.fraction.numerator / (m.fraction.denominator ?? 100)) * 100;
    }
    out.mirrors.push({
      cluster: resolved.value.name,
      ...(percent !== undefined && percent < 100 ? { percent: Math.max(0, percent) } : {}),
    });
    out.mirrorClusters.push(resolved.value);
  },
};

export function applyFilters(filters: HTTPRouteFilter[] | undefined, scope: RuleScope): RuleFilters {
  const out: RuleFilters = { mirrors: [], mirrorClusters: [] };
  (filters ?? []).forEach((filter, k) => {
    const path = `${scope.path}.filters[${k}]`;
    const handler = Object.hasOwn(FILTERS, filter.type) ? FILTERS[filter.type] : undefined;
    if (handler) return handler(filter, out, scope, path);
    const message =
      filter.type === 'ExtensionRef'
        ? 'ExtensionRef filters are not supported; the rule answers 500'
        : `filter type ${filter.type} is not supported; the rule answers 500`;
    warn(scope.ctx, scope.route, path, message);
    scope.resolvedRefs.fail(filter.type === 'ExtensionRef' ? 'InvalidKind' : 'UnsupportedValue', message);
    out.invalid ??= message;
  });
  return out;
}
