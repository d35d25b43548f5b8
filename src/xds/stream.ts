// What the SotW and Delta ADS handlers share: identifying the node on its first request, one watch on the
// node group's snapshot, per-stream nonces, ordered sends, and cleanup when the stream ends.

import type { ServerDuplexStream } from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Node } from '../../generated/envoy/config/core/v3/base';
import { logger } from '../util/log';
import type { SnapshotReader } from './cache';
import type { ClientRegistry, NodeState, Protocol } from './clients';
import { xdsTypeForUrl } from './resource-types';
import type { Snapshot } from './snapshot';

const log = logger('xds.stream');

/** How a node is mapped to its group: by default node.cluster, which names its Gateway ("ns/name"). */
export type GroupOf = (node: Node) => string;
export const groupByCluster: GroupOf = (node) => node.cluster;

export interface HandlerDeps {
  cache: SnapshotReader;
  clients: ClientRegistry;
  groupOf?: GroupOf;
}

/** A request's acknowledgement part, common to both protocols. */
export interface Acknowledgement {
  nonce: string;
  errorDetail?: { code: number; message: string };
}

/** Both ADS request types carry the node (first request) and the type URL. */
export interface AdsRequest {
  node?: Node;
  typeUrl: string;
}

export abstract class AdsStream<Req extends AdsRequest, Res> {
  protected node?: NodeState;
  protected group = '';
  private nonceCounter = 0;
  private unwatch?: () => void;
  private closed = false;

  constructor(
    protected readonly call: ServerDuplexStream<Req, Res>,
    protected readonly deps: HandlerDeps,
    readonly protocol: Protocol,
  ) {
    call.on('data', (req: Req) => this.receive(req));
    call.on('end', () => {
      this.close();
      call.end();
    });
    call.on('error', () => this.close());
    call.on('close', () => this.close());
    call.on('cancelled', () => this.close());
  }

  /** One request of a supported type from an identified node. */
  protected abstract handle(req: Req, snapshot: Snapshot | undefined): void;
  /** Called after a new snapshot of the node's group is published. */
  protected abstract push(snapshot: Snapshot): void;

  private receive(req: Req): void {
    if (this.closed) return;
    if (!this.node) {
      const node = req.node;
      if (!node?.id) return this.fail(GrpcStatus.INVALID_ARGUMENT, 'the first request must carry node.id');
      this.group = (this.deps.groupOf ?? groupByCluster)(node);
      if (!this.group)
        return this.fail(GrpcStatus.INVALID_ARGUMENT, 'node.cluster (the Gateway key) is empty');
      this.node = this.deps.clients.open(node.id, this.group, this.protocol);
      this.unwatch = this.deps.cache.watch(this.group, (s) => {
        if (!this.closed) this.push(s);
      });
    }
    if (!req.typeUrl) return this.fail(GrpcStatus.INVALID_ARGUMENT, 'ADS requests must carry type_url');
    if (!xdsTypeForUrl(req.typeUrl)) {
      log.debug('ignoring unsupported type', { node: this.node.id, type: req.typeUrl });
      return;
    }
    try {
      this.handle(req, this.deps.cache.get(this.group));
    } catch (err) {
      log.error('request handling failed', { node: this.node.id, err });
      this.fail(GrpcStatus.INTERNAL, String(err));
    }
  }

  protected nextNonce(): string {
    return String(++this.nonceCounter);
  }

  protected send(res: Res): void {
    if (!this.closed) this.call.write(res);
  }

  protected fail(code: GrpcStatus, details: string): void {
    log.warn('closing stream', { node: this.node?.id, code, details });
    this.call.emit('error', { code, details });
    this.close();
  }

  /** Ends the stream from the server side (graceful shutdown): Envoy reconnects elsewhere and keeps its config. */
  shutdown(): void {
    if (this.closed) return;
    this.close();
    this.call.end();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch?.();
    if (this.node) this.deps.clients.close(this.node.id, this.protocol);
    this.onClose?.();
  }

  onClose?: () => void;
}
