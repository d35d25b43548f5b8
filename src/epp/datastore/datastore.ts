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
import type { PoolSource } from './source';

export interface DatastoreEvents {
  /** The endpoint set changed (added, removed or relabelled). */
  change: [endpoints: readonly EndpointState[]];
  /** Any resource update was applied. */
  resources: [];
}

const sameEndpoint = (a: Endpoint, b: Endpoint) =>
  a.name === b.name &&
  a.key === b.key &&
  a.pod === b.pod &&
  JSON.stringify(a.labels) === JSON.stringify(b.labels);

export class Datastore extends EventEmitter<DatastoreEvents> {
  private view: PoolView = { endpoints: [], objectives: new Map(), rewrites: [], models: new Map() };
  private states: EndpointState[] = [];
  private byKey = new Map<string, EndpointState>();
  private source?: PoolSource;

  constructor(readonly poolId: PoolId) {
    super();
  }

  /** Starts reading from a source; resolves once the first snapshot is applied. */
  async attach(source: PoolSource): Promise<void> {
    this.source = source;
    await source.start((resources) => this.apply(resources));
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
      const state: EndpointState = keep ? old : { endpoint: e, metrics: old?.metrics };
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
    if (s) s.metrics = metrics;
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
