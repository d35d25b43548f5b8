// RouteConfiguration for one Gateway port: one virtual host per hostname, routes in the precedence order stage 1
// decided, and per-route enabling of the InferencePool's ext_proc filter (disabled on every other route).

import type { RouteConfiguration } from '../../../generated/envoy/config/route/v3/route';
import type {
  HeaderMatcher,
  QueryParameterMatcher,
  Route,
  RouteAction,
  RouteMatch,
} from '../../../generated/envoy/config/route/v3/route_components';
import { RedirectAction_RedirectResponseCode } from '../../../generated/envoy/config/route/v3/route_components';
import type { HeaderValueOption } from '../../../generated/envoy/config/core/v3/base';
import { HeaderValueOption_HeaderAppendAction } from '../../../generated/envoy/config/core/v3/base';
import type { StringMatcher } from '../../../generated/envoy/type/matcher/v3/string';
import type { Any } from '../../../generated/google/protobuf/any';
import type {
  BackendIR,
  HeaderModifierIR,
  PoolIR,
  PortIR,
  RouteIR,
  StringMatchIR,
  URLRewriteIR,
} from '../ir';
import { SERVED_ENDPOINT_HEADER } from './cluster';
import { duration } from './common';
import { EPP_FILTER_NAME, eppGrpcService } from './extproc';
import { make, pack, T, type DeepPartial } from './types';

const REDIRECT_CODES: Record<number, RedirectAction_RedirectResponseCode> = {
  301: RedirectAction_RedirectResponseCode.MOVED_PERMANENTLY,
  302: RedirectAction_RedirectResponseCode.FOUND,
  303: RedirectAction_RedirectResponseCode.SEE_OTHER,
  307: RedirectAction_RedirectResponseCode.TEMPORARY_REDIRECT,
  308: RedirectAction_RedirectResponseCode.PERMANENT_REDIRECT,
};

/** Retries walk the EPP's comma-separated endpoint list: override_host hands out the next listed host. */
const POOL_RETRY_ON = 'connect-failure,refused-stream,reset-before-request';
const POOL_RETRIES = 2;

export function routeConfiguration(port: PortIR, pools: Map<string, PoolIR>): RouteConfiguration {
  return make(T.RouteConfiguration, {
    name: port.routeConfigName,
    ignorePortInHostMatching: true,
    virtualHosts: port.virtualHosts.map((vh) => ({
      name: vh.name,
      domains: vh.domains,
      routes: vh.routes.map((r) => route(r, pools)),
    })),
  });
}

function route(r: RouteIR, pools: Map<string, PoolIR>): DeepPartial<Route> {
  const out: DeepPartial<Route> = {
    name: r.name,
    match: match(r),
    requestHeadersToAdd: headersToAdd(r.requestHeaders),
    requestHeadersToRemove: r.requestHeaders?.remove ?? [],
    responseHeadersToAdd: headersToAdd(r.responseHeaders),
    responseHeadersToRemove: r.responseHeaders?.remove ?? [],
  };
  const a = r.action;
  if (a.type === 'redirect') {
    const rd = a.redirect;
    out.action = {
      $case: 'redirect',
      value: {
        ...(rd.scheme ? { schemeRewriteSpecifier: { $case: 'schemeRedirect', value: rd.scheme } } : {}),
        hostRedirect: rd.hostname ?? '',
        portRedirect: rd.port ?? 0,
        responseCode: REDIRECT_CODES[rd.statusCode],
        ...(rd.path?.type === 'ReplaceFullPath'
          ? { pathRewriteSpecifier: { $case: 'pathRedirect', value: rd.path.value } }
          : rd.path?.type === 'ReplacePrefixMatch'
            ? { pathRewriteSpecifier: { $case: 'regexRewrite', value: prefixRewrite(r, rd.path.value) } }
            : {}),
      },
    };
  } else if (a.type === 'direct') {
    out.action = {
      $case: 'directResponse',
      value: {
        status: a.status,
        body: a.body ? { specifier: { $case: 'inlineString', value: a.body } } : undefined,
      },
    };
  } else {
    out.action = { $case: 'route', value: forward(r, a.backends, pools) };
    // For the served-endpoint filter (listener.ts): the host that answered, reported to the EPP as metadata.
    if (a.backends.some((b) => b.pool))
      out.responseHeadersToAdd = [
        ...(out.responseHeadersToAdd ?? []),
        {
          header: { key: SERVED_ENDPOINT_HEADER, value: '%UPSTREAM_REMOTE_ADDRESS%' },
          appendAction: HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
        },
      ];
    const only = a.backends.length === 1 ? a.backends[0] : undefined;
    if (only?.pool) out.typedPerFilterConfig = enableExtProc(pools.get(only.pool));
  }
  return out;
}

