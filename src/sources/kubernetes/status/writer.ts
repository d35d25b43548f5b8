// Writes stage-1 statuses to the API server: take the latest object (from the informers' cache when a lookup is
// given, else a GET), merge (merge.ts), merge-patch /status with that object's resourceVersion so a concurrent writer
// yields 409 and we re-read with a GET, and write nothing when nothing changed. With the cache an unchanged pass
// makes no API request at all: with 1,000 HTTPRoutes a GET per object per pass was 1,000+ requests a minute.

import { Counter, type Registry } from 'prom-client';
import type { ResourceStatus } from '../../../compiler/ir';
import { logger } from '../../../util/log';
import type { KubeClient } from '../client';
import { apiMessage, HttpError, requestJson } from '../http';
import { getJson } from '../informer';
import type { ObjectLookup } from '../source';
import { featureShapeOf, mergeStatus, type Json } from './merge';

const log = logger('status');

/** Where each status kind lives (GatewayClass is cluster-scoped). */
export const STATUS_KINDS: Record<
  ResourceStatus['kind'],
  { group: string; version: string; plural: string }
> = {
  GatewayClass: { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gatewayclasses' },
  Gateway: { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gateways' },
  HTTPRoute: { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' },
  InferencePool: { group: 'inference.networking.k8s.io', version: 'v1', plural: 'inferencepools' },
  InferenceObjective: {
    group: 'inference.networking.x-k8s.io',
    version: 'v1alpha2',
    plural: 'inferenceobjectives',
  },
  InferenceModelRewrite: {
    group: 'inference.networking.x-k8s.io',
    version: 'v1alpha2',
    plural: 'inferencemodelrewrites',
  },
};

export interface StatusWriterOptions {
  controllerName: string;
  /** Write rate limit: `qps` writes a second after a burst of `burst` (defaults 100 and 200). */
  qps?: number;
  burst?: number;
  /** Re-reads after a 409 before giving up on one object, default 5. */
  conflictRetries?: number;
  /** Registers infergate_status_writes_total here when given. */
  registry?: Registry;
  /** Clock for lastTransitionTime (tests). */
  now?: () => Date;
  /** Runs between the read and the patch (tests use it to race a concurrent writer). */
  beforePatch?: (s: ResourceStatus, attempt: number) => Promise<void>;
  /**
   * The informers' latest raw object (KubernetesSource.lookup). When given, objects are merged against it and
   * patched with its resourceVersion; only a 409 or a cache miss costs a GET.
   */
  lookup?: ObjectLookup;
  /** How long the GatewayClass CRD's supportedFeatures schema is trusted before it is read again, default 10 min. */
  schemaTtlMs?: number;
}

export interface WriteExtras {
  /** Gateway "ns/name" → status.addresses. */
  addresses?: Map<string, { type?: string; value: string }[]>;
  /**
   * GatewayClass status.supportedFeatures names (SUPPORTED_FEATURES of src/compiler/features.ts). Written only
   * when the installed GatewayClass CRD's v1 schema has the field, in the shape it declares (see featureShape).
   */
  supportedFeatures?: readonly string[];
}

export interface WriteReport {
  written: number;
  unchanged: number;
  /** Objects absent from the API server (deleted since the compile): skipped. */
  missing: number;
  conflicts: number;
  errors: { key: string; error: string }[];
}

type FeatureShape = ReturnType<typeof featureShapeOf>;

const GATEWAYCLASS_CRD =
  '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gatewayclasses.gateway.networking.k8s.io';

export class StatusWriter {
  private readonly counter: Counter;
  private readonly requestCounter: Counter;
  private writesTotal = 0;
  private requestsTotal = 0;
  private tokens: number;
  private refilled = Date.now();
  /**
   * Our last patch's response per object, with the resourceVersion it was patched against. Until the watch event
   * of our own write reaches the cache, the cache still holds that base version: merging against it would patch
   * with a stale resourceVersion and cost a 409 and a GET on the very next pass.
   */
  private readonly written = new Map<string, { base: unknown; obj: Json }>();
  private schema?: { shape: FeatureShape; at: number };

  constructor(
    private readonly client: KubeClient,
    private readonly opts: StatusWriterOptions,
  ) {
    this.tokens = opts.burst ?? 200;
    const registers = opts.registry ? [opts.registry] : [];
    this.counter = new Counter({
      name: 'infergate_status_writes_total',
      help: 'Status subresource writes by kind and outcome (written, conflict, error)',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.requestCounter = new Counter({
      name: 'infergate_status_api_requests_total',
      help: 'API requests the status writer made, by verb (get, patch, schema)',
      labelNames: ['verb'],
      registers,
    });
  }

  /** Status writes that reached the API server since start. */
  writes(): number {
    return this.writesTotal;
  }

  /** API requests made since start: GETs, patches (409s included) and CRD schema reads. */
  requests(): number {
    return this.requestsTotal;
  }

  /** Writes every changed status; never throws for one object's failure (see the report). */
  async write(statuses: ResourceStatus[], extras: WriteExtras = {}): Promise<WriteReport> {
    const report: WriteReport = { written: 0, unchanged: 0, missing: 0, conflicts: 0, errors: [] };
    const ourGateways = new Set(
      statuses.filter((s) => s.kind === 'Gateway').map((s) => `${s.namespace}/${s.name}`),
    );
    const keys = new Set<string>();
    for (const s of statuses) {
      const key = keyOf(s);
      keys.add(key);
      try {
        await this.writeOne(s, key, ourGateways, extras, report);
      } catch (err) {
        this.counter.inc({ kind: s.kind, outcome: 'error' });
        report.errors.push({ key, error: err instanceof Error ? err.message : String(err) });
      }
    }
    for (const key of this.written.keys()) if (!keys.has(key)) this.written.delete(key);
    return report;
  }

  private async writeOne(
    s: ResourceStatus,
    key: string,
    ourGateways: Set<string>,
    extras: WriteExtras,
    report: WriteReport,
  ) {
    const retries = this.opts.conflictRetries ?? 5;
    const features =
      s.kind === 'GatewayClass' && extras.supportedFeatures ? await this.featureShape() : 'absent';
    for (let attempt = 0; ; attempt++) {
      // The cache first; a GET after a 409 (the cache is behind) or when the cache lacks the object.
      const obj = (attempt === 0 ? this.cached(s, key) : undefined) ?? (await this.read(s));
      if (!obj) {
        report.missing++;
        return;
      }
      const meta = obj.metadata as Json;
      const merged = mergeStatus(obj.status as Json | undefined, s, {
        controllerName: this.opts.controllerName,
        generation: typeof meta.generation === 'number' ? meta.generation : undefined,
        now: (this.opts.now?.() ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z'),
        addresses: s.kind === 'Gateway' ? extras.addresses?.get(`${s.namespace}/${s.name}`) : undefined,
        supportedFeatures: features === 'absent' ? undefined : extras.supportedFeatures,
        supportedFeaturesAs: features === 'strings' ? 'strings' : 'objects',
        ourGateways,
      });
      if (!merged.changed) {
        report.unchanged++;
        return;
      }
      await this.pace();
      await this.opts.beforePatch?.(s, attempt);
      try {
        const body = { metadata: { resourceVersion: meta.resourceVersion }, status: merged.status };
        const after = await this.patch(s, body);
        if (this.opts.lookup && after?.metadata)
          this.written.set(key, { base: meta.resourceVersion, obj: after });
        this.writesTotal++;
        this.counter.inc({ kind: s.kind, outcome: 'written' });
        report.written++;
        return;
      } catch (err) {
        this.written.delete(key);
        if (code(err) !== 409 || attempt >= retries) throw err;
        this.counter.inc({ kind: s.kind, outcome: 'conflict' });
        report.conflicts++;
      }
    }
  }

  /** The informers' object, or our own last write of it while the cache has not seen that write yet. */
  private cached(s: ResourceStatus, key: string): Json | undefined {
    if (!this.opts.lookup) return undefined;
    const k = STATUS_KINDS[s.kind];
    const obj = this.opts.lookup({ ...k, kind: s.kind, namespace: s.namespace || undefined, name: s.name });
    const mine = this.written.get(key);
    if (mine && obj && obj.metadata.resourceVersion === mine.base) return mine.obj;
    // The cache moved past the version we patched (our write's event, or someone's after it): it is the truth.
    this.written.delete(key);
    return obj as Json | undefined;
  }

  private path(s: ResourceStatus): string {
    const k = STATUS_KINDS[s.kind];
    const ns = s.namespace ? `namespaces/${s.namespace}/` : '';
    return `/apis/${k.group}/${k.version}/${ns}${k.plural}/${s.name}`;
  }

  private async read(s: ResourceStatus): Promise<Json | undefined> {
    this.count('get');
    const path = this.path(s);
    const r = await requestJson(this.client, 'GET', path);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new HttpError(`GET ${path}: HTTP ${r.status}: ${apiMessage(r)}`, r.status);
    return r.body as Json;
  }

  private async patch(s: ResourceStatus, body: Json): Promise<Json | undefined> {
    this.count('patch');
    const path = `${this.path(s)}/status`;
    const r = await requestJson(this.client, 'PATCH', path, body, 'application/merge-patch+json');
    if (r.status !== 200) throw new HttpError(`PATCH ${path}: HTTP ${r.status}: ${apiMessage(r)}`, r.status);
    return r.body && typeof r.body === 'object' ? (r.body as Json) : undefined;
  }

  /**
   * Whether, and as what, the installed GatewayClass CRD has status.supportedFeatures in v1, read from its schema
   * and trusted for schemaTtlMs (a CRD upgrade is seen within that). Unreadable (no RBAC for CRDs) → absent, so
   * nothing is written that the API server might prune and we would then write again on every pass.
   */
  async featureShape(): Promise<FeatureShape> {
    const ttl = this.opts.schemaTtlMs ?? 600_000;
    if (this.schema && Date.now() - this.schema.at < ttl) return this.schema.shape;
    this.count('schema');
    // A failed read keeps what we knew (a passing fault must not flip the field on and off); never known → absent.
    let shape: FeatureShape = this.schema?.shape ?? 'absent';
    try {
      const r = await getJson(this.client, GATEWAYCLASS_CRD);
      if (r.status === 200) shape = featureShapeOf(r.body);
      else if (r.status === 404) shape = 'absent';
      else log.warn('GatewayClass CRD unreadable (RBAC?)', { status: r.status, supportedFeatures: shape });
    } catch (err) {
      log.warn('GatewayClass CRD unreadable', { err, supportedFeatures: shape });
    }
    if (shape !== this.schema?.shape) log.info('GatewayClass status.supportedFeatures', { shape });
    this.schema = { shape, at: Date.now() };
    return shape;
  }

  private count(verb: 'get' | 'patch' | 'schema'): void {
    this.requestsTotal++;
    this.requestCounter.inc({ verb });
  }

  // A token bucket (client-go's QPS and burst): a burst of changes (a re-list, 1,000 new routes) goes out at once up
  // to `burst` writes, then at `qps`, so a flapping Envoy or a resync storm cannot hammer the API server.
  private async pace(): Promise<void> {
    const qps = this.opts.qps ?? 100;
    const burst = this.opts.burst ?? 200;
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(burst, this.tokens + ((now - this.refilled) * qps) / 1000);
      this.refilled = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.tokens) * 1000) / qps)));
    }
  }
}

const keyOf = (s: ResourceStatus) => `${s.kind} ${s.namespace ? `${s.namespace}/` : ''}${s.name}`;

/** The HTTP status of a client-node ApiException (or undefined). */
export function code(err: unknown): number | undefined {
  const c = (err as { code?: unknown })?.code;
  return typeof c === 'number' ? c : undefined;
}
