// Leader election through a coordination.k8s.io/v1 Lease, with client-go's semantics: the holder renews every retry
// period; others take over once the record has not changed for a lease duration, measured on their own clock from
// when they saw it change (never by comparing clocks with the holder); a clean stop releases the Lease at once.

import type { KubeClient } from './client';
import { code } from './status/writer';

export interface LeaderElectionOptions {
  namespace: string;
  /** The Lease name (e.g. upstream EPP's "epp-<ns>-<pool>.gateway-api-inference-extension.sigs.k8s.io"). */
  name: string;
  /** This replica's identity (default: hostname_pid). */
  identity: string;
  /** Defaults as client-go / controller-runtime: 15 s, 10 s, 2 s. */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  /** Called whenever the observed holder changes (including to ourselves). */
  onNewLeader?: (identity: string) => void;
  /** Errors talking to the API server (each retry); default: ignored, the loop retries. */
  onError?: (err: unknown) => void;
}

type Custom = InstanceType<KubeClient['lib']['CustomObjectsApi']>;
interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

// The typed CoordinationV1Api serializes MicroTime as a millisecond Date, which the API server rejects
// ("cannot parse .689Z as .000000"), so the Lease goes through the generic object API with our own MicroTime.
const LEASES = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' };
const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  private readonly api: Custom;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private leading = false;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private tick: Promise<void> = Promise.resolve();
  private observed = '';
  private observedAt = 0;
  private lastRenew = 0;
  private holder = '';

  constructor(
    client: KubeClient,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.api = client.config.makeApiClient(client.lib.CustomObjectsApi);
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
    if (!(this.leaseMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryMs && this.retryMs > 0))
      throw new Error('leader election: need lease duration > renew deadline > retry period > 0');
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder last seen on the Lease ('' when none). */
  leader(): string {
    return this.holder;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop();
  }

  /** Stops campaigning; with release (the default) a leader hands the Lease back so another takes over at once. */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.tick;
    if (this.leading && opts.release !== false) {
      try {
        await this.release();
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
    this.setLeading(false);
  }

  private loop(): void {
    if (!this.running) return;
    this.tick = this.attempt().finally(() => {
      if (this.running) this.timer = setTimeout(() => this.loop(), this.retryMs);
    });
  }

  private async attempt(): Promise<void> {
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (err) {
      this.opts.onError?.(err);
    }
    if (!this.running) return;
    const now = Date.now();
    if (ok) {
      this.lastRenew = now;
      this.setLeading(true);
    } else if (this.leading && now - this.lastRenew > this.renewDeadlineMs) {
      // Could not renew within the deadline: another replica may take over any moment, so stop acting now.
      this.setLeading(false);
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const now = microTime(new Date());
    const seconds = Math.max(1, Math.ceil(this.leaseMs / 1000));
    let lease: Lease;
    try {
      lease = (await this.api.getNamespacedCustomObject({ ...LEASES, namespace, name })) as Lease;
    } catch (err) {
      if (code(err) !== 404) throw err;
      const body = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: seconds,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: 0,
        },
      };
      try {
        await this.api.createNamespacedCustomObject({ ...LEASES, namespace, body });
      } catch (e) {
        if (code(e) === 409) return false; // someone created it first
        throw e;
      }
      this.observe(identity, `${identity}|created`);
      return true;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    this.observe(
      holder,
      `${holder}|${String(spec.renewTime)}|${spec.leaseTransitions ?? 0}|${lease.metadata?.resourceVersion}`,
    );
    if (holder && holder !== identity && Date.now() - this.observedAt < this.leaseMs) return false;
    const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    lease.spec = {
      holderIdentity: identity,
      leaseDurationSeconds: seconds,
      acquireTime: holder === identity && spec.acquireTime ? spec.acquireTime : now,
      renewTime: now,
      leaseTransitions: transitions,
    };
    try {
      const saved = (await this.api.replaceNamespacedCustomObject({
        ...LEASES,
        namespace,
        name,
        body: lease,
      })) as Lease;
      this.observe(
        identity,
        `${identity}|${String(saved.spec?.renewTime)}|${transitions}|${saved.metadata?.resourceVersion}`,
      );
      return true;
    } catch (err) {
      if (code(err) === 409) return false; // another replica wrote it between our read and write
      throw err;
    }
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.opts;
    const lease = (await this.api.getNamespacedCustomObject({ ...LEASES, namespace, name })) as Lease;
    if (lease.spec?.holderIdentity !== identity) return;
    const now = microTime(new Date());
    lease.spec = {
      ...lease.spec,
      holderIdentity: undefined,
      leaseDurationSeconds: 1,
      renewTime: now,
      acquireTime: now,
    };
    await this.api.replaceNamespacedCustomObject({ ...LEASES, namespace, name, body: lease });
  }

  private observe(holder: string, record: string): void {
    if (record !== this.observed) {
      this.observed = record;
      this.observedAt = Date.now();
    }
    if (holder !== this.holder) {
      this.holder = holder;
      if (holder) this.opts.onNewLeader?.(holder);
    }
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    if (leading) this.opts.onStartedLeading?.();
    else this.opts.onStoppedLeading?.();
  }
}
