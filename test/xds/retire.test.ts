// Make-before-break for clusters: one a compile stops emitting stays published for the retention period.

import { ClusterRetention } from '../../src/sources/retire';
import { make, T } from '../../src/compiler/xds/types';

const cluster = (name: string) => make(T.Cluster, { name });
const cla = (name: string) => make(T.ClusterLoadAssignment, { clusterName: name });

describe('ClusterRetention', () => {
  it('keeps a dropped cluster and its endpoints until the retention ends, then drops it', () => {
    let now = 1000;
    const r = new ClusterRetention(5000, () => now);
    const before = { clusters: [cluster('a'), cluster('b')], endpoints: [cla('a'), cla('b')] };
    const next = { clusters: [cluster('a')], endpoints: [cla('a')] };
    const kept = r.apply('g', before, next);
    expect(kept.clusters.map((c) => c.name)).toEqual(['a', 'b']);
    expect(kept.endpoints.map((e) => e.clusterName)).toEqual(['a', 'b']);
    expect(r.retiredIn('g')).toEqual(['b']);
    expect(r.nextExpiryIn()).toBe(5000);

    now = 4000; // still retained across another compile that lacks it
    expect(r.apply('g', kept, next).clusters.map((c) => c.name)).toEqual(['a', 'b']);
    expect(r.nextExpiryIn()).toBe(2000);

    now = 6000;
    expect(r.apply('g', kept, next).clusters.map((c) => c.name)).toEqual(['a']);
    expect(r.retiredIn('g')).toEqual([]);
    expect(r.nextExpiryIn()).toBeUndefined();
  });

  it('a cluster that comes back is current again, and groups are independent', () => {
    const r = new ClusterRetention(5000, () => 0);
    r.apply('g', { clusters: [cluster('a')], endpoints: [] }, { clusters: [], endpoints: [] });
    expect(r.retiredIn('g')).toEqual(['a']);
    expect(r.retiredIn('h')).toEqual([]);
    const back = r.apply(
      'g',
      { clusters: [cluster('a')], endpoints: [] },
      { clusters: [cluster('a')], endpoints: [] },
    );
    expect(back.clusters.map((c) => c.name)).toEqual(['a']);
    expect(r.retiredIn('g')).toEqual([]);
  });
});
