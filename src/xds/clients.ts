// What each connected node has been sent, has ACKed and has rejected. A node's state lives while it has at
// least one open stream and is dropped with its last stream. Metrics are updated here so handlers stay small.

import { logger } from '../util/log';
import type { XdsMetrics } from './metrics';
import { shortType } from './resource-types';

const log = logger('xds.clients');

export type Protocol = 'sotw' | 'delta';

export interface NackRecord {
  type: string;
  /** The version the node rejected (the one we sent with that nonce). */
  version: string;
  nonce: string;
  errorDetail: { code: number; message: string };
  at: string;
}

export interface NodeState {
  id: string;
  group: string;
  protocol: Protocol;
  streams: number;
  connectedAt: string;
  /** Per type (short name): the version sent last and the version ACKed last. */
  sent: Record<string, string>;
  acked: Record<string, string>;
  lastNack?: NackRecord;
  nacks: number;
}

export class ClientRegistry {
  private readonly nodes = new Map<string, NodeState>();

  constructor(private readonly metrics?: XdsMetrics) {}

  open(id: string, group: string, protocol: Protocol): NodeState {
    let node = this.nodes.get(id);
    if (!node) {
      node = {
        id,
        group,
        protocol,
        streams: 0,
        connectedAt: new Date().toISOString(),
        sent: {},
        acked: {},
        nacks: 0,
      };
      this.nodes.set(id, node);
      log.info('node connected', { node: id, group, protocol });
    }
    node.streams++;
    this.metrics?.streams.inc({ protocol });
    this.metrics?.nodes.set(this.nodes.size);
    return node;
  }

  close(id: string, protocol: Protocol): void {
    this.metrics?.streams.dec({ protocol });
    const node = this.nodes.get(id);
    if (!node) return;
    if (--node.streams <= 0) {
      this.nodes.delete(id);
      log.info('node disconnected', { node: id, group: node.group });
    }
    this.metrics?.nodes.set(this.nodes.size);
  }

  sent(id: string, typeUrl: string, version: string, protocol: Protocol): void {
    const node = this.nodes.get(id);
    if (node) node.sent[shortType(typeUrl)] = version;
    this.metrics?.pushes.inc({ type: shortType(typeUrl), protocol });
  }

  ack(id: string, typeUrl: string, version: string, latencyMs?: number): void {
    const node = this.nodes.get(id);
    if (node) node.acked[shortType(typeUrl)] = version;
    if (latencyMs !== undefined)
      this.metrics?.ackLatency.observe({ type: shortType(typeUrl) }, latencyMs / 1000);
  }

  nack(
    id: string,
    typeUrl: string,
    version: string,
    nonce: string,
    detail: { code: number; message: string },
  ) {
    const node = this.nodes.get(id);
    const record: NackRecord = {
      type: shortType(typeUrl),
      version,
      nonce,
      errorDetail: detail,
      at: new Date().toISOString(),
    };
    if (node) {
      node.lastNack = record;
      node.nacks++;
    }
    this.metrics?.nacks.inc({ type: record.type, group: node?.group ?? '' });
    log.warn('node rejected config (NACK)', { node: id, group: node?.group, ...record });
  }

  resendSuppressed(typeUrl: string): void {
    this.metrics?.nackResendsSuppressed.inc({ type: shortType(typeUrl) });
  }

  get(id: string): NodeState | undefined {
    return this.nodes.get(id);
  }

  list(): NodeState[] {
    return [...this.nodes.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }
}
