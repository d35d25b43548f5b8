// The conformance features infergate implements, named as the Gateway API suite (sigs.k8s.io/gateway-api
// pkg/features, v1.6) and the Inference Extension suite (conformance/utils/features) name them. This is what
// GatewayClass status.supportedFeatures says, so each entry must be backed by the compiler:
//
//   Gateway, HTTPRoute                    the core resources (gatewayapi/gateways.ts, attachment.ts, rules.ts)
//   GatewayPort8080                       listeners on any port, 8080 included
//   GatewayHTTPListenerIsolation          a Host goes only to routes of its most specific listener (assemble.ts)
//   HTTPRoute303/307/308RedirectStatusCode RequestRedirect statusCode 303/307/308 (xds/route.ts REDIRECT_CODES)
//   HTTPRouteBackendProtocolH2C           Service port appProtocol kubernetes.io/h2c → an h2c cluster
//   HTTPRouteBackendTimeout, ...RequestTimeout  rules[].timeouts.backendRequest / .request
//   HTTPRouteHostRewrite, ...PathRewrite  URLRewrite filter
//   HTTPRouteMethodMatching, ...QueryParamMatching  matches[].method / .queryParams
//   HTTPRouteNamedRouteRule               rules[].name accepted and validated
//   HTTPRouteParentRefPort                parentRefs[].port selects listeners
//   HTTPRoutePathRedirect, ...PortRedirect, ...SchemeRedirect  RequestRedirect filter
//   HTTPRouteRequestMirror, ...MultipleMirrors, ...PercentageMirror  RequestMirror filters (percent, fraction)
//   HTTPRouteResponseHeaderModification   ResponseHeaderModifier filter
//   ReferenceGrant                        cross-namespace references allowed by ReferenceGrants
//   SupportInferencePool                  the Inference Extension's core feature (its suite keeps "Support")
//
// Not claimed: backendRef-level filters (HTTPRouteBackendRequestHeaderModification: ignored with a warning),
// WebSocket backends (no upgrade config), CORS, retry, destination-port matching (mesh), static Gateway addresses,
// infrastructure propagation, ListenerSet, frontend client-certificate validation (ignored).

/** Sorted ascending by byte order, as the GatewayClass status field requires. */
export const SUPPORTED_FEATURES: readonly string[] = [
  'Gateway',
  'GatewayHTTPListenerIsolation',
  'GatewayPort8080',
  'HTTPRoute',
  'HTTPRoute303RedirectStatusCode',
  'HTTPRoute307RedirectStatusCode',
  'HTTPRoute308RedirectStatusCode',
  'HTTPRouteBackendProtocolH2C',
  'HTTPRouteBackendTimeout',
  'HTTPRouteHostRewrite',
  'HTTPRouteMethodMatching',
  'HTTPRouteNamedRouteRule',
  'HTTPRouteParentRefPort',
  'HTTPRoutePathRedirect',
  'HTTPRoutePathRewrite',
  'HTTPRoutePortRedirect',
  'HTTPRouteQueryParamMatching',
  'HTTPRouteRequestMirror',
  'HTTPRouteRequestMultipleMirrors',
  'HTTPRouteRequestPercentageMirror',
  'HTTPRouteRequestTimeout',
  'HTTPRouteResponseHeaderModification',
  'HTTPRouteSchemeRedirect',
  'ReferenceGrant',
  'SupportInferencePool',
];
