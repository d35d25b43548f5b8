// Make-before-break for clusters: a cluster that a new compile no longer emits (its last route moved elsewhere)
// stays in the published snapshot, with its endpoints, for a retention period. Requests already in flight on it
// (LLM streams can last minutes, and so does their ext_proc stream to the EPP cluster) finish instead of being
// reset when Envoy removes the cluster. Routes stop using it at once; only its removal is delayed.

import type { Cluster } from '../../generated/envoy/config/cluster/v3/cluster';
import type { ClusterLoadAssignment } from '../../generated/envoy/config/endpoint/v3/endpoint';

export const DEFAULT_CLUSTER_RETENTION_MS = 60_000;

interface Retired {
  cluster: Cluster;
  endpoints?: ClusterLoadAssignment;
  /** When the compiler first stopped emitting it. */
  since: number;
}

export interface ClusterSet {
  clusters: Cluster[];
  endpoints: ClusterLoadAssignment[];
}

export class ClusterRetention {
  private readonly retired = new Map<string, Map<string, Retired>>();

  constructor(
    private readonly retentionMs = DEFAULT_CLUSTER_RETENTION_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * `next` plus the clusters `previous` published that `next` lacks, until their retention ends. A cluster that
   * comes back is simply current again.
   */
  apply(group: string, previous: ClusterSet | undefined, next: ClusterSet): ClusterSet {
    const now = this.now();
    const current = new Set(next.clusters.map((c) => c.name));
    const retired = this.retired.get(group) ?? new Map<string, Retired>();
    for (const c of previous?.clusters ?? []) {
      if (current.has(c.name) || retired.has(c.name)) continue;
      const endpoints = previous!.endpoints.find((e) => e.clusterName === c.name);
      retired.set(c.name, { cluster: c, endpoints, since: now });
    }
    for (const [name, r] of retired) {
      if (current.has(name) || now - r.since >= this.retentionMs) retired.delete(name);
    }
    if (retired.size) this.retired.set(group, retired);
    else this.retired.delete(group);
    const kept = [...retired.values()];
    return {
      clusters: [...next.clusters, ...kept.map((r) => r.cluster)],
      endpoints: [...next.endpoints, ...kept.flatMap((r) => (r.endpoints ? [r.endpoints] : []))],
    };
  }

  /** Names of the clusters a group keeps only for retention. */
  retiredIn(group: string): string[] {
    return [...(this.retired.get(group)?.keys() ?? [])].sort();
  }

  /** Milliseconds until the next retention ends (when to publish again), or undefined. */
  nextExpiryIn(): number | undefined {
    const now = this.now();
    let next: number | undefined;
    for (const group of this.retired.values()) {
      for (const r of group.values()) {
        const left = Math.max(0, r.since + this.retentionMs - now);
        next = next === undefined ? left : Math.min(next, left);
      }
    }
    return next;
  }
}
