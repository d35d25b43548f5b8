// A scripted ADS client over grpc-js for protocol tests: sends requests and queues the responses it gets.

import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { AggregatedDiscoveryServiceClient } from '../../generated/envoy/service/discovery/v3/ads';
import {
  DeltaDiscoveryRequest,
  DiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryResponse,
} from '../../generated/envoy/service/discovery/v3/discovery';
import type { DeepPartial } from '../../src/compiler/xds/types';

export class ScriptedStream<Req, Res> {
  readonly received: Res[] = [];
  private read = 0;
  private waiters: (() => void)[] = [];
  ended = false;

  constructor(readonly stream: ClientDuplexStream<Req, Res>) {
    stream.on('data', (r: Res) => {
      this.received.push(r);
      for (const w of this.waiters.splice(0)) w();
    });
    stream.on('error', () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  send(req: Req): void {
    this.stream.write(req);
  }

  /** The next response not yet taken, waiting up to ms for it (generous: a busy machine is not a lost response). */
  async next(ms = 30000): Promise<Res> {
    const deadline = Date.now() + ms;
    while (this.read >= this.received.length) {
      if (this.ended || Date.now() > deadline) throw new Error('no response');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.received[this.read++];
  }

  /** Responses arriving within ms that were not taken yet. */
  async drain(ms: number): Promise<Res[]> {
    await new Promise((r) => setTimeout(r, ms));
    const out = this.received.slice(this.read);
    this.read = this.received.length;
    return out;
  }

  close(): void {
    this.stream.cancel();
  }
}

export function adsClient(port: number): AggregatedDiscoveryServiceClient {
  return new AggregatedDiscoveryServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
}

export function sotw(client: AggregatedDiscoveryServiceClient) {
  return new ScriptedStream<DiscoveryRequest, DiscoveryResponse>(client.streamAggregatedResources());
}

export function delta(client: AggregatedDiscoveryServiceClient) {
  return new ScriptedStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>(client.deltaAggregatedResources());
}

export const sotwReq = (p: DeepPartial<DiscoveryRequest>) => DiscoveryRequest.fromPartial(p);
export const deltaReq = (p: DeepPartial<DeltaDiscoveryRequest>) => DeltaDiscoveryRequest.fromPartial(p);
