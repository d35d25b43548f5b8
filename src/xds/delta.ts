// Incremental ADS (DeltaAggregatedResources). Per type: the subscription and, per resource name, the version
// the node has (recorded on send, seeded from initial_resource_versions), so a NACKed version is never resent:
// the node stays on what it had until the resource changes again. Removals go out after every update.

import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  Resource,
} from '../../generated/envoy/service/discovery/v3/discovery';
import { PUSH_ORDER, REMOVAL_ORDER } from './resource-types';
import type { Snapshot } from './snapshot';
import { AdsStream } from './stream';
import { Subscription } from './subscription';

/** Marks a name we told the node does not exist (so it is not told again). */
const ABSENT = '';

interface TypeState {
  subscription: Subscription;
  /** name → version the node has (or ABSENT). */
  has: Map<string, string>;
  /** nonce → what was sent, for ACK/NACK bookkeeping. */
  inflight: Map<string, { version: string; sentAt: number }>;
  answered: boolean;
}

export class DeltaStream extends AdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
  private readonly types = new Map<string, TypeState>();

  protected handle(req: DeltaDiscoveryRequest, snapshot: Snapshot | undefined): void {
    const node = this.node!;
    let st = this.types.get(req.typeUrl);
    const first = !st;
    if (!st) {
      st = { subscription: new Subscription(), has: new Map(), inflight: new Map(), answered: false };
      this.types.set(req.typeUrl, st);
      for (const [name, version] of Object.entries(req.initialResourceVersions)) st.has.set(name, version);
    }
    const added = st.subscription.applyDelta(req.resourceNamesSubscribe, req.resourceNamesUnsubscribe);
    // A name subscribed again after the first request is sent again even if the node had it.
    if (!first) for (const n of added) st.has.delete(n);
    for (const n of req.resourceNamesUnsubscribe) st.has.delete(n);
    if (req.responseNonce) {
      const sent = st.inflight.get(req.responseNonce);
      st.inflight.delete(req.responseNonce);
      if (sent && req.errorDetail && req.errorDetail.code !== 0) {
        this.deps.clients.nack(node.id, req.typeUrl, sent.version, req.responseNonce, req.errorDetail);
      } else if (sent) {
        this.deps.clients.ack(node.id, req.typeUrl, sent.version, performance.now() - sent.sentAt);
      }
    }
    if (snapshot) this.respond(req.typeUrl, st, snapshot, 'all');
  }

  protected push(snapshot: Snapshot): void {
    for (const typeUrl of PUSH_ORDER) {
      const st = this.types.get(typeUrl);
      if (st) this.respond(typeUrl, st, snapshot, 'updates');
    }
    for (const typeUrl of REMOVAL_ORDER) {
      const st = this.types.get(typeUrl);
      if (st) this.respond(typeUrl, st, snapshot, 'removals');
    }
  }

  private respond(typeUrl: string, st: TypeState, snapshot: Snapshot, what: 'all' | 'updates' | 'removals') {
    const ts = snapshot.types.get(typeUrl);
    if (!ts) return;
    const resources: Resource[] = [];
    const removed: string[] = [];
    if (what !== 'removals') {
      for (const r of ts.resources.values()) {
        if (!st.subscription.covers(r.name) || st.has.get(r.name) === r.version) continue;
        resources.push({ name: r.name, aliases: [], version: r.version, resource: r.any });
      }
    }
    if (what !== 'updates') {
      for (const [name, version] of st.has) {
        if (version !== ABSENT && !ts.resources.has(name)) removed.push(name);
      }
      // Named subscriptions to resources that do not exist are answered once, so the node stops waiting.
      for (const name of st.subscription.names) {
        if (!ts.resources.has(name) && st.has.get(name) !== ABSENT && !removed.includes(name))
          removed.push(name);
      }
    }
    // The first request of a type is always answered, even with nothing, so the node can finish initializing.
    if (!resources.length && !removed.length && (st.answered || what === 'removals')) return;
    st.answered = true;
    for (const r of resources) st.has.set(r.name, r.version);
    for (const n of removed) {
      if (st.subscription.names.has(n)) st.has.set(n, ABSENT);
      else st.has.delete(n);
    }
    const nonce = this.nextNonce();
    st.inflight.set(nonce, { version: ts.version, sentAt: performance.now() });
    this.send({
      systemVersionInfo: ts.version,
      resources,
      typeUrl,
      removedResources: removed,
      removedResourceNames: [],
      nonce,
      resourceErrors: [],
    });
    this.deps.clients.sent(this.node!.id, typeUrl, ts.version, 'delta');
  }
}