function forward(r: RouteIR, backends: BackendIR[], pools: Map<string, PoolIR>): DeepPartial<RouteAction> {
  const action: DeepPartial<RouteAction> = {};
  if (backends.length === 1) {
    action.clusterSpecifier = { $case: 'cluster', value: backends[0].cluster };
  } else {
    action.clusterSpecifier = {
      $case: 'weightedClusters',
      value: {
        clusters: backends.map((b) => ({
          name: b.cluster,
          weight: b.weight,
          // The weighted pick happens before ext_proc runs, so each pool's picker is enabled on its own share.
          typedPerFilterConfig: b.pool ? enableExtProc(pools.get(b.pool)) : {},
        })),
      },
    };
  }
  const toPool = backends.some((b) => b.pool);
  // Gateway API leaves the default to the implementation: LLM responses stream for minutes, so pools get none.
  const timeoutMs = r.timeoutMs ?? (toPool ? 0 : undefined);
  if (timeoutMs !== undefined) action.timeout = duration(timeoutMs);
  if (toPool || r.backendTimeoutMs !== undefined) {
    action.retryPolicy = {
      retryOn: toPool ? POOL_RETRY_ON : 'reset-before-request',
      numRetries: toPool ? POOL_RETRIES : 0,
      ...(r.backendTimeoutMs !== undefined ? { perTryTimeout: duration(r.backendTimeoutMs) } : {}),
      ...(toPool
        ? {
            retryHostPredicate: [
              {
                name: 'envoy.retry_host_predicates.previous_hosts',
                configType: { $case: 'typedConfig', value: pack(T.PreviousHostsPredicate, {}) },
              },
            ],
            hostSelectionRetryMaxAttempts: 5,
          }
        : {}),
    };
  }
  if (r.mirrors.length) {
    action.requestMirrorPolicies = r.mirrors.map((m) => ({
      cluster: m.cluster,
      ...(m.percent !== undefined && m.percent < 100
        ? { runtimeFraction: { defaultValue: { numerator: Math.round(m.percent * 10000), denominator: 2 } } }
        : {}),
    }));
  }
  if (r.urlRewrite) Object.assign(action, urlRewrite(r, r.urlRewrite));
  return action;
}

function urlRewrite(r: RouteIR, u: URLRewriteIR): DeepPartial<RouteAction> {
  const out: DeepPartial<RouteAction> = {};
  if (u.hostname) out.hostRewriteSpecifier = { $case: 'hostRewriteLiteral', value: u.hostname };
  if (u.path?.type === 'ReplaceFullPath') {
    out.regexRewrite = { pattern: { regex: '^/.*$' }, substitution: u.path.value };
  } else if (u.path?.type === 'ReplacePrefixMatch') {
    out.regexRewrite = prefixRewrite(r, u.path.value);
  }
  return out;
}

/** Replaces the matched path prefix, keeping the "/" boundary right whatever slashes either side carries. */
function prefixRewrite(r: RouteIR, replacement: string) {
  const prefix = r.path.value.replace(/\/+$/, '');
  const rep = replacement.replace(/\/+$/, '');
  const pattern = `^${escapeRegex(prefix)}${rep === '' ? '/*' : ''}`;
  return { pattern: { regex: pattern }, substitution: rep === '' ? '/' : rep };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Enables the Endpoint Picker filter (disabled in the HCM) on one route: this pool's EPP and failure mode. */
function enableExtProc(pool: PoolIR | undefined): Record<string, Any> {
  const epp = pool?.endpointPicker;
  if (!epp) return {};
  const perRoute = pack(T.ExtProcPerRoute, {
    override: {
      $case: 'overrides',
      value: { grpcService: eppGrpcService(epp.clusterName, epp.authority), failureModeAllow: epp.failOpen },
    },
  });
  return { [EPP_FILTER_NAME]: pack(T.FilterConfig, { config: perRoute }) };
}

function match(r: RouteIR): DeepPartial<RouteMatch> {
  const m: DeepPartial<RouteMatch> = {};
  const p = r.path;
  if (p.type === 'Exact') m.pathSpecifier = { $case: 'path', value: p.value };
  else if (p.type === 'RegularExpression')
    m.pathSpecifier = { $case: 'safeRegex', value: { regex: p.value } };
  else if (p.value === '/' || p.value === '') m.pathSpecifier = { $case: 'prefix', value: '/' };
  // Gateway API prefixes match whole path segments: /foo matches /foo and /foo/bar but not /foobar.
  else m.pathSpecifier = { $case: 'pathSeparatedPrefix', value: p.value.replace(/\/+$/, '') };
  const headers: DeepPartial<HeaderMatcher>[] = r.headers.map((h) => ({
    name: h.name,
    headerMatchSpecifier: { $case: 'stringMatch', value: stringMatch(h) },
  }));
  if (r.method) {
    headers.push({
      name: ':method',
      headerMatchSpecifier: {
        $case: 'stringMatch',
        value: { matchPattern: { $case: 'exact', value: r.method } },
      },
    });
  }
  m.headers = headers;
  m.queryParameters = r.queryParams.map((q): DeepPartial<QueryParameterMatcher> => ({
    name: q.name,
    queryParameterMatchSpecifier: { $case: 'stringMatch', value: stringMatch(q) },
  }));
  return m;
}

function stringMatch(s: StringMatchIR): DeepPartial<StringMatcher> {
  return s.type === 'Exact'
    ? { matchPattern: { $case: 'exact', value: s.value } }
    : { matchPattern: { $case: 'safeRegex', value: { regex: s.value } } };
}

function headersToAdd(h: HeaderModifierIR | undefined): DeepPartial<HeaderValueOption>[] {
  if (!h) return [];
  return [
    ...h.set.map((x) => ({
      header: { key: x.name, value: x.value },
      appendAction: HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
    })),
    ...h.add.map((x) => ({
      header: { key: x.name, value: x.value },
      appendAction: HeaderValueOption_HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD,
    })),
  ];
}
