// ReferenceGrant in stage 1: a backendRef (Service, InferencePool, RequestMirror) or a listener certificateRef into
// another namespace resolves only when a grant there trusts the referrer's group, kind and namespace for that
// target; otherwise RefNotPermitted. Inputs go through the real loader, so they carry the CRD defaults.

import { parseText } from '../../src/api/load';
import type { ResourceSet } from '../../src/api/types';
import { buildIR } from '../../src/compiler/gatewayapi';
import type { BuildIRResult } from '../../src/compiler/gatewayapi';

const BASE = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: infergate}
spec: {controllerName: infergate.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: infergate
  listeners:
    - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: backends}
spec: {clusterIP: 10.96.1.1, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: other, namespace: backends}
spec: {clusterIP: 10.96.1.2, ports: [{port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: backends, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.1.0.7], conditions: {ready: true}}]
ports: [{port: 8080}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: vllm, namespace: models}
spec:
  selector: {matchLabels: {app: vllm}}
  targetPorts: [{number: 8000}]
---
apiVersion: v1
kind: Pod
metadata: {name: vllm-0, namespace: models, labels: {app: vllm}}
status: {podIP: 10.3.0.1, conditions: [{type: Ready, status: "True"}]}
`;

function route(backendRefs: string, filters = ''): string {
  return `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  rules:
    - backendRefs: ${backendRefs}
${filters ? `      filters: ${filters}` : ''}
`;
}

/** A ReferenceGrant in `namespace`; `from` and `to` are YAML flow sequences. */
function grant(namespace: string, from: string, to: string, name = 'grant'): string {
  return `
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  from: ${from}
  to: ${to}
