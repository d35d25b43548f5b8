import type { ResourceStatus } from '../../src/compiler/ir';
import { SUPPORTED_FEATURES } from '../../src/compiler/features';
import {
  featureShapeOf,
  mergeStatus,
  type Json,
  type MergeOptions,
} from '../../src/sources/kubernetes/status/merge';

const US = 'infergate.io/gateway-controller';
const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-02T00:00:00Z';
const opts = (o: Partial<MergeOptions> = {}): MergeOptions => ({
  controllerName: US,
  generation: 2,
  now: T1,
  ...o,
});
const cond = (type: string, ok: boolean, reason: string, message = 'm') => ({
  type,
  status: ok ? ('True' as const) : ('False' as const),
  reason,
  message,
});
const gw = { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'default', name: 'gw' };

function merged(current: Json | undefined, ours: ResourceStatus, o = opts()): Json {
  const r = mergeStatus(current, ours, o);
  if (!r.changed) throw new Error('expected a change');
  return r.status;
}

describe('status merge', () => {
  const gc: ResourceStatus = {
    kind: 'GatewayClass',
    namespace: '',
    name: 'c',
    conditions: [cond('Accepted', true, 'Accepted')],
  };

  test('GatewayClass: Accepted stamped with generation and now; supportedFeatures sorted', () => {
    const s = merged(undefined, gc, opts({ supportedFeatures: ['HTTPRoute', 'Gateway', 'HTTPRoute'] }));
    expect(s.conditions).toEqual([
      { ...cond('Accepted', true, 'Accepted'), observedGeneration: 2, lastTransitionTime: T1 },
    ]);
    expect(s.supportedFeatures).toEqual([{ name: 'Gateway' }, { name: 'HTTPRoute' }]);
  });

  test('unchanged when the same conditions are already there; LTT kept when only generation moves', () => {
    const s = merged(undefined, gc, opts({ now: T0 }));
    expect(mergeStatus(s, gc, opts({ now: T1 }))).toEqual({ changed: false });
    const s3 = merged(s, gc, opts({ generation: 3, now: T1 }));
    expect((s3.conditions as Json[])[0]).toMatchObject({ observedGeneration: 3, lastTransitionTime: T0 });
    const bad = { ...gc, conditions: [cond('Accepted', false, 'InvalidParameters')] };
    expect((merged(s3, bad, opts({ generation: 3 })).conditions as Json[])[0]).toMatchObject({
      status: 'False',
      lastTransitionTime: T1,
    });
  });

  test('foreign condition types are kept; a newer-generation condition is not overwritten', () => {
    const current = {
      conditions: [
        { type: 'special.io/X', status: 'True', reason: 'R', message: '', lastTransitionTime: T0 },
        { ...cond('Accepted', false, 'Pending'), observedGeneration: 5, lastTransitionTime: T0 },
      ],
    };
    expect(mergeStatus(current, gc, opts())).toEqual({ changed: false });
    const s = merged(current, gc, opts({ generation: 6 }));
    expect((s.conditions as Json[]).map((c) => c.type)).toEqual(['special.io/X', 'Accepted']);
  });

  test('Gateway: listeners replaced by ours with attachedRoutes; addresses set', () => {
    const ours: ResourceStatus = {
      kind: 'Gateway',
      namespace: 'default',
      name: 'gw',
      conditions: [cond('Accepted', true, 'Accepted'), cond('Programmed', true, 'Programmed')],
      listeners: [
        {
          name: 'http',
          attachedRoutes: 2,
          supportedKinds: [{ group: gw.group, kind: 'HTTPRoute' }],
          conditions: [cond('ResolvedRefs', true, 'ResolvedRefs')],
        },
      ],
    };
    const current = { listeners: [{ name: 'old', attachedRoutes: 0, conditions: [] }] };
    const s = merged(current, ours, opts({ addresses: [{ value: '10.244.0.9' }] }));
    expect(s.addresses).toEqual([{ type: 'IPAddress', value: '10.244.0.9' }]);
    expect((s.listeners as Json[]).map((l) => [l.name, l.attachedRoutes])).toEqual([['http', 2]]);
    expect(mergeStatus(s, ours, opts({ addresses: [{ value: '10.244.0.9' }] }))).toEqual({ changed: false });
  });

  test('HTTPRoute: other controllers’ parents untouched, our stale parents removed', () => {
    const other = {
      parentRef: { ...gw, name: 'theirs' },
      controllerName: 'example.com/other',
      conditions: [{ ...cond('Accepted', true, 'Accepted'), lastTransitionTime: T0 }],
    };
    const stale = { parentRef: { ...gw, name: 'gone' }, controllerName: US, conditions: [] };
    const ours: ResourceStatus = {
      kind: 'HTTPRoute',
      namespace: 'default',
      name: 'r',
      parents: [{ parentRef: gw, controllerName: US, conditions: [cond('Accepted', true, 'Accepted')] }],
    };
    const s = merged({ parents: [other, stale] }, ours);
    expect(s.parents).toEqual([
      other,
      {
        parentRef: gw,
        controllerName: US,
        conditions: [
          { ...cond('Accepted', true, 'Accepted'), observedGeneration: 2, lastTransitionTime: T1 },
        ],
      },
    ]);
  });

  test('InferencePool: our entries (by controllerName or our Gateway) replaced, others kept, emptied without routes', () => {
    const other = {
      parentRef: { ...gw, name: 'theirs' },
      controllerName: 'example.com/other',
      conditions: [],
    };
    const legacy = { parentRef: gw, conditions: [] }; // ours by Gateway, written without controllerName
    const none: ResourceStatus = { kind: 'InferencePool', namespace: 'default', name: 'p', parents: [] };
    const s = merged({ parents: [other, legacy] }, none, opts({ ourGateways: new Set(['default/gw']) }));
    expect(s.parents).toEqual([other]);
    const foreignOnly = { parents: [{ parentRef: gw, conditions: [] }] };
    expect(mergeStatus(foreignOnly, none, opts({ ourGateways: new Set() }))).toEqual({ changed: false });
  });
});

