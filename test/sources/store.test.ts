// The shared last-known-good store without files or sockets: per-resource rejection, kept last good versions,
// unidentifiable documents, duplicates across origins, and the typed changes a Kubernetes source would mirror.

process.env.INFERGATE_LOG_LEVEL ??= 'error';

import { parseFile } from '../../src/api/load';
import { contentsOf } from '../../src/sources/file-source';
import { ResourceStore } from '../../src/sources/store';

const route = (name: string, prefix: string, extra = '') => `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: PathPrefix, value: ${prefix}}}]${extra}}]
`;
const pod = (name: string, ip: string) => `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default, labels: {app: a}}
status: {podIP: ${ip}, conditions: [{type: Ready, status: "True"}]}
`;
const BAD_TYPE = ', backendRefs: [{name: svc, port: "eighty"}]';

function load(store: ResourceStore, file: string, text: string) {
  store.set(file, contentsOf(file, parseFile(text, file)));
  return store.state();
}
const prefixes = (s: ReturnType<ResourceStore['state']>) =>
  s.resources.httpRoutes.map((r) => `${r.metadata.name}:${r.spec.rules?.[0].matches?.[0].path?.value}`);

describe('ResourceStore', () => {
  it('rejects a broken document alone and keeps the last good version of a resource that broke', () => {
    const store = new ResourceStore();
    let s = load(store, 'a.yaml', route('r1', '/one') + route('r2', '/two'));
    expect(prefixes(s)).toEqual(['r1:/one', 'r2:/two']);
    expect(s.rejected).toEqual([]);
    expect(s.changes.map((c) => `${c.type} ${c.id.kind} ${c.id.name}`)).toEqual([
      'add HTTPRoute r1',
      'add HTTPRoute r2',
    ]);

    // r1 edited with a schema error, r2 edited fine, r3 new and broken: r1 stays at /one, r2 moves, r3 is absent.
    s = load(
      store,
      'a.yaml',
      route('r1', '/uno', BAD_TYPE) + route('r2', '/dos') + route('r3', '/three', BAD_TYPE),
    );
    expect(prefixes(s)).toEqual(['r1:/one', 'r2:/dos']);
    expect(s.rejected).toEqual([
      expect.objectContaining({
        resource: 'HTTPRoute default/r1',
        id: { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'default', name: 'r1' },
        file: 'a.yaml',
        document: 0,
        problems: [expect.objectContaining({ path: 'spec.rules[0].backendRefs[0].port' })],
        kept: ['HTTPRoute default/r1'],
      }),
      expect.objectContaining({ resource: 'HTTPRoute default/r3', document: 2, kept: [] }),
    ]);
    expect(s.changes.map((c) => `${c.type} ${c.id.name}`)).toEqual(['update r2']);

    // Fixed: the new version replaces the kept one and the rejections clear.
    s = load(store, 'a.yaml', route('r1', '/uno') + route('r2', '/dos'));
    expect(prefixes(s)).toEqual(['r1:/uno', 'r2:/dos']);
    expect(s.rejected).toEqual([]);
  });

  it('a document that cannot say who it is keeps everything its file contributed; other files move on', () => {
    const store = new ResourceStore();
    load(store, 'a.yaml', route('r1', '/one') + route('r2', '/two'));
    load(store, 'b.yaml', pod('p1', '10.0.0.1'));
    // r2 deleted and a syntax error added in the same edit: r2 is kept too, since the broken text may be it.
    let s = load(store, 'a.yaml', route('r1', '/uno') + '---\nkind: [\n');
    expect(prefixes(s)).toEqual(['r1:/uno', 'r2:/two']);
    expect(s.rejected).toEqual([
      expect.objectContaining({ file: 'a.yaml', document: 1, id: undefined, kept: ['HTTPRoute default/r2'] }),
    ]);
    s = load(store, 'b.yaml', pod('p1', '10.0.0.9'));
    expect(s.resources.pods.map((p) => p.status?.podIP)).toEqual(['10.0.0.9']);
    expect(s.changes.map((c) => `${c.type} ${c.id.kind}`)).toEqual(['update Pod']);
    expect(s.rejected).toHaveLength(1);
    // Still broken after another edit: the kept versions carry over; fixed: r2's deletion takes effect.
    s = load(store, 'a.yaml', route('r1', '/uno') + '---\nkind: [\n#');
    expect(prefixes(s)).toEqual(['r1:/uno', 'r2:/two']);
    s = load(store, 'a.yaml', route('r1', '/uno'));
    expect(prefixes(s)).toEqual(['r1:/uno']);
    expect(s.changes.map((c) => `${c.type} ${c.id.name}`)).toEqual(['delete r2']);
  });

  it('a duplicate is rejected alone; the first origin in path order wins, a live version beats a kept one', () => {
    const store = new ResourceStore();
    load(store, 'b.yaml', route('r1', '/b'));
    let s = load(store, 'a.yaml', route('r1', '/a'));
    expect(prefixes(s)).toEqual(['r1:/a']);
    expect(s.rejected).toEqual([
      expect.objectContaining({
        file: 'b.yaml',
        resource: 'HTTPRoute default/r1',
        problems: [
          expect.objectContaining({ message: expect.stringMatching(/duplicate resource.*a\.yaml/) }),
        ],
      }),
    ]);
    // a.yaml's r1 breaks: its kept version loses to b.yaml's live one, so nothing is "kept" for it.
    s = load(store, 'a.yaml', route('r1', '/a', BAD_TYPE));
    expect(prefixes(s)).toEqual(['r1:/b']);
    expect(s.rejected).toEqual([expect.objectContaining({ file: 'a.yaml', kept: [] })]);
    store.remove('b.yaml');
    s = store.state();
    expect(prefixes(s)).toEqual(['r1:/a']);
    expect(s.rejected).toEqual([expect.objectContaining({ file: 'a.yaml', kept: ['HTTPRoute default/r1'] })]);
  });

  it('one object per origin, as a Kubernetes informer would feed it: add, reject (keep), delete', () => {
    const store = new ResourceStore();
    const key = 'HTTPRoute/default/r1';
    load(store, key, route('r1', '/one'));
    let s = load(store, key, route('r1', '/two', BAD_TYPE));
    expect(prefixes(s)).toEqual(['r1:/one']);
    expect(s.changes).toEqual([]);
    store.remove(key);
    s = store.state();
    expect(s.resources.httpRoutes).toEqual([]);
    expect(s.rejected).toEqual([]);
    expect(s.changes).toEqual([
      {
        type: 'delete',
        id: { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'default', name: 'r1' },
      },
    ]);
  });
});