`;
}

const FROM_APPS_ROUTES = '[{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}]';
const WEB = '[{name: web, namespace: backends, port: 80}]';
const POOL = '[{group: inference.networking.k8s.io, kind: InferencePool, name: vllm, namespace: models}]';

function load(...docs: string[]): ResourceSet {
  const { resources, problems } = parseText([BASE, ...docs].join('\n---\n'), 'case.yaml');
  expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
  return resources;
}

function routeResolvedRefs(out: BuildIRResult): [string, string, string] {
  const s = out.statuses.find((x) => x.kind === 'HTTPRoute');
  const c = s?.parents?.[0].conditions.find((x) => x.type === 'ResolvedRefs');
  return [c?.status ?? '', c?.reason ?? '', c?.message ?? ''];
}

function routeAction(out: BuildIRResult) {
  return out.ir.gateways[0].ports[0].virtualHosts[0].routes[0].action;
}

describe('HTTPRoute backendRef to a Service in another namespace', () => {
  it('is RefNotPermitted without a grant, and the rule answers 500', () => {
    const out = buildIR(load(route(WEB)));
    expect(routeResolvedRefs(out)).toEqual([
      'False',
      'RefNotPermitted',
      'backendRef to Service backends/web is not permitted (no ReferenceGrant in namespace backends allows ' +
        'HTTPRoute from namespace apps to refer to core Service)',
    ]);
    expect(routeAction(out)).toEqual({ type: 'direct', status: 500 });
    expect(out.ir.gateways[0].clusters).toEqual([]);
    // The route is still Accepted: attachment is governed by allowedRoutes, not by ReferenceGrant.
    const accepted = out.statuses.find((x) => x.kind === 'HTTPRoute')?.parents?.[0].conditions[0];
    expect([accepted?.type, accepted?.status]).toEqual(['Accepted', 'True']);
  });

  it('resolves when a grant names the Service: the cluster is in the Service namespace, with its endpoints', () => {
    const out = buildIR(
      load(route(WEB), grant('backends', FROM_APPS_ROUTES, '[{group: "", kind: Service, name: web}]')),
    );
    expect(routeResolvedRefs(out)).toEqual(['True', 'ResolvedRefs', 'All references resolved']);
    expect(routeAction(out)).toEqual({
      type: 'forward',
      backends: [{ cluster: 'service/backends/web/80', weight: 1 }],
    });
    expect(out.ir.gateways[0].clusters).toEqual([
      {
        name: 'service/backends/web/80',
        namespace: 'backends',
        service: 'web',
        port: 80,
        protocol: 'http1',
        endpoints: [{ address: '10.1.0.7', port: 8080 }],
      },
    ]);
    expect(out.problems).toEqual([]);
  });

  it('resolves every Service of the namespace when the grant names none', () => {
    const refs = '[{name: web, namespace: backends, port: 80}, {name: other, namespace: backends, port: 80}]';
    const out = buildIR(
      load(route(refs), grant('backends', FROM_APPS_ROUTES, '[{group: "", kind: Service}]')),
    );
    expect(routeResolvedRefs(out)[0]).toBe('True');
    expect(out.ir.gateways[0].clusters.map((c) => c.name)).toEqual([
      'service/backends/other/80',
      'service/backends/web/80',
    ]);
  });

  it('ORs the entries of from and to, and the grants of a namespace', () => {
    const from = `[{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: elsewhere},
      {group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}]`;
    const to = '[{group: "", kind: Secret}, {group: "", kind: Service, name: web}]';
    const refs = '[{name: web, namespace: backends, port: 80}, {name: other, namespace: backends, port: 80}]';
    const out = buildIR(
      load(
        route(refs),
        grant('backends', from, to, 'a'),
        grant('backends', FROM_APPS_ROUTES, '[{group: "", kind: Service, name: other}]', 'b'),
      ),
    );
    expect(routeResolvedRefs(out)[0]).toBe('True');
    expect(out.ir.gateways[0].clusters.map((c) => c.name)).toEqual([
      'service/backends/other/80',
      'service/backends/web/80',
    ]);
  });

  const NOT_PERMITTED: [string, string][] = [
    [
      'from another namespace',
      grant(
        'backends',
        '[{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: elsewhere}]',
        '[{group: "", kind: Service}]',
      ),
    ],
    [
      'from another kind (Gateway)',
      grant(
        'backends',
        '[{group: gateway.networking.k8s.io, kind: Gateway, namespace: apps}]',
        '[{group: "", kind: Service}]',
      ),
    ],
    [
      'from another group',
      grant(
        'backends',
        '[{group: example.com, kind: HTTPRoute, namespace: apps}]',
        '[{group: "", kind: Service}]',
      ),
    ],
    ['to another kind (Secret)', grant('backends', FROM_APPS_ROUTES, '[{group: "", kind: Secret}]')],
    ['to another group', grant('backends', FROM_APPS_ROUTES, '[{group: example.com, kind: Service}]')],
    ['to another name', grant('backends', FROM_APPS_ROUTES, '[{group: "", kind: Service, name: other}]')],
    // A grant only speaks for its own namespace: one beside the route grants nothing in "backends".
    ['in the wrong namespace', grant('apps', FROM_APPS_ROUTES, '[{group: "", kind: Service}]')],
  ];

  it.each(NOT_PERMITTED)('stays RefNotPermitted with a grant %s', (_name, doc) => {
    const out = buildIR(load(route(WEB), doc));
    expect(routeResolvedRefs(out).slice(0, 2)).toEqual(['False', 'RefNotPermitted']);
    expect(routeAction(out)).toEqual({ type: 'direct', status: 500 });
    expect(out.problems.map((p) => [p.resource, p.path])).toEqual([
      ['HTTPRoute apps/app', 'spec.rules[0].backendRefs[0]'],
    ]);
  });

  it('refuses the ref again once the grant is deleted', () => {
    const granted = load(route(WEB), grant('backends', FROM_APPS_ROUTES, '[{group: "", kind: Service}]'));
    expect(routeResolvedRefs(buildIR(granted))[0]).toBe('True');
    const revoked: ResourceSet = { ...granted, referenceGrants: [] };
    const out = buildIR(revoked);
    expect(routeResolvedRefs(out).slice(0, 2)).toEqual(['False', 'RefNotPermitted']);
    expect(routeAction(out)).toEqual({ type: 'direct', status: 500 });
    expect(out.ir.gateways[0].clusters).toEqual([]);
  });

  it('sends a refused backend share to the permitted ones of the rule, and still reports RefNotPermitted', () => {
    const refs = '[{name: web, namespace: backends, port: 80}, {name: other, namespace: backends, port: 80}]';
    const out = buildIR(
      load(route(refs), grant('backends', FROM_APPS_ROUTES, '[{group: "", kind: Service, name: web}]')),
    );
    expect(routeResolvedRefs(out).slice(0, 2)).toEqual(['False', 'RefNotPermitted']);
    expect(routeResolvedRefs(out)[2]).toContain('Service backends/other');
    expect(routeAction(out)).toEqual({
      type: 'forward',
      backends: [{ cluster: 'service/backends/web/80', weight: 1 }],
    });
  });

  it('checks the grant before looking the Service up: a missing target without a grant is RefNotPermitted', () => {
    const out = buildIR(load(route('[{name: ghost, namespace: backends, port: 80}]')));
    expect(routeResolvedRefs(out).slice(0, 2)).toEqual(['False', 'RefNotPermitted']);
  });

  it('reports BackendNotFound for a granted Service that does not exist', () => {
    const out = buildIR(
      load(
        route('[{name: ghost, namespace: backends, port: 80}]'),
        grant('backends', FROM_APPS_ROUTES, '[{group: "", kind: Service}]'),
      ),
    );
    expect(routeResolvedRefs(out)).toEqual(['False', 'BackendNotFound', 'Service backends/ghost not found']);
  });
});

describe('HTTPRoute backendRef to an InferencePool in another namespace', () => {
  it('is RefNotPermitted without a grant; the pool gets no parent', () => {
    const out = buildIR(load(route(POOL)));
    expect(routeResolvedRefs(out)).toEqual([
      'False',
      'RefNotPermitted',
      'backendRef to InferencePool models/vllm is not permitted (no ReferenceGrant in namespace models allows ' +
        'HTTPRoute from namespace apps to refer to inference.networking.k8s.io InferencePool)',
    ]);
    expect(out.ir.gateways[0].pools).toEqual([]);
    expect(out.statuses.find((s) => s.kind === 'InferencePool')?.parents).toEqual([]);
  });

  it('resolves with a grant to the InferencePool group and kind', () => {
    const out = buildIR(
      load(
        route(POOL),
        grant('models', FROM_APPS_ROUTES, '[{group: inference.networking.k8s.io, kind: InferencePool}]'),
      ),
    );
    expect(routeResolvedRefs(out)[0]).toBe('True');
    expect(routeAction(out)).toEqual({
      type: 'forward',
      backends: [{ cluster: 'inferencepool/models/vllm', weight: 1, pool: 'models/vllm' }],
    });
    const [pool] = out.ir.gateways[0].pools;
    expect([pool.key, pool.endpoints]).toEqual([
      'models/vllm',
      [{ address: '10.3.0.1', port: 8000, name: 'vllm-0' }],
    ]);
    const parent = out.statuses.find((s) => s.kind === 'InferencePool')?.parents?.[0];
    expect(parent?.parentRef).toEqual({
      group: 'gateway.networking.k8s.io',
      kind: 'Gateway',
      namespace: 'infra',
      name: 'gw',
    });
    expect(parent?.conditions.map((c) => [c.type, c.status])).toEqual([
      ['Accepted', 'True'],
      ['ResolvedRefs', 'True'],
    ]);
  });

  it('stays RefNotPermitted when the grant names the kind in another group', () => {
    const to = '[{group: inference.networking.x-k8s.io, kind: InferencePool}]';
    const out = buildIR(load(route(POOL), grant('models', FROM_APPS_ROUTES, to)));
    expect(routeResolvedRefs(out).slice(0, 2)).toEqual(['False', 'RefNotPermitted']);
  });

  it('never falls back to a pool of the same name in the route namespace', () => {
    const local = `
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: vllm, namespace: apps}
spec:
  selector: {matchLabels: {app: vllm}}
  targetPorts: [{number: 8000}]
