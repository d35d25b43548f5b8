// One kind's list+watch: a full list, then a watch from its resourceVersion with bookmarks. A watch that ends
// normally is resumed from the last resourceVersion; one that breaks, or says 410 Gone (the resourceVersion
// expired), is followed by a fresh list whose difference from what we hold becomes adds, updates and deletes.
// A periodic resync re-lists too, so a missed event cannot last.

import { logger } from '../../util/log';
import type { KubeClient } from './client';
import { apiMessage, HttpError, requestJson } from './http';
import { collectionPath, apiVersionOf, type KindSpec } from './kinds';

const log = logger('sources.kubernetes');

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface InformerOptions {
  namespace?: string;
  fieldSelector?: string;
  labelSelector?: string;
  /** Re-list this often (default 10 min); 0 turns it off. */
  resyncMs?: number;
}

export interface InformerEvents {
  /** An object appeared or changed. */
  upsert(kind: KindSpec, obj: KubeObject): void;
  /** An object is gone. */
  remove(kind: KindSpec, obj: KubeObject): void;
}

export const objectKey = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** GET a path of the API server as JSON (raw: no client-node model conversion, so timestamps stay strings). */
export function getJson(client: KubeClient, path: string): Promise<{ status: number; body: unknown }> {
  return requestJson(client, 'GET', path);
}

/** Whether the API server serves this kind (a CRD that is not installed is not). */
export async function served(client: KubeClient, kind: KindSpec): Promise<boolean> {
  const base = kind.group ? `/apis/${kind.group}/${kind.version}` : `/api/${kind.version}`;
  const r = await getJson(client, base);
  if (r.status === 404) return false;
  if (r.status !== 200) throw new Error(`discovery ${base}: HTTP ${r.status}: ${apiMessage(r)}`);
  const resources = (r.body as { resources?: { name: string }[] }).resources ?? [];
  return resources.some((x) => x.name === kind.plural);
}

export class Informer {
  private readonly objects = new Map<string, KubeObject>();
  private resourceVersion = '';
  private abort?: AbortController;
  private stopped = false;
  private resyncTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private failures = 0;
  /** How many lists after the first (a broken watch, 410 Gone, a resync): for logs and tests. */
  relists = 0;

  constructor(
    private readonly client: KubeClient,
    readonly kind: KindSpec,
    private readonly opts: InformerOptions,
    private readonly events: InformerEvents,
  ) {}

  /** Lists once (resolving when the objects are delivered), then keeps watching. */
  async start(): Promise<void> {
    await this.list();
    void this.watch();
    const every = this.opts.resyncMs ?? 600_000;
    if (every > 0) this.resyncTimer = setInterval(() => this.relist('resync'), every).unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    clearTimeout(this.retryTimer);
    this.abort?.abort();
  }

  list_(): KubeObject[] {
    return [...this.objects.values()];
  }

  /** The object as the API server last gave it ("" namespace for cluster-scoped kinds), or undefined. */
  get(namespace: string, name: string): KubeObject | undefined {
    return this.objects.get(`${namespace}/${name}`);
  }

  private query(extra: Record<string, string>): string {
    const q = new URLSearchParams(extra);
    if (this.opts.fieldSelector) q.set('fieldSelector', this.opts.fieldSelector);
    if (this.opts.labelSelector) q.set('labelSelector', this.opts.labelSelector);
    return q.toString();
  }

  private async list(): Promise<void> {
    const items: KubeObject[] = [];
    let cont = '';
    let rv = '';
    // Paged, so a large collection never becomes one huge response.
    do {
      const path = `${collectionPath(this.kind, this.opts.namespace)}?${this.query(cont ? { limit: '500', continue: cont } : { limit: '500' })}`;
      const r = await getJson(this.client, path);
      if (r.status !== 200)
        throw new HttpError(`list ${this.kind.kind}: HTTP ${r.status}: ${apiMessage(r)}`, r.status);
      const body = r.body as {
        items?: KubeObject[];
        metadata?: { resourceVersion?: string; continue?: string };
      };
      // List items carry no apiVersion/kind; the decoder needs both.
      for (const o of body.items ?? [])
        items.push({ ...o, apiVersion: apiVersionOf(this.kind), kind: this.kind.kind });
      rv = body.metadata?.resourceVersion ?? '';
      cont = body.metadata?.continue ?? '';
    } while (cont);
    const seen = new Set<string>();
    for (const o of items) {
      const key = objectKey(o);
      seen.add(key);
      const old = this.objects.get(key);
      this.objects.set(key, o);
      if (old?.metadata.resourceVersion !== o.metadata.resourceVersion) this.events.upsert(this.kind, o);
    }
    for (const [key, o] of this.objects) {
      if (seen.has(key)) continue;
      this.objects.delete(key);
      this.events.remove(this.kind, o);
    }
    this.resourceVersion = rv;
  }

