// State-of-the-world ADS (StreamAggregatedResources). Per type: the subscription, the last nonce and what it
// carried. Stale-nonce requests are ignored (xDS spec; go-control-plane). A NACKed version is parked: it is
// not sent again until the snapshot of that type changes (go-control-plane#962 resends it forever).

import type {
  DiscoveryRequest,
  DiscoveryResponse,
} from '../../generated/envoy/service/discovery/v3/discovery';
import { logger } from '../util/log';
import { PUSH_ORDER, REMOVAL_ORDER, xdsTypeForUrl } from './resource-types';
import type { Snapshot, TypeSnapshot, VersionedResource } from './snapshot';
import { AdsStream } from './stream';
import { Subscription } from './subscription';

const log = logger('xds.sotw');

interface TypeState {
  subscription: Subscription;
  nonce?: string;
  sentAt?: number;
  /** What the last response carried: its version and resources (by name). */
  sentVersion?: string;
  sent: Map<string, VersionedResource>;
  /** The version the node rejected; parked until the snapshot moves on. */
  rejected?: string;
}

export class SotwStream extends AdsStream<DiscoveryRequest, DiscoveryResponse> {
  private readonly types = new Map<string, TypeState>();

  protected handle(req: DiscoveryRequest, snapshot: Snapshot | undefined): void {
    const node = this.node!;
    let st = this.types.get(req.typeUrl);
    if (st && req.responseNonce && req.responseNonce !== st.nonce) {
      log.debug('skipping request with stale nonce', {
        node: node.id,
        type: req.typeUrl,
        nonce: req.responseNonce,
      });
      return;
    }
    if (!st) {
      st = { subscription: new Subscription(), sent: new Map() };
      this.types.set(req.typeUrl, st);
    }
    st.subscription.setSotw(req.resourceNames);
    if (req.responseNonce && req.responseNonce === st.nonce) {
      if (req.errorDetail && req.errorDetail.code !== 0) {
        st.rejected = st.sentVersion;
        this.deps.clients.nack(
          node.id,
          req.typeUrl,
          st.sentVersion ?? '',
          req.responseNonce,
          req.errorDetail,
        );
      } else {
        st.rejected = undefined;
        const latency = st.sentAt !== undefined ? performance.now() - st.sentAt : undefined;
        this.deps.clients.ack(node.id, req.typeUrl, req.versionInfo, latency);
        st.sentAt = undefined;
      }
    }
    if (snapshot) this.respond(req.typeUrl, st, snapshot, 'final');
  }

  protected push(snapshot: Snapshot): void {
    // Make before break: first every type in order, keeping full-state resources that are going away;
    // then the removals, in reverse order.
    const removals: string[] = [];
    for (const typeUrl of PUSH_ORDER) {
      const st = this.types.get(typeUrl);
      if (!st) continue;
      if (this.respond(typeUrl, st, snapshot, 'keep')) removals.push(typeUrl);
    }
    for (const typeUrl of REMOVAL_ORDER) {
      if (removals.includes(typeUrl)) this.respond(typeUrl, this.types.get(typeUrl)!, snapshot, 'final');
    }
  }

  /**
   * Sends the type's resources if they differ from what this stream last sent. With 'keep', a full-state type
   * keeps the resources it is about to drop, and the return value says a final response is still due.
   */
  private respond(typeUrl: string, st: TypeState, snapshot: Snapshot, mode: 'keep' | 'final'): boolean {
    const ts = snapshot.types.get(typeUrl);
    if (!ts) return false;
    const type = xdsTypeForUrl(typeUrl)!;
    if (!type.fullState && !st.subscription.wildcard && st.subscription.names.size === 0) return false;
    const chosen = this.select(ts, st);
    let version = ts.version;
    let needsFinal = false;
    if (mode === 'keep' && type.fullState) {
      const dropped = [...st.sent.values()].filter((r) => !ts.resources.has(r.name));
      if (dropped.length) {
        chosen.push(...dropped);
        version = `${ts.version}+${dropped.length}`;
        needsFinal = true;
      }
    }
    if (st.rejected !== undefined && st.rejected === version) {
      this.deps.clients.resendSuppressed(typeUrl);
      return false;
    }
    if (st.sentVersion === version && sameNames(st.sent, chosen)) return false;
    const nonce = this.nextNonce();
    st.nonce = nonce;
    st.sentVersion = version;
    st.sent = new Map(chosen.map((r) => [r.name, r]));
    st.sentAt = performance.now();
    this.send({
      versionInfo: version,
      resources: chosen.map((r) => r.any),
      canary: false,
      typeUrl,
      nonce,
      resourceErrors: [],
    });
    this.deps.clients.sent(this.node!.id, typeUrl, version, 'sotw');
    return needsFinal;
  }

  private select(ts: TypeSnapshot, st: TypeState): VersionedResource[] {
    if (st.subscription.wildcard) return [...ts.resources.values()];
    const out: VersionedResource[] = [];
    for (const name of st.subscription.names) {
      const r = ts.resources.get(name);
      if (r) out.push(r);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  }
}

function sameNames(sent: Map<string, VersionedResource>, chosen: VersionedResource[]): boolean {
  return sent.size === chosen.length && chosen.every((r) => sent.has(r.name));
}