describe('supportedFeatures from the installed CRD', () => {
  const crd = (supportedFeatures: unknown) => ({
    spec: {
      versions: [
        { name: 'v1beta1', schema: { openAPIV3Schema: { properties: { status: { properties: {} } } } } },
        {
          name: 'v1',
          schema: {
            openAPIV3Schema: {
              properties: { status: { properties: supportedFeatures ? { supportedFeatures } : {} } },
            },
          },
        },
      ],
    },
  });
  const objects = {
    type: 'array',
    maxItems: 64,
    items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
  };

  test('the schema decides: {name} objects (v1.2+), strings (v1.1 experimental), or absent', () => {
    expect(featureShapeOf(crd(objects))).toBe('objects');
    expect(featureShapeOf(crd({ type: 'array', items: { type: 'string' } }))).toBe('strings');
    expect(featureShapeOf(crd(undefined))).toBe('absent');
    expect(featureShapeOf(crd(objects), 'v1beta1')).toBe('absent');
    expect(featureShapeOf(undefined)).toBe('absent');
  });

  test('SUPPORTED_FEATURES is sorted by byte order, unique, within maxItems, and written as the CRD says', () => {
    const names = [...SUPPORTED_FEATURES];
    expect(names).toEqual([...new Set(names)].sort());
    expect(names.length).toBeLessThanOrEqual(64);
    expect(names).toEqual(
      expect.arrayContaining(['Gateway', 'HTTPRoute', 'ReferenceGrant', 'SupportInferencePool']),
    );
    const gc: ResourceStatus = { kind: 'GatewayClass', namespace: '', name: 'c', conditions: [] };
    const asObjects = merged(undefined, gc, opts({ supportedFeatures: SUPPORTED_FEATURES }));
    expect(asObjects.supportedFeatures).toEqual(names.map((name) => ({ name })));
    const asStrings = merged(
      undefined,
      gc,
      opts({ supportedFeatures: ['b', 'a'], supportedFeaturesAs: 'strings' }),
    );
    expect(asStrings.supportedFeatures).toEqual(['a', 'b']);
    expect(mergeStatus(asObjects, gc, opts({ supportedFeatures: [...names].reverse() }))).toEqual({
      changed: false,
    });
  });
});
