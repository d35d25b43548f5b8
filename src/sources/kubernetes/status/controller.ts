// Status write-back for `serve --kubernetes`: every replica compiles and serves xDS; only the Lease holder writes
// status. Writes are coalesced (a burst of compiles → one pass) and repeated on a resync period so a status someone
// else overwrote is put back; a replica that starts leading writes at once.

import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import type { ResourceStatus } from '../../../compiler/ir';
import { logger } from '../../../util/log';
import type { KubeClient } from '../client';
import type { ObjectLookup } from '../source';
import { LeaderElector, type LeaderElectionOptions } from '../leader';
import type { FleetReconciler, GatewayCondition } from '../fleet/reconciler';
import { withDataPlane, withFleet } from '../fleet/status';
import { StatusWriter, type WriteExtras, type WriteReport } from './writer';

const log = logger('status');

export interface StatusControllerOptions {
  client: KubeClient;
  controllerName: string;
  /** The latest compile's statuses (the pipeline's). */
  statuses: () => ResourceStatus[];
  extras?: () => WriteExtras;
  /** The informers' latest objects: the writer merges against them instead of a GET per object. */
  lookup?: ObjectLookup;
  /** Status write rate limit (token bucket): writes a second and burst (defaults 100 and 200). */
  qps?: number;
  burst?: number;
  /** Managed Envoy fleets: reconciled by the leader before each status pass (addresses, Programmed). */
  fleet?: FleetReconciler;
  /** The Envoys' ACK/NACK per Gateway key, as this replica sees them (a NACK → Programmed False). */
  dataPlane?: () => Record<string, GatewayCondition>;
  /** Lease namespace (default $POD_NAMESPACE, else "default") and name (default "infergate-status-writer"). */
  leaseNamespace?: string;
  leaseName?: string;
  identity?: string;
  election?: Pick<LeaderElectionOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>;
  /** Coalescing delay after notify(), default 100 ms; resync period, default 60 s. */
  debounceMs?: number;
  resyncMs?: number;
  registry?: Registry;
}

export class StatusController {
  readonly writer: StatusWriter;
  readonly elector: LeaderElector;
  private timer: NodeJS.Timeout | undefined;
  private resync: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private again = false;
  private busy = false;
  private stopped = false;
  last: WriteReport | undefined;

  constructor(private readonly o: StatusControllerOptions) {
    this.writer = new StatusWriter(o.client, {
      controllerName: o.controllerName,
      registry: o.registry,
      lookup: o.lookup,
      qps: o.qps,
      burst: o.burst,
    });
    this.elector = new LeaderElector(o.client, {
      namespace: o.leaseNamespace ?? process.env.POD_NAMESPACE ?? 'default',
      name: o.leaseName ?? 'infergate-status-writer',
      identity: o.identity ?? `${hostname()}_${process.pid}`,
      ...o.election,
      onStartedLeading: () => {
        log.info('leading: this replica writes status', { lease: o.leaseName ?? 'infergate-status-writer' });
        this.notify();
        this.resync = setInterval(() => this.notify(), o.resyncMs ?? 60_000);
      },
      onStoppedLeading: () => {
        log.info('stopped leading: status writes stop');
        clearInterval(this.resync);
      },
      onError: (err) => log.warn('leader election: API error (retrying)', { err }),
    });
  }

  async start(): Promise<void> {
    // Every replica watches the fleet it would own, so a new leader reconciles from a warm cache.
    await this.o.fleet?.start();
    this.elector.start();
  }

  /** A compile finished: write its statuses soon, if we lead. */
  notify(): void {
    if (this.stopped || !this.elector.isLeader()) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), this.o.debounceMs ?? 100);
  }

  private flush(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.running = this.writeNow()
      .catch((err: unknown) => log.warn('status pass failed (next pass retries)', { err }))
      .finally(() => {
        this.busy = false;
        if (this.again && !this.stopped) {
          this.again = false;
          this.flush();
        }
      });
  }

  private async writeNow(): Promise<void> {
    if (!this.elector.isLeader()) return;
    let statuses = this.o.statuses();
    const extras: WriteExtras = { ...this.o.extras?.() };
    if (this.o.fleet) {
      const gateways = statuses.filter((s) => s.kind === 'Gateway').map((s) => `${s.namespace}/${s.name}`);
      const fleet = await this.o.fleet.reconcile(gateways);
      if (fleet.errors.length) log.warn('fleet reconcile errors', { errors: fleet.errors });
      statuses = withFleet(statuses, fleet);
      extras.addresses = fleet.addresses;
    }
    statuses = withDataPlane(statuses, this.o.dataPlane?.());
    const report = await this.writer.write(statuses, extras);
    this.last = report;
    if (report.written || report.errors.length)
      log.info('status written', {
        written: report.written,
        unchanged: report.unchanged,
        errors: report.errors,
      });
  }

  /** Stops writing and releases the Lease (another replica takes over on its next retry). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.resync);
    await this.running;
    this.o.fleet?.stop();
    await this.elector.stop();
  }
}
