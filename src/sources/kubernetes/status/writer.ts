// Writes stage-1 statuses to the API server: read the latest object, merge (merge.ts), merge-patch /status with the
// read resourceVersion so a concurrent writer yields 409 and we re-read, and write nothing when nothing changed.

import { Counter, type Registry } from 'prom-client';
import type { ResourceStatus } from '../../../compiler/ir';
import type { KubeClient } from '../client';
import { mergeStatus, type Json } from './merge';

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
  /** Minimum gap between two writes (rate limit), default 50 ms (20 writes/s). */
  minIntervalMs?: number;
  /** Re-reads after a 409 before giving up on one object, default 5. */
  conflictRetries?: number;
  /** Registers infergate_status_writes_total here when given. */
  registry?: Registry;
  /** Clock for lastTransitionTime (tests). */
  now?: () => Date;
  /** Runs between the read and the patch (tests use it to race a concurrent writer). */
  beforePatch?: (s: ResourceStatus, attempt: number) => Promise<void>;
}

export interface WriteExtras {
  /** Gateway "ns/name" → status.addresses. */
  addresses?: Map<string, { type?: string; value: string }[]>;
  /** GatewayClass status.supportedFeatures (only when the installed CRD has the field). */
  supportedFeatures?: string[];
}

export interface WriteReport {
  written: number;
  unchanged: number;
  /** Objects absent from the API server (deleted since the compile): skipped. */
  missing: number;
  conflicts: number;
  errors: { key: string; error: string }[];
}

type Custom = InstanceType<KubeClient['lib']['CustomObjectsApi']>;

export class StatusWriter {
  private readonly api: Custom;
  private readonly counter: Counter;
  private writesTotal = 0;
  private lastWrite = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: StatusWriterOptions,
  ) {
    this.api = client.config.makeApiClient(client.lib.CustomObjectsApi);
    this.counter = new Counter({
      name: 'infergate_status_writes_total',
      help: 'Status subresource writes by kind and outcome (written, conflict, error)',
      labelNames: ['kind', 'outcome'],
      registers: opts.registry ? [opts.registry] : [],
    });
  }

  /** Status writes that reached the API server since start. */
  writes(): number {
    return this.writesTotal;
  }

  /** Writes every changed status; never throws for one object's failure (see the report). */
  async write(statuses: ResourceStatus[], extras: WriteExtras = {}): Promise<WriteReport> {
    const report: WriteReport = { written: 0, unchanged: 0, missing: 0, conflicts: 0, errors: [] };
    const ourGateways = new Set(
      statuses.filter((s) => s.kind === 'Gateway').map((s) => `${s.namespace}/${s.name}`),
    );
    for (const s of statuses) {
      const key = `${s.kind} ${s.namespace ? `${s.namespace}/` : ''}${s.name}`;
      try {
        await this.writeOne(s, ourGateways, extras, report);
      } catch (err) {
        this.counter.inc({ kind: s.kind, outcome: 'error' });
        report.errors.push({ key, error: err instanceof Error ? err.message : String(err) });
      }
    }
    return report;
  }

  private async writeOne(
    s: ResourceStatus,
    ourGateways: Set<string>,
    extras: WriteExtras,
    report: WriteReport,
  ) {
    const retries = this.opts.conflictRetries ?? 5;
    for (let attempt = 0; ; attempt++) {
      const obj = await this.read(s);
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
        supportedFeatures: s.kind === 'GatewayClass' ? extras.supportedFeatures : undefined,
        ourGateways,
      });
      if (!merged.changed) {
        report.unchanged++;
        return;
      }
      await this.pace();
      await this.opts.beforePatch?.(s, attempt);
      try {
        await this.patch(s, { metadata: { resourceVersion: meta.resourceVersion }, status: merged.status });
        this.writesTotal++;
        this.counter.inc({ kind: s.kind, outcome: 'written' });
        report.written++;
        return;
      } catch (err) {
        if (code(err) !== 409 || attempt >= retries) throw err;
        this.counter.inc({ kind: s.kind, outcome: 'conflict' });
        report.conflicts++;
      }
    }
  }

  private async read(s: ResourceStatus): Promise<Json | undefined> {
    const k = STATUS_KINDS[s.kind];
    try {
      return (await (s.namespace
        ? this.api.getNamespacedCustomObject({ ...k, namespace: s.namespace, name: s.name })
        : this.api.getClusterCustomObject({ ...k, name: s.name }))) as Json;
    } catch (err) {
      if (code(err) === 404) return undefined;
      throw err;
    }
  }

  private async patch(s: ResourceStatus, body: Json): Promise<void> {
    const k = STATUS_KINDS[s.kind];
    const { setHeaderOptions, PatchStrategy } = this.client.lib;
    const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    if (s.namespace)
      await this.api.patchNamespacedCustomObjectStatus(
        { ...k, namespace: s.namespace, name: s.name, body },
        options,
      );
    else await this.api.patchClusterCustomObjectStatus({ ...k, name: s.name, body }, options);
  }

  // A minimum gap between writes keeps a burst of changes (a re-list, a flapping Envoy) from hammering the server.
  private async pace(): Promise<void> {
    const gap = this.opts.minIntervalMs ?? 50;
    const wait = this.lastWrite + gap - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    this.lastWrite = Date.now();
  }
}

/** The HTTP status of a client-node ApiException (or undefined). */
export function code(err: unknown): number | undefined {
  const c = (err as { code?: unknown })?.code;
  return typeof c === 'number' ? c : undefined;
}
