// HTTPRoute (gateway.networking.k8s.io/v1): parentRefs, hostnames, rules with matches, filters, backendRefs
// and timeouts; CRD limits, CEL rules and defaults.

import { type Obj, compact, unique } from './decode';
import {
  absolutePath,
  duration,
  durationMillis,
  hostname,
  httpToken,
  re2Regex,
  dnsSubdomain,
} from './formats';
import { decodeFilters } from './httproute-filters';
import { BACKEND_REF_FIELDS, PARENT_REF_FIELDS, decodeBackendObjectRef, decodeParentRef } from './refs';
import type {
  HTTPBackendRef,
  HTTPHeaderMatch,
  HTTPPathMatch,
  HTTPRouteMatch,
  HTTPRouteRule,
  HTTPRouteSpec,
  HTTPRouteTimeouts,
} from './types';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];
const MATCH_TYPES = ['Exact', 'RegularExpression'];

export function decodeHTTPRouteSpec(spec: Obj): HTTPRouteSpec {
  spec.ignored('useDefaultGateways');
  return compact({
    parentRefs: spec.objList('parentRefs', PARENT_REF_FIELDS, { max: 32 })?.map(decodeParentRef),
    hostnames: spec.strList('hostnames', { max: 16 }, { check: hostname }),
    rules: spec.objList('rules', RULE_FIELDS, { max: 16 })?.map(decodeRule),
  });
}

const RULE_FIELDS = ['name', 'matches', 'filters', 'backendRefs', 'timeouts', 'retry', 'sessionPersistence'];

function decodeRule(r: Obj): HTTPRouteRule {
  r.ignored('retry', 'sessionPersistence');
  const matchObjs = r.objList('matches', ['path', 'headers', 'queryParams', 'method'], { max: 64 });
  // CRD default: no matches means one PathPrefix "/" match.
  const matches = matchObjs?.length
    ? matchObjs.map(decodeMatch)
    : [{ path: { type: 'PathPrefix', value: '/' } }];
  const filters = decodeFilters(r);
  const backendRefs = r.objList('backendRefs', [...BACKEND_REF_FIELDS, 'weight', 'filters'], { max: 16 });
  const rule: HTTPRouteRule = compact({
    name: r.str('name', { check: dnsSubdomain }),
    matches: matches as HTTPRouteMatch[],
    filters,
    backendRefs: backendRefs?.map(decodeBackendRef),
    timeouts: decodeTimeouts(r),
  });
  if (backendRefs?.length && filters?.some((f) => f.type === 'RequestRedirect')) {
    r.error('filters', 'RequestRedirect filter must not be used together with backendRefs');
  }
  checkPrefixRewrite(r, rule);
  return rule;
}

/** CEL: a ReplacePrefixMatch redirect or rewrite needs exactly one match, and that match a PathPrefix. */
function checkPrefixRewrite(r: Obj, rule: HTTPRouteRule): void {
  const all = [...(rule.filters ?? []), ...(rule.backendRefs ?? []).flatMap((b) => b.filters ?? [])];
  const usesPrefix = all.some(
    (f) => (f.requestRedirect ?? f.urlRewrite)?.path?.type === 'ReplacePrefixMatch',
  );
  const m = rule.matches ?? [];
  if (usesPrefix && (m.length !== 1 || m[0].path?.type !== 'PathPrefix')) {
    r.error('matches', 'a ReplacePrefixMatch path modifier requires exactly one match, of type PathPrefix');
  }
}

function decodeMatch(m: Obj): HTTPRouteMatch {
  const headerObjs = m.objList('headers', ['type', 'name', 'value'], { max: 16 });
  const headers = headerObjs?.map((h) => decodeKeyValueMatch(h, 4096) as HTTPHeaderMatch);
  if (headers && headerObjs) {
    unique(
      m.ctx,
      headers,
      (h) => h.name.toLowerCase() || undefined,
      (i) => headerObjs[i].at('name'),
    );
  }
  const queryObjs = m.objList('queryParams', ['type', 'name', 'value'], { max: 16 });
  const queryParams = queryObjs?.map((q) => decodeKeyValueMatch(q, 1024));
  if (queryParams && queryObjs) {
    unique(
      m.ctx,
      queryParams,
      (q) => q.name || undefined,
      (i) => queryObjs[i].at('name'),
    );
  }
  return compact({
    path: decodePath(m),
    headers,
    queryParams,
    method: m.str('method', { oneOf: METHODS }),
  });
}

function decodePath(m: Obj): HTTPPathMatch {
  const p = m.obj('path', ['type', 'value']);
  const type = (p?.str('type', { oneOf: ['Exact', 'PathPrefix', 'RegularExpression'] }) ??
    'PathPrefix') as HTTPPathMatch['type'];
  const check = type === 'RegularExpression' ? re2Regex : absolutePath;
  return { type, value: p?.str('value', { max: 1024, check }) ?? '/' };
}

function decodeKeyValueMatch(o: Obj, maxValue: number): HTTPHeaderMatch {
  const type = (o.str('type', { oneOf: MATCH_TYPES }) ?? 'Exact') as HTTPHeaderMatch['type'];
  return {
    type,
    name: o.str('name', { required: true, min: 1, check: httpToken }) ?? '',
    value:
      o.str('value', {
        required: true,
        min: 1,
        max: maxValue,
        check: type === 'RegularExpression' ? re2Regex : undefined,
      }) ?? '',
  };
}

function decodeBackendRef(b: Obj): HTTPBackendRef {
  return compact({
    ...decodeBackendObjectRef(b),
    weight: b.int('weight', { min: 0, max: 1_000_000 }) ?? 1,
    filters: decodeFilters(b),
  });
}

function decodeTimeouts(r: Obj): HTTPRouteTimeouts | undefined {
  const t = r.obj('timeouts', ['request', 'backendRequest']);
  if (!t) return undefined;
  const timeouts = compact({
    request: t.str('request', { check: duration }),
    backendRequest: t.str('backendRequest', { check: duration }),
  });
  const request = timeouts.request && durationMillis(timeouts.request);
  const backend = timeouts.backendRequest && durationMillis(timeouts.backendRequest);
  // "0s" disables the request timeout, so any backendRequest fits under it.
  if (request && backend && backend > request) {
    t.error('backendRequest', 'must not be longer than the request timeout');
  }
  return timeouts;
}
