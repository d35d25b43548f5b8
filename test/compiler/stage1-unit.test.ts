// Stage 1 behaviour the loader would never let through (so goldens cannot show it), and the small helpers.
// Resources here are built by hand with no defaults applied: buildIR must treat undefined as the CRD default.

import { emptyResourceSet, type Gateway, type HTTPRoute, type ResourceSet } from '../../src/api/types';
import { buildIR } from '../../src/compiler/gatewayapi';
import { compareHostnames, intersectHostnames } from '../../src/compiler/gatewayapi/hostnames';
import { parseDuration } from '../../src/compiler/gatewayapi/rules';

function gateway(listeners: Gateway['spec']['listeners'], className = 'infergate'): Gateway {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'gw', namespace: 'default' },
    spec: { gatewayClassName: className, listeners },
  };
}

function route(spec: HTTPRoute['spec']): HTTPRoute {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'r', namespace: 'default' },
    spec,
  };
}

function resources(partial: Partial<ResourceSet>): ResourceSet {
  return {
    ...emptyResourceSet(),
    gatewayClasses: [
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'GatewayClass',
        metadata: { name: 'infergate', namespace: '' },
        spec: { controllerName: 'infergate.io/gateway-controller' },
      },
    ],
    ...partial,
  };
}

describe('buildIR without loader defaults', () => {
  it('answers 500 for a filter type it does not know, and reports UnsupportedValue', () => {
    const out = buildIR(
      resources({
        gateways: [gateway([{ name: 'http', port: 80, protocol: 'HTTP' }])],
        httpRoutes: [route({ parentRefs: [{ name: 'gw' }], rules: [{ filters: [{ type: 'CORS' }] }] })],
      }),
    );
    const routes = out.ir.gateways[0].ports[0].virtualHosts[0].routes;
    expect(routes.map((r) => r.action)).toEqual([{ type: 'direct', status: 500 }]);
    expect(routes[0].path).toEqual({ type: 'PathPrefix', value: '/' });
    const parent = out.statuses.find((s) => s.kind === 'HTTPRoute')?.parents?.[0];
    expect(parent?.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Accepted', 'True', 'Accepted'],
      ['ResolvedRefs', 'False', 'UnsupportedValue'],
    ]);
    expect(out.problems.map((p) => p.path)).toEqual(['spec.rules[0].filters[0]']);
  });

  it('marks two listeners with one hostname on one port HostnameConflict and compiles neither', () => {
    const out = buildIR(
      resources({
        gateways: [
          gateway([
            { name: 'a', port: 80, protocol: 'HTTP', hostname: 'x.example.com' },
            { name: 'b', port: 80, protocol: 'HTTP', hostname: 'x.example.com' },
          ]),
        ],
      }),
    );
    expect(out.ir.gateways).toEqual([]);
    const gw = out.statuses.find((s) => s.kind === 'Gateway');
    expect(gw?.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Accepted', 'False', 'ListenersNotValid'],
      ['Programmed', 'False', 'Invalid'],
    ]);
    for (const l of gw?.listeners ?? []) {
      expect(l.conditions.find((c) => c.type === 'Conflicted')).toMatchObject({
        status: 'True',
        reason: 'HostnameConflict',
      });
    }
  });

  it('tolerates missing optional fields and lists (rules, matches, weights, ports)', () => {
    const set = resources({
      gateways: [gateway([{ name: 'http', port: 80, protocol: 'HTTP' }])],
      httpRoutes: [route({ parentRefs: [{ name: 'gw' }] })],
    }) as Partial<ResourceSet>;
    delete set.pods;
    delete set.endpointSlices;
    const out = buildIR(set as ResourceSet);
    expect(out.ir.gateways[0].ports[0].virtualHosts[0].routes[0].action).toEqual({
      type: 'direct',
      status: 500,
    });
  });

  it('uses the controllerName option: a class of the default controller is then foreign', () => {
    const out = buildIR(
      resources({
        gateways: [gateway([{ name: 'http', port: 80, protocol: 'HTTP' }])],
        httpRoutes: [route({ parentRefs: [{ name: 'gw' }] })],
      }),
      { controllerName: 'example.com/other' },
    );
    expect(out).toEqual({ ir: { gateways: [] }, statuses: [], problems: [] });
  });
});

describe('helpers', () => {
  it('parses Gateway API durations', () => {
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('1h2m3s4ms')).toBe(3_723_004);
    expect(parseDuration('0s')).toBe(0);
    expect(parseDuration('10')).toBeUndefined();
    expect(parseDuration('1d')).toBeUndefined();
  });

  it('intersects hostnames per the Gateway API', () => {
    expect(intersectHostnames(undefined, [])).toEqual(['*']);
    expect(intersectHostnames('*.a.com', [])).toEqual(['*.a.com']);
    expect(intersectHostnames('*.a.com', ['foo.a.com', 'a.com', 'x.y.a.com'])).toEqual([
      'foo.a.com',
      'x.y.a.com',
    ]);
    expect(intersectHostnames('foo.a.com', ['*.a.com'])).toEqual(['foo.a.com']);
    expect(intersectHostnames('*.a.com', ['*.b.a.com'])).toEqual(['*.b.a.com']);
    expect(intersectHostnames('*.b.a.com', ['*.a.com'])).toEqual(['*.b.a.com']);
    expect(intersectHostnames('foo.a.com', ['bar.a.com'])).toEqual([]);
  });

  it('orders virtual hosts exact, then wildcard, longer first, "*" last', () => {
    const hosts = ['*', '*.a.com', 'b.com', '*.long.a.com', 'foo.a.com'];
    expect([...hosts].sort(compareHostnames)).toEqual(['foo.a.com', 'b.com', '*.long.a.com', '*.a.com', '*']);
  });
});

describe('infergate.io/epp-processing-mode', () => {
  const withAnnotations = (classMode?: string, gatewayMode?: string) => {
    const r = resources({ gateways: [gateway([{ name: 'http', port: 80, protocol: 'HTTP' }])] });
    const ann = (v?: string) =>
      v === undefined ? {} : { annotations: { 'infergate.io/epp-processing-mode': v } };
    r.gatewayClasses[0].metadata = { ...r.gatewayClasses[0].metadata, ...ann(classMode) };
    r.gateways[0].metadata = { ...r.gateways[0].metadata, ...ann(gatewayMode) };
    return buildIR(r);
  };

  it('is absent by default (FULL_DUPLEX_STREAMED), taken from the GatewayClass, and a Gateway overrides it', () => {
    expect(withAnnotations().ir.gateways[0].eppProcessingMode).toBeUndefined();
    expect(withAnnotations('STREAMED').ir.gateways[0].eppProcessingMode).toBe('STREAMED');
    expect(withAnnotations(undefined, 'STREAMED').ir.gateways[0].eppProcessingMode).toBe('STREAMED');
    expect(
      withAnnotations('STREAMED', 'FULL_DUPLEX_STREAMED').ir.gateways[0].eppProcessingMode,
    ).toBeUndefined();
  });

  it('an unknown value is a problem at the annotation and leaves the protocol default', () => {
    const out = withAnnotations('BUFFERED');
    expect(out.ir.gateways[0].eppProcessingMode).toBeUndefined();
    expect(out.problems.map((p) => [p.resource, p.path])).toEqual([
      ['GatewayClass infergate', 'metadata.annotations[infergate.io/epp-processing-mode]'],
    ]);
  });
});