`;
    const out = buildIR(load(route(POOL), local));
    expect(routeResolvedRefs(out)[1]).toBe('RefNotPermitted');
    expect(out.ir.gateways[0].pools).toEqual([]);
  });
});

describe('RequestMirror backendRef in another namespace', () => {
  const LOCAL = `
apiVersion: v1
kind: Service
metadata: {name: local, namespace: apps}
spec: {clusterIP: 10.96.2.2, ports: [{port: 80}]}
`;
  const MIRROR =
    '[{type: RequestMirror, requestMirror: {backendRef: {name: web, namespace: backends, port: 80}}}]';

  it('is dropped and RefNotPermitted without a grant; the rule still forwards', () => {
    const out = buildIR(load(route('[{name: local, port: 80}]', MIRROR), LOCAL));
    expect(routeResolvedRefs(out).slice(0, 2)).toEqual(['False', 'RefNotPermitted']);
    const r = out.ir.gateways[0].ports[0].virtualHosts[0].routes[0];
    expect(r.mirrors).toEqual([]);
    expect(r.action).toEqual({
      type: 'forward',
      backends: [{ cluster: 'service/apps/local/80', weight: 1 }],
    });
    expect(out.problems.map((p) => p.path)).toEqual(['spec.rules[0].filters[0].requestMirror.backendRef']);
  });

  it('mirrors to the Service with a grant', () => {
    const out = buildIR(
      load(
        route('[{name: local, port: 80}]', MIRROR),
        LOCAL,
        grant('backends', FROM_APPS_ROUTES, '[{group: "", kind: Service, name: web}]'),
      ),
    );
    expect(routeResolvedRefs(out)[0]).toBe('True');
    expect(out.ir.gateways[0].ports[0].virtualHosts[0].routes[0].mirrors).toEqual([
      { cluster: 'service/backends/web/80' },
    ]);
    expect(out.ir.gateways[0].clusters.map((c) => c.name)).toEqual([
      'service/apps/local/80',
      'service/backends/web/80',
    ]);
  });
});

describe('Gateway listener certificateRef to a Secret in another namespace', () => {
  const HTTPS_GATEWAY = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: tls, namespace: infra}
spec:
  gatewayClassName: infergate
  listeners:
    - name: https
      port: 443
      protocol: HTTPS
      tls: {certificateRefs: [{name: cert, namespace: certs}]}
`;
  const SECRET = `
apiVersion: v1
kind: Secret
metadata: {name: cert, namespace: certs}
type: kubernetes.io/tls
stringData:
  tls.crt: "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n"
  tls.key: "-----BEGIN PRIVATE KEY-----\\nMIGH\\n-----END PRIVATE KEY-----\\n"
`;
  const FROM_GATEWAYS = '[{group: gateway.networking.k8s.io, kind: Gateway, namespace: infra}]';

  function listener(out: BuildIRResult) {
    const gw = out.statuses.find((s) => s.kind === 'Gateway' && s.name === 'tls');
    return Object.fromEntries(
      (gw?.listeners?.[0].conditions ?? []).map((c) => [c.type, [c.status, c.reason, c.message]]),
    );
  }

  it('is ResolvedRefs False RefNotPermitted without a grant, and the listener is not programmed', () => {
    const out = buildIR(load(HTTPS_GATEWAY, SECRET));
    const l = listener(out);
    expect(l.ResolvedRefs).toEqual([
      'False',
      'RefNotPermitted',
      'certificateRef to Secret certs/cert is not permitted (no ReferenceGrant in namespace certs allows ' +
        'Gateway from namespace infra to refer to core Secret)',
    ]);
    expect(l.Programmed.slice(0, 1)).toEqual(['False']);
    expect(out.ir.gateways.find((g) => g.name === 'tls')).toBeUndefined();
  });

  it('resolves with a grant from Gateways of the namespace: the chain names the Secret of the other namespace', () => {
    const out = buildIR(
      load(HTTPS_GATEWAY, SECRET, grant('certs', FROM_GATEWAYS, '[{group: "", kind: Secret, name: cert}]')),
    );
    const l = listener(out);
    expect(l.ResolvedRefs).toEqual(['True', 'ResolvedRefs', 'All references resolved']);
    expect(l.Programmed[0]).toBe('True');
    const gw = out.ir.gateways.find((g) => g.name === 'tls');
    expect(
      gw?.secrets.map((s) => [s.name, s.certificateChain.startsWith('-----BEGIN CERTIFICATE-----')]),
    ).toEqual([['secret/certs/cert', true]]);
    expect(gw?.ports[0].tls?.map((t) => t.certificates)).toEqual([['secret/certs/cert']]);
  });

  it.each([
    [
      'from HTTPRoutes',
      '[{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: infra}]',
      '[{group: "", kind: Secret}]',
    ],
    [
      'from another namespace',
      '[{group: gateway.networking.k8s.io, kind: Gateway, namespace: apps}]',
      '[{group: "", kind: Secret}]',
    ],
    ['to another name', FROM_GATEWAYS, '[{group: "", kind: Secret, name: other}]'],
    ['to Services', FROM_GATEWAYS, '[{group: "", kind: Service}]'],
  ])('stays RefNotPermitted with a grant %s', (_name, from, to) => {
    const out = buildIR(load(HTTPS_GATEWAY, SECRET, grant('certs', from, to)));
    expect(listener(out).ResolvedRefs.slice(0, 2)).toEqual(['False', 'RefNotPermitted']);
  });

  it('refuses the Secret again once the grant is deleted', () => {
    const granted = load(HTTPS_GATEWAY, SECRET, grant('certs', FROM_GATEWAYS, '[{group: "", kind: Secret}]'));
    expect(listener(buildIR(granted)).ResolvedRefs[0]).toBe('True');
    const out = buildIR({ ...granted, referenceGrants: [] });
    expect(listener(out).ResolvedRefs.slice(0, 2)).toEqual(['False', 'RefNotPermitted']);
    expect(out.ir.gateways.find((g) => g.name === 'tls')).toBeUndefined();
  });
});

describe('parentRefs to a Gateway in another namespace', () => {
  it('are governed by allowedRoutes alone: a ReferenceGrant for Gateways does not let a route attach', () => {
    const gw = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: same, namespace: infra}
spec:
  gatewayClassName: infergate
  listeners: [{name: http, port: 8080, protocol: HTTP}]
`;
    const r = route(WEB).replace(
      'parentRefs: [{name: gw, namespace: infra}]',
      'parentRefs: [{name: same, namespace: infra}]',
    );
    const out = buildIR(
      load(
        gw,
        r,
        grant('infra', FROM_APPS_ROUTES, '[{group: gateway.networking.k8s.io, kind: Gateway}]'),
        grant('backends', FROM_APPS_ROUTES, '[{group: "", kind: Service}]', 'services'),
      ),
    );
    const accepted = out.statuses.find((x) => x.kind === 'HTTPRoute')?.parents?.[0].conditions[0];
    expect([accepted?.status, accepted?.reason]).toEqual(['False', 'NotAllowedByListeners']);
  });
});