  /** A fresh list, then a new watch (a resync, a broken watch, 410 Gone). */
  private relist(reason: string): void {
    if (this.stopped) return;
    this.abort?.abort();
    this.abort = undefined;
    this.relists++;
    log.info('re-listing', { kind: this.kind.kind, reason });
    this.list().then(
      () => {
        this.failures = 0;
        void this.watch();
      },
      (err) => this.retry(`list failed: ${(err as Error).message}`),
    );
  }

  // A broken watch resumes from the last resourceVersion (as client-go's reflector does), after a backoff of
  // 0.5 s doubling to 8 s while the API server is away; the third failure in a row, or none to resume from,
  // re-lists instead. 410 Gone always re-lists (see watch()).
  private retry(reason: string): void {
    if (this.stopped) return;
    const delay = Math.min(8000, 500 * 2 ** this.failures++);
    const relist = !this.resourceVersion || this.failures >= 3;
    log.warn('watch broken; retrying', { kind: this.kind.kind, reason, delayMs: delay, relist });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => (relist ? this.relist(reason) : void this.watch()), delay);
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    const { Watch } = this.client.lib;
    let gone = false;
    const mine = new AbortController();
    const onEvent = (phase: string, obj: KubeObject & { code?: number; message?: string }) => {
      if (this.stopped) return;
      if (phase === 'ERROR') {
        // 410 Gone: our resourceVersion was compacted away; only a fresh list can catch up.
        gone = obj.code === 410;
        if (!gone)
          log.warn('watch error event', { kind: this.kind.kind, code: obj.code, message: obj.message });
        return;
      }
      if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
      this.failures = 0;
      if (phase === 'BOOKMARK') return;
      const o = {
        ...obj,
        apiVersion: obj.apiVersion ?? apiVersionOf(this.kind),
        kind: obj.kind ?? this.kind.kind,
      };
      if (phase === 'DELETED') {
        if (this.objects.delete(objectKey(o))) this.events.remove(this.kind, o);
      } else {
        this.objects.set(objectKey(o), o);
        this.events.upsert(this.kind, o);
      }
    };
    const done = (err: unknown) => {
      if (this.stopped || this.abort !== current) return;
      this.abort = undefined;
      const e = err as { statusCode?: number; code?: number; name?: string; message?: string } | null;
      if (gone || e?.statusCode === 410 || e?.code === 410)
        return this.relist('410 Gone: resourceVersion expired');
      if (e && e.name !== 'AbortError') return this.retry(e.message ?? String(e));
      // The server ended the watch (its timeout): resume from the last resourceVersion, no list needed.
      void this.watch();
    };
    let current: AbortController | undefined = mine;
    this.abort = mine;
    try {
      const params = {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        ...selectors(this.opts),
      };
      const ctl = await new Watch(this.client.config).watch(
        collectionPath(this.kind, this.opts.namespace),
        params,
        onEvent,
        done,
      );
      if (this.abort === mine) {
        // The AbortController the library returns is what stops its request.
        this.abort = ctl;
        current = ctl;
      } else ctl.abort();
    } catch (err) {
      if (this.abort === mine) {
        this.abort = undefined;
        this.retry((err as Error).message);
      }
    }
  }
}

function selectors(o: InformerOptions): Record<string, string> {
  const out: Record<string, string> = {};
  if (o.fieldSelector) out.fieldSelector = o.fieldSelector;
  if (o.labelSelector) out.labelSelector = o.labelSelector;
  return out;
}
