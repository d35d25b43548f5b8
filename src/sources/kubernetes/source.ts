// The Kubernetes implementation of ResourceSource: one informer per kind the compiler reads, each object its own
// origin of the shared ResourceStore (so one object that fails the decoder is rejected alone and keeps its last
// good version), decoded by the same decoder as files. Kinds the API server does not serve are skipped.

import { isDeepStrictEqual } from 'node:util';
import { parseObject } from '../../api/load';
import { resourceName } from '../../api/validate';
import { logger } from '../../util/log';
import { contentsOf } from '../file-source';
import type { ResourceSource, SourceState } from '../source';
import { ResourceStore } from '../store';
import type { KubeClient } from './client';
import { HttpError } from './http';
import { Informer, served, type InformerOptions, type KubeObject } from './informer';
import {
  CONTROLLER_KINDS,
  GATEWAY,
  GATEWAY_CLASS,
  HTTP_ROUTE,
  MODEL,
  OBJECTIVE,
  POOL_V1,
  POOL_V1ALPHA2,
  REWRITE,
  apiVersionOf,
  type KindSpec,
} from './kinds';

const log = logger('sources.kubernetes');

export interface WatchSpec {
  kind: KindSpec;
  /** Namespace to watch (all when absent; ignored for cluster-scoped kinds). */
  namespace?: string;
  fieldSelector?: string;
  labelSelector?: string;
  /**
   * The reader can work without this kind: a list the API server refuses (403, RBAC grants no list/watch) leaves
   * it unwatched with a warning instead of failing the start. The upstream EPP conformance fixture grants only
   * InferencePools and Pods.
   */
  optional?: boolean;
}

/** Which object: the API group, version and kind it is served as, and where. */
export interface ObjectRef {
  group: string;
  version: string;
  kind: string;
  /** Absent or "" for cluster-scoped kinds. */
  namespace?: string;
  name: string;
}

/** The latest raw object an informer holds (metadata.resourceVersion, generation and status included). */
export type ObjectLookup = (ref: ObjectRef) => KubeObject | undefined;

/**
 * Kinds whose status nothing downstream reads (the compiler reads only Pods' status): every kind we write status
 * to, and the legacy InferenceModel. An update that changes only their status (our own write's watch event, or
 * another controller's) is taken into the cache but not decoded or delivered: no recompile, so a status pass
 * cannot cause another.
 */
const STATUS_UNREAD = new Set<KindSpec>([
  GATEWAY_CLASS,
  GATEWAY,
  HTTP_ROUTE,
  POOL_V1,
  POOL_V1ALPHA2,
  OBJECTIVE,
  REWRITE,
  MODEL,
]);

export interface KubernetesSourceOptions {
  client: KubeClient;
  /** What to watch (default: every kind the compiler reads, in `namespace` or all namespaces). */
  watches?: WatchSpec[];
  /** Namespace scoping for the default watches (--namespace). */
  namespace?: string;
  /** Quiet period after an event before delivering (default 20 ms): a list's burst is one delivery. */
  debounceMs?: number;
  resyncMs?: number;
  /** Objects dropped before decoding (the EPP's scoping of Pods and objectives to its pool). */
  filter?: (kind: KindSpec, obj: KubeObject) => boolean;
  /** Sees every object before decoding (`undefined` obj: deleted); true means the filter changed: re-filter. */
  observe?: (kind: KindSpec, obj: KubeObject | undefined, name: string) => boolean;
}

export class KubernetesSource implements ResourceSource {
  private readonly store = new ResourceStore();
  private readonly informers: Informer[] = [];
  private onChange?: (state: SourceState) => void;
  private timer?: NodeJS.Timeout;
  /** Every object as the API server last gave it, per origin: what refilter() re-reads. */
  private readonly raw = new Map<string, { kind: KindSpec; obj: KubeObject }>();
  private started = false;
  /** Updates taken into the cache without a delivery because only their status changed (tests, logs). */
  statusOnlyUpdates = 0;

  constructor(private readonly opts: KubernetesSourceOptions) {}

