// HTTPRoute matches → IR matches, and the Gateway API route precedence used to order routes in a virtual host.
//
// Precedence (HTTPRouteRule.matches in the Gateway API spec), first difference wins:
//   1. path type: Exact, then RegularExpression, then PathPrefix. Regex precedence is implementation-specific;
//      like Envoy Gateway we put it between Exact and PathPrefix.
//   2. longer path value first (the prefix "/" counts as 1 character);
//   3. a method match before none;
//   4. more header matches; 5. more query-param matches;
//   then ties: oldest creationTimestamp (a missing or unparsable one sorts after present ones),
//   "{namespace}/{name}" alphabetically, rule index, match index.

import type { HTTPRouteMatch } from '../../api/types';
import type { PathMatchIR, RouteIR, StringMatchIR } from '../ir';
import { compareStrings } from './context';

export interface MatchIR {
  path: PathMatchIR;
  headers: StringMatchIR[];
  queryParams: StringMatchIR[];
  method?: string;
}

function uniqueBy<T>(items: T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((t) => {
    const k = key(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Undefined match = the Gateway API default: PathPrefix "/". Duplicate header/query names: the first wins. */
export function convertMatch(match: HTTPRouteMatch | undefined): MatchIR {
  const path: PathMatchIR = {
    type: match?.path?.type ?? 'PathPrefix',
    value: match?.path?.value ?? '/',
  };
  const headers = uniqueBy(
    (match?.headers ?? []).map((h): StringMatchIR => ({
      name: h.name.toLowerCase(),
      type: h.type ?? 'Exact',
      value: h.value,
    })),
    (h) => h.name,
  );
  const queryParams = uniqueBy(
    (match?.queryParams ?? []).map((q): StringMatchIR => ({
      name: q.name,
      type: q.type ?? 'Exact',
      value: q.value,
    })),
    (q) => q.name,
  );
  return { path, headers, queryParams, ...(match?.method ? { method: match.method } : {}) };
}

/** A RouteIR plus what precedence needs but the IR does not carry. */
export interface RankedRoute {
  ir: RouteIR;
  /** creationTimestamp of the HTTPRoute in epoch milliseconds. */
  created?: number;
}

const PATH_RANK: Record<PathMatchIR['type'], number> = { Exact: 0, RegularExpression: 1, PathPrefix: 2 };

export function parseTimestamp(ts: string | undefined): number | undefined {
  if (ts === undefined) return undefined;
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? undefined : ms;
}

function compareCreated(a: number | undefined, b: number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return a - b;
}

export function compareRoutes(a: RankedRoute, b: RankedRoute): number {
  const x = a.ir;
  const y = b.ir;
  return (
    PATH_RANK[x.path.type] - PATH_RANK[y.path.type] ||
    y.path.value.length - x.path.value.length ||
    (y.method ? 1 : 0) - (x.method ? 1 : 0) ||
    y.headers.length - x.headers.length ||
    y.queryParams.length - x.queryParams.length ||
    compareCreated(a.created, b.created) ||
    compareStrings(`${x.route.namespace}/${x.route.name}`, `${y.route.namespace}/${y.route.name}`) ||
    x.route.ruleIndex - y.route.ruleIndex ||
    x.route.matchIndex - y.route.matchIndex
  );
}
