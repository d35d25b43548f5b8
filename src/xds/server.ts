// The ADS gRPC server: both StreamAggregatedResources (SotW) and DeltaAggregatedResources over one port,
// with keepalive and a graceful shutdown that ends every stream (Envoys keep their config and reconnect).

import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { AggregatedDiscoveryServiceService } from '../../generated/envoy/service/discovery/v3/ads';
import { logger } from '../util/log';
import { DeltaStream } from './delta';
import { SotwStream } from './sotw';
import type { HandlerDeps } from './stream';
import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DiscoveryRequest,
  DiscoveryResponse,
} from '../../generated/envoy/service/discovery/v3/discovery';

interface OpenStream {
  shutdown(): void;
  onClose?: () => void;
}

const log = logger('xds.server');

export interface XdsServerOptions extends HandlerDeps {
  /** host:port; port 0 picks a free one. */
  address: string;
}

export interface XdsServer {
  port: number;
  /** Open streams (both protocols). */
  streamCount(): number;
  /** Ends every stream, stops accepting, waits up to graceMs, then forces the rest closed. */
  close(graceMs?: number): Promise<void>;
}

const KEEPALIVE = {
  // Ping idle connections so dead Envoys are noticed and NATs keep the flow.
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  // Envoy's bootstrap pings every 30 s; accept pings that often.
  'grpc.http2.min_ping_interval_without_data_ms': 10_000,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 256 * 1024 * 1024,
};

export async function startXdsServer(options: XdsServerOptions): Promise<XdsServer> {
  const streams = new Set<OpenStream>();
  const track = (s: OpenStream) => {
    streams.add(s);
    s.onClose = () => streams.delete(s);
  };
  const server = new Server(KEEPALIVE);
  server.addService(AggregatedDiscoveryServiceService, {
    streamAggregatedResources: (call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) =>
      track(new SotwStream(call, options, 'sotw')),
    deltaAggregatedResources: (call: ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) =>
      track(new DeltaStream(call, options, 'delta')),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.address, ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  log.info('xDS server listening', { address: options.address, port });
  return {
    port,
    streamCount: () => streams.size,
    close: async (graceMs = 2000) => {
      for (const s of [...streams]) s.shutdown();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      log.info('xDS server stopped', { port });
    },
  };
}
