// header-based-testing-filter: keeps only the endpoints named in the test-epp-endpoint-selection header. A client
// header that pins a pod is a test facility, so it acts only where an EndpointPickerConfig puts this filter in a
// scheduling profile (conformance and test configs); the default config never honours the header.

import type { PluginRegistration } from '../../scheduling/registry';
import { PluginKind, type Filter } from '../../scheduling/types';
import type { EndpointState } from '../../types';

export const TEST_SELECTION_HEADER = 'test-epp-endpoint-selection';

/**
 * Endpoints matching the comma-separated `ip` or `ip:port` entries, in header order. An ip entry matches every
 * port of that address. A missing or empty header selects nothing, as in the reference conformance filter.
 */
export function selectByHeader(
  value: string | undefined,
  endpoints: readonly EndpointState[],
): EndpointState[] {
  if (!value) return [];
  const out: EndpointState[] = [];
  const taken = new Set<EndpointState>();
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    for (const e of endpoints) {
      if (taken.has(e)) continue;
      if (
        e.endpoint.key === entry ||
        e.endpoint.address === entry ||
        e.endpoint.address === stripBrackets(entry)
      ) {
        taken.add(e);
        out.push(e);
      }
    }
  }
  return out;
}

const stripBrackets = (s: string) => (s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s);

/** The filter, and the response header it asks the EPP to report the served endpoint in (test facility). */
export interface TestingFilter extends Filter {
  readonly type: 'header-based-testing-filter';
  /** Parameter `servedEndpointHeader`: every response carries the endpoint that served it (as lwepp's conformance header). */
  readonly servedEndpointHeader?: string;
}

export const TESTING_FILTER = new PluginKind<TestingFilter>('testing-filter');

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

export const headerBasedTestingFilter: PluginRegistration = {
  type: 'header-based-testing-filter',
  description: `Test filter: keeps the endpoints listed (ip or ip:port, comma-separated) in ${TEST_SELECTION_HEADER}; requests without the header pass unfiltered. servedEndpointHeader: a response header the EPP sets to the endpoint that served the request.`,
  factory: (name, params): TestingFilter => {
    const served = params.string('servedEndpointHeader', '');
    if (served && !HEADER_NAME.test(served))
      params.error(
        'servedEndpointHeader',
        `must be a lowercase HTTP header name, got ${JSON.stringify(served)}`,
      );
    params.finish();
    return {
      type: 'header-based-testing-filter',
      name,
      kinds: [TESTING_FILTER],
      ...(served ? { servedEndpointHeader: served } : {}),
      // Without the header the request is scheduled as usual, so pinned and unpinned traffic can share one test
      // config (the reference filter selects nothing then); a header naming nothing still leaves nothing (429).
      filter: (req, endpoints) => {
        const value = req.headers[TEST_SELECTION_HEADER];
        return value === undefined ? endpoints : selectByHeader(value, endpoints);
      },
    };
  },
};
