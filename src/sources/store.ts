// Per-resource last-known-good, shared by every source. A source hands in what each of its origins (a file; one
// Kubernetes object) now contributes; the store merges them into the served set. A resource whose document
// breaks keeps its last good version; one that never loaded is simply absent; every other resource moves on.

import { duplicate, idKey, resourceId, toResourceSet } from '../api/load';
import { formatProblem, type Problem, type Resource } from '../api/types';
import { resourceName } from '../api/validate';
import { logger } from '../util/log';
import type { Rejection, ResourceChange, SourceState } from './source';

const log = logger('sources.store');

/** What one origin now contributes. Rejections carry their resource's identity when the document told it. */
export interface OriginContents {
  resources: Resource[];
  rejected: Omit<Rejection, 'kept'>[];
  warnings?: Problem[];
}

interface Origin {
  /** With their identity keys, computed once. */
  live: [string, Resource][];
  /** Last good versions served because this origin's current contents rejected them, by identity key. */
  kept: Map<string, Resource>;
  rejected: Omit<Rejection, 'kept'>[];
  warnings: Problem[];
}

const keyOf = (r: Resource) => idKey(resourceId(r));
const nameOf = (r: Resource) => resourceName(r.kind, r.metadata.namespace, r.metadata.name);

export class ResourceStore {
  private readonly origins = new Map<string, Origin>();
  private served = new Map<string, Resource>();
  private reported = new Set<string>();
  /** The last state, while no origin changed since (an unchanged re-read costs nothing). */
  private current?: SourceState;

  /**
   * Replaces what `origin` contributes. A resource it contributed before and now lacks is kept at its last good
   * version when a rejection names it, or when some rejection cannot say which resource it is (a syntax error:
   * the origin may still mean to define it); otherwise it is deleted.
   */
  set(origin: string, contents: OriginContents): void {
    this.current = undefined;
    const prev = this.origins.get(origin);
    const entries = contents.resources.map((r): [string, Resource] => [keyOf(r), r]);
    const live = new Set(entries.map(([key]) => key));
    const named = new Set(contents.rejected.flatMap((r) => (r.id ? [idKey(r.id)] : [])));
    const unidentified = contents.rejected.some((r) => !r.id);
    const kept = new Map<string, Resource>();
    if (prev) {
      for (const [key, r] of [...prev.live, ...prev.kept]) {
        if (live.has(key) || kept.has(key)) continue;
        if (named.has(key) || unidentified) kept.set(key, r);
      }
    }
    this.origins.set(origin, {
      live: entries,
      kept,
      rejected: contents.rejected,
      warnings: contents.warnings ?? [],
    });
  }

  /** The origin is gone (file deleted, object deleted): what it contributed goes too. */
  remove(origin: string): void {
    if (this.origins.delete(origin)) this.current = undefined;
  }

  originNames(): string[] {
    return [...this.origins.keys()];
  }

  /** The merged served set, rejections and the changes since the previous call. */
  state(): SourceState {
    if (this.current) return { ...this.current, changes: [] };
    const names = [...this.origins.keys()].sort();
    const winners = new Map<string, Resource>();
    const rejected: Rejection[] = [];
    const warnings: Problem[] = [];
    // Live definitions win over kept ones; among live ones the first origin (path order) wins, as in loadPaths.
    for (const name of names) {
      const o = this.origins.get(name)!;
      warnings.push(...o.warnings);
      for (const [key, r] of o.live) {
        const first = winners.get(key);
        if (!first) winners.set(key, r);
        else
          rejected.push({
            ...where(r),
            id: resourceId(r),
            resource: nameOf(r),
            problems: [duplicate(r, first)],
            kept: [],
          });
      }
    }
    for (const name of names) {
      for (const [key, r] of this.origins.get(name)!.kept) if (!winners.has(key)) winners.set(key, r);
    }
    for (const name of names) {
      const o = this.origins.get(name)!;
      for (const rej of o.rejected) {
        const mine = rej.id ? [[idKey(rej.id), o.kept.get(idKey(rej.id))] as const] : [...o.kept];
        const kept = mine.flatMap(([key, r]) => (r && winners.get(key) === r ? [nameOf(r)] : []));
        rejected.push({ ...rej, kept: kept.sort() });
      }
    }
    rejected.sort((a, b) => cmp(a.file ?? '', b.file ?? '') || (a.document ?? -1) - (b.document ?? -1));
    const changes = this.diff(winners);
    this.served = winners;
    this.logRejections(rejected);
    this.current = { resources: toResourceSet([...winners.values()]), rejected, warnings, changes };
    return this.current;
  }

  private diff(next: Map<string, Resource>): ResourceChange[] {
    const changes: ResourceChange[] = [];
    for (const [key, r] of next) {
      const old = this.served.get(key);
      if (!old) changes.push({ type: 'add', id: resourceId(r) });
      else if (old !== r && JSON.stringify(old) !== JSON.stringify(r))
        changes.push({ type: 'update', id: resourceId(r) });
    }
    for (const [key, r] of this.served)
      if (!next.has(key)) changes.push({ type: 'delete', id: resourceId(r) });
    return changes;
  }

  // Each rejection is logged when it appears and when it clears, not on every change of other resources.
  private logRejections(rejected: Rejection[]): void {
    const now = new Map(rejected.map((r) => [JSON.stringify([r.file, r.document, r.problems]), r]));
    for (const [sig, r] of now) {
      if (this.reported.has(sig)) continue;
      log.warn('resource rejected', {
        resource: r.resource,
        file: r.file,
        document: r.document,
        problems: r.problems.map(formatProblem),
        keptLastGood: r.kept,
      });
    }
    for (const sig of this.reported)
      if (!now.has(sig)) log.info('rejection cleared', { was: JSON.parse(sig) });
    this.reported = new Set(now.keys());
  }
}

function where(r: Resource): { file?: string; document?: number } {
  return { file: r.source?.file, document: r.source?.document };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