  async start(onChange: (state: SourceState) => void): Promise<void> {
    const specs: WatchSpec[] =
      this.opts.watches ?? CONTROLLER_KINDS.map((kind) => ({ kind, namespace: this.opts.namespace }));
    const events = {
      upsert: (k: KindSpec, o: KubeObject) => this.upsert(k, o),
      remove: (k: KindSpec, o: KubeObject) => this.remove(k, o),
    };
    const candidates: { informer: Informer; spec: WatchSpec }[] = [];
    for (const w of specs) {
      if (!(await served(this.opts.client, w.kind))) {
        log.warn('kind not served by the API server (CRD not installed?): not watched', {
          kind: w.kind.kind,
          apiVersion: apiVersionOf(w.kind),
        });
        continue;
      }
      const o: InformerOptions = {
        namespace: w.kind.namespaced ? w.namespace : undefined,
        fieldSelector: w.fieldSelector,
        labelSelector: w.labelSelector,
        resyncMs: this.opts.resyncMs,
      };
      candidates.push({ informer: new Informer(this.opts.client, w.kind, o, events), spec: w });
    }
    // An optional kind whose list is refused (403) is left out; any other failure fails the start.
    const started = await Promise.all(
      candidates.map(({ informer, spec }) =>
        informer.start().then(
          () => true,
          (err: unknown) => {
            if (!spec.optional || !(err instanceof HttpError) || err.code !== 403) throw err;
            informer.stop();
            log.warn('not allowed to list this kind: not watched (grant get/list/watch to use it)', {
              kind: spec.kind.kind,
              apiVersion: apiVersionOf(spec.kind),
              namespace: spec.namespace,
            });
            return false;
          },
        ),
      ),
    ).catch((err: unknown) => {
      for (const { informer } of candidates) informer.stop();
      throw err;
    });
    this.informers.push(...candidates.filter((_, i) => started[i]).map((x) => x.informer));
    this.started = true;
    this.onChange = onChange;
    this.deliver();
  }

  stop(): void {
    for (const i of this.informers) i.stop();
    clearTimeout(this.timer);
    this.onChange = undefined;
  }

  /** Re-reads every object through the filter again (the EPP's pool selector changed), then delivers. */
  refilter(): void {
    for (const [origin, { kind, obj }] of this.raw) this.decode(origin, kind, obj);
    this.schedule();
  }

  /**
   * The informers' latest raw object (what the status writer merges against instead of a GET), or undefined when
   * no informer watches that kind or it does not hold the object. An arrow so it can be handed on as it is.
   */
  readonly lookup: ObjectLookup = (ref) => {
    const informer = this.informers.find(
      (i) => i.kind.kind === ref.kind && i.kind.group === ref.group && i.kind.version === ref.version,
    );
    return informer?.get(informer.kind.namespaced ? (ref.namespace ?? '') : '', ref.name);
  };

  /** Relists counted over all informers (broken watches, 410 Gone, resyncs). */
  relists(): number {
    return this.informers.reduce((n, i) => n + i.relists, 0);
  }

  private upsert(kind: KindSpec, obj: KubeObject): void {
    const origin = originOf(kind, obj);
    const prev = this.raw.get(origin);
    this.raw.set(origin, { kind, obj });
    if (prev && STATUS_UNREAD.has(kind) && onlyStatusChanged(prev.obj, obj)) {
      this.statusOnlyUpdates++;
      return;
    }
    if (this.opts.observe?.(kind, obj, obj.metadata.name)) return this.refilter();
    this.decode(origin, kind, obj);
    this.schedule();
  }

  private remove(kind: KindSpec, obj: KubeObject): void {
    const origin = originOf(kind, obj);
    this.raw.delete(origin);
    this.store.remove(origin);
    if (this.opts.observe?.(kind, undefined, obj.metadata.name)) return this.refilter();
    this.schedule();
  }

  private decode(origin: string, kind: KindSpec, obj: KubeObject): void {
    if (this.opts.filter && !this.opts.filter(kind, obj)) return void this.store.remove(origin);
    // managedFields are the API server's bookkeeping: large, and nothing the compiler reads.
    const { managedFields: _drop, ...metadata } = obj.metadata;
    void _drop;
    // The API server omits an empty list: a Service with no ready Pod has a slice without `endpoints`.
    const o = kind.kind === 'EndpointSlice' && obj.endpoints == null ? { ...obj, endpoints: [] } : obj;
    this.store.set(origin, contentsOf(origin, [parseObject({ ...o, metadata }, origin)]));
  }

  private schedule(): void {
    if (!this.started) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.deliver(), this.opts.debounceMs ?? 20);
  }

  private deliver(): void {
    this.onChange?.(this.store.state());
  }
}

// Everything but status and the server's bookkeeping (resourceVersion, managedFields) equal: spec, labels,
// annotations, generation, finalizers, deletionTimestamp. Comparing all of it, not only generation, keeps a label
// or annotation change (no generation bump) flowing to the compiler.
function onlyStatusChanged(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => ({
    ...o,
    status: undefined,
    metadata: { ...o.metadata, resourceVersion: undefined, managedFields: undefined },
  });
  return isDeepStrictEqual(strip(a), strip(b));
}

/** An object's origin in the store, "Kind ns/name" as problems name resources (group kept for two pool versions). */
function originOf(kind: KindSpec, obj: KubeObject): string {
  const name = resourceName(kind.kind, obj.metadata.namespace ?? '', obj.metadata.name);
  return kind.group.startsWith('inference.networking.x-k8s.io') && kind.kind === 'InferencePool'
    ? `${name} (${apiVersionOf(kind)})`
    : name;
}
