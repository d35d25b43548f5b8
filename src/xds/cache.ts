// The snapshot cache: the current, consistent snapshot per node group, and who to tell when it changes.
// It knows nothing about gRPC, streams or nodes; the SotW and Delta handlers read it through SnapshotReader.

import { consistencyProblems, type Snapshot } from './snapshot';

/** The one interface the protocol handlers use. */
export interface SnapshotReader {
  /** The group's current snapshot, or undefined before the first publish. */
  get(group: string): Snapshot | undefined;
  /** Calls onChange (synchronously, in publish order) after each new snapshot of the group; returns cancel. */
  watch(group: string, onChange: (snapshot: Snapshot) => void): () => void;
}

export type SetResult = { published: true; changed: boolean } | { published: false; problems: string[] };

export class SnapshotCache implements SnapshotReader {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly watchers = new Map<string, Set<(s: Snapshot) => void>>();

  get(group: string): Snapshot | undefined {
    return this.snapshots.get(group);
  }

  groups(): string[] {
    return [...this.snapshots.keys()].sort();
  }

  watch(group: string, onChange: (snapshot: Snapshot) => void): () => void {
    let set = this.watchers.get(group);
    if (!set) this.watchers.set(group, (set = new Set()));
    set.add(onChange);
    return () => {
      set.delete(onChange);
      if (set.size === 0 && this.watchers.get(group) === set) this.watchers.delete(group);
    };
  }

  /**
   * Publishes a snapshot unless it is inconsistent, in which case the group keeps its last good one.
   * `skipConsistencyCheck` exists for tests that need to hand Envoy something it will reject.
   */
  set(snapshot: Snapshot, options: { skipConsistencyCheck?: boolean } = {}): SetResult {
    if (!options.skipConsistencyCheck) {
      const problems = consistencyProblems(snapshot);
      if (problems.length) return { published: false, problems };
    }
    const previous = this.snapshots.get(snapshot.group);
    if (previous?.version === snapshot.version) return { published: true, changed: false };
    this.snapshots.set(snapshot.group, snapshot);
    for (const w of [...(this.watchers.get(snapshot.group) ?? [])]) w(snapshot);
    return { published: true, changed: true };
  }

  /** Forgets a group: its nodes keep the config they have and get nothing new. */
  delete(group: string): void {
    this.snapshots.delete(group);
  }

  watcherCount(): number {
    let n = 0;
    for (const s of this.watchers.values()) n += s.size;
    return n;
  }
}
