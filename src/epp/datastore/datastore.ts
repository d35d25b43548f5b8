// The EPP's view of its InferencePool: endpoint states (kept across resource updates so scraped metrics survive),
// bound objectives, rewrites and models, and a change event when the endpoint set changes.

import { EventEmitter } from 'node:events';
import type {
  InferenceModel,
  InferenceModelRewrite,
  InferenceObjective,
  InferencePool,
  ResourceSet,
} from '../../api/types';
import type { Endpoint, EndpointMetrics, EndpointState } from '../types';
import { selectPool, type PoolId, type PoolView } from './pool-view';
import type { Rejection, SourceState } from '../../sources/source';
import type { PoolSource } from './source';

export interface DatastoreEvents {
  /** The endpoint set changed (added, removed or relabelled). */
  change: [endpoints: readonly EndpointState[]];
  /** Any resource update was applied. */
  resources: [];
  /** An endpoint's metrics were updated (a scrape answered). */
  metrics: [key: string];
}

const sameEndpoint = (a: Endpoint, b: Endpoint) =>
  a.name === b.name &&
  a.key === b.key &&
  a.pod === b.pod &&
  JSON.stringify(a.labels) === JSON.stringify(b.labels);

/** Consecutive failed scrapes after which an endpoint is left out of scheduling (~150 ms at the 50 ms interval). */
export const DEFAULT_UNREACHABLE_AFTER_FAILURES = 3;

/** True when the endpoint failed its last `after` scrapes or more (`after` ≤ 0: never). */
export function isUnreachable(s: EndpointState, after = DEFAULT_UNREACHABLE_AFTER_FAILURES): boolean {
  return after > 0 && (s.scrapeFailures ?? 0) >= after;
}

/**
 * The endpoints not unreachable, or all of them when none is reachable (fail open, like the utilization
 * detector's filter: a scrape problem on every endpoint must not take the whole pool down). Returns `endpoints`
 * itself when nothing is excluded.
 */
export function reachable<T extends EndpointState>(
  endpoints: T[],
  after = DEFAULT_UNREACHABLE_AFTER_FAILURES,
): T[] {
  if (!endpoints.some((e) => isUnreachable(e, after))) return endpoints;
  const up = endpoints.filter((e) => !isUnreachable(e, after));
  return up.length > 0 ? up : endpoints;
}

export class Datastore extends EventEmitter<DatastoreEvents> {
  private view: PoolView = { endpoints: [], objectives: new Map(), rewrites: [], models: new Map() };
  private states: EndpointState[] = [];
  private byKey = new Map<string, EndpointState>();
  private source?: PoolSource;
  private rejections: Rejection[] = [];

  constructor(readonly poolId: PoolId) {
    super();
  }

  /** Starts reading from a source; resolves once the first state is applied. */
  async attach(source: PoolSource): Promise<void> {
    this.source = source;
    await source.start((state: SourceState) => {
      // The source already left the rejected resources out or kept their last good versions.
      this.rejections = state.rejected;
      this.apply(state.resources);
    });
  }

  /** The documents the source rejected at its last change (served at their last good version, or absent). */
  rejected(): readonly Rejection[] {
    return this.rejections;
  }

  close(): void {
    this.source?.stop();
  }

  apply(resources: ResourceSet): void {
    this.view = selectPool(resources, this.poolId);
    let changed = this.view.endpoints.length !== this.states.length;
    const next: EndpointState[] = [];
    const byKey = new Map<string, EndpointState>();
    for (const e of this.view.endpoints) {
      const old = this.byKey.get(e.key);
      const keep = old && sameEndpoint(old.endpoint, e);
      if (!keep) changed = true;
      const state: EndpointState = keep
        ? old
        : {
            endpoint: e,
            metrics: old?.metrics,
            scrapeFailures: old?.scrapeFailures,
            unreachableSince: old?.unreachableSince,
          };
      next.push(state);
      byKey.set(e.key, state);
    }
    this.states = next;
    this.byKey = byKey;
    if (changed) this.emit('change', next);
    this.emit('resources');
  }

  /** True once the InferencePool has been found (the readiness condition). */
  get synced(): boolean {
    return this.view.pool !== undefined;
  }

  pool(): InferencePool | undefined {
    return this.view.pool;
  }

  /** The current endpoint states; the same array until the endpoint set changes. */
  endpoints(): EndpointState[] {
    return this.states;
  }

  endpoint(key: string): EndpointState | undefined {
    return this.byKey.get(key);
  }

  updateMetrics(key: string, metrics: EndpointMetrics): void {
    const s = this.byKey.get(key);
    if (!s) return;
    s.metrics = metrics;
    this.emit('metrics', key);
  }

  /** Whether the endpoint answered its last scrape (HTTP 200); `at` is ms since epoch. */
  recordScrape(key: string, reached: boolean, at: number): void {
    const s = this.byKey.get(key);
    if (!s) return;
    if (reached) {
      s.scrapeFailures = 0;
      s.unreachableSince = undefined;
    } else {
      if (!s.scrapeFailures) s.unreachableSince = at;
      s.scrapeFailures = (s.scrapeFailures ?? 0) + 1;
    }
  }

  objectives(): ReadonlyMap<string, InferenceObjective> {
    return this.view.objectives;
  }

  rewrites(): readonly InferenceModelRewrite[] {
    return this.view.rewrites;
  }

  models(): ReadonlyMap<string, InferenceModel> {
    return this.view.models;
  }
}
