// Gateway API hostname semantics: listener × route hostname intersection and virtual-host ordering.
// "*" stands for "any hostname" (a listener and a route that both have none).

import { compareStrings } from './context';

export const ANY_HOST = '*';

function isWildcard(host: string): boolean {
  return host.startsWith('*.');
}

/** `*.example.com` matches one or more extra labels: `a.example.com`, `a.b.example.com`, `*.a.example.com`. */
function wildcardMatches(wildcard: string, host: string): boolean {
  const suffix = wildcard.slice(1); // ".example.com"
  return host.length > suffix.length && host.endsWith(suffix);
}

/** The more specific of two hostnames when they overlap, else undefined. */
function intersectOne(listenerHost: string, routeHost: string): string | undefined {
  const l = listenerHost.toLowerCase();
  const r = routeHost.toLowerCase();
  if (l === r) return r;
  if (isWildcard(l) && wildcardMatches(l, r)) return r;
  if (isWildcard(r) && wildcardMatches(r, l)) return l;
  return undefined;
}

/**
 * Effective hostnames of a route on a listener: [] means the route does not attach to this listener.
 * No listener hostname → the route's hostnames (or "*"); no route hostnames → the listener's (or "*").
 */
export function intersectHostnames(listenerHost: string | undefined, routeHosts: string[]): string[] {
  if (routeHosts.length === 0) return [listenerHost ? listenerHost.toLowerCase() : ANY_HOST];
  const out = listenerHost
    ? routeHosts.map((r) => intersectOne(listenerHost, r)).filter((h): h is string => h !== undefined)
    : routeHosts.map((r) => r.toLowerCase());
  return [...new Set(out)];
}

/** Exact before wildcard, longer before shorter, then alphabetical; "*" last. */
export function compareHostnames(a: string, b: string): number {
  if (a === b) return 0;
  if (a === ANY_HOST) return 1;
  if (b === ANY_HOST) return -1;
  const wa = isWildcard(a) ? 1 : 0;
  const wb = isWildcard(b) ? 1 : 0;
  return wa - wb || b.length - a.length || compareStrings(a, b);
}

/** Whether requests for `host` (itself maybe a wildcard) fall under `pattern` ("*" covers everything). */
export function covers(pattern: string, host: string): boolean {
  return pattern === host || pattern === ANY_HOST || (isWildcard(pattern) && wildcardMatches(pattern, host));
}

/**
 * Route hostname precedence (HTTPRouteSpec.hostnames): rules of the route whose matching hostname has the most
 * non-wildcard characters come first, then the most characters; "*" (no hostname) has none.
 */
export function compareHostnamePrecedence(a: string, b: string): number {
  const exact = (h: string) => (h === ANY_HOST || isWildcard(h) ? 0 : h.length);
  const chars = (h: string) => (h === ANY_HOST ? 0 : h.length);
  return exact(b) - exact(a) || chars(b) - chars(a);
}
