// Starts the EPP's three listeners: ext_proc gRPC (plus grpc.health.v1 on the same port, since Envoy's EPP
// cluster health-checks the ext_proc port), a separate gRPC health port, and the Prometheus /metrics HTTP port.

import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type * as http from 'node:http';
import { register as defaultRegistry, type Registry } from 'prom-client';
import { logger } from '../../util/log';
import { EXT_PROC_SERVICE } from './extproc-codec';
import { extProcService, type StreamFactory } from './extproc-service';
import { EPP_HEALTH_SERVICES, HealthService, ServingStatus, healthService } from './health';
import { startMetricsServer } from './metrics-http';
import { tuneSessions } from './sessions';
import { serverCredentials } from './tls';

const log = logger('epp.server');

export interface ServeOptions {
  newStream: StreamFactory;
  address?: string;
  /** 0 picks a free port. */
  grpcPort: number;
  healthPort?: number;
  metricsPort?: number;
  secure?: boolean;
  certPath?: string;
  /** SERVING once true (the datastore has synced the pool). */
  ready: () => boolean;
  /** With --ha-enable-leader-election: only the leader is ready; liveness stays SERVING (upstream's rule). */
  leader?: () => boolean;
  healthNames?: string[];
  registry?: Registry;
  /**
   * Largest gRPC message the ext_proc server accepts (default: DEFAULT_MAX_RECEIVE_MESSAGE_BYTES). Set it to the
   * body limit + RECEIVE_MESSAGE_MARGIN_BYTES so a BUFFERED body just over the limit reaches the handler (413)
   * instead of being refused by grpc-js with RESOURCE_EXHAUSTED.
   */
  maxReceiveMessageBytes?: number;
  /** HTTP/2 receive window (per stream and connection) of the ext_proc server; FLOW_CONTROL_WINDOW_BYTES. */
  flowControlWindowBytes?: number;
  /** Keep peer resets from nghttp2's rapid-reset guard (reset-shield.ts); false only to measure without. */
  shieldResets?: boolean;
}

/** Room for what a ProcessingRequest carries besides the body (metadata, attributes, framing). */
export const RECEIVE_MESSAGE_MARGIN_BYTES = 1024 * 1024;
/** The default body limit (16 MiB, --max-body-bytes) plus the margin. */
export const DEFAULT_MAX_RECEIVE_MESSAGE_BYTES = 16 * 1024 * 1024 + RECEIVE_MESSAGE_MARGIN_BYTES;

export interface RunningServer {
  grpcPort: number;
  healthPort?: number;
  metricsPort?: number;
  /**
   * Stops serving: first reports NOT_SERVING on every health service for drainMs (so gateways health-checking
   * this server take it out of rotation while it still answers), then stops accepting streams, lets open ones
   * finish for up to graceMs, and closes everything.
   */
  close(graceMs?: number, drainMs?: number): Promise<void>;
}

export async function serve(o: ServeOptions): Promise<RunningServer> {
  const address = o.address ?? '0.0.0.0';
  const names = o.healthNames ?? EPP_HEALTH_SERVICES;
  let draining = false;
  const health = healthService(names, (service) => {
    if (draining) return ServingStatus.NOT_SERVING;
    if (o.leader && service === 'liveness') return ServingStatus.SERVING;
    return o.ready() && (o.leader?.() ?? true) ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  });
  const grpcOptions = {
    'grpc.max_receive_message_length': o.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
  };

  const main = new Server(grpcOptions);
  main.addService(EXT_PROC_SERVICE, extProcService(o.newStream));
  main.addService(HealthService as ServiceDefinition, health);
  const grpcPort = await bind(main, address, o.grpcPort, serverCredentials(o.secure ?? false, o.certPath));
  // A wide receive window, and Envoy's per-stream resets kept from nghttp2's reset limit (sessions.ts).
  tuneSessions(main, {
    windowBytes: o.flowControlWindowBytes ?? FLOW_CONTROL_WINDOW_BYTES,
    shieldResets: o.shieldResets ?? process.env.INFERGATE_EPP_SHIELD_RESETS !== '0',
  });
  const servers: Server[] = [main];

  let healthPort: number | undefined;
  if (o.healthPort !== undefined) {
    const h = new Server();
    h.addService(HealthService as ServiceDefinition, health as UntypedServiceImplementation);
    healthPort = await bind(h, address, o.healthPort, ServerCredentials.createInsecure());
    servers.push(h);
  }
  let metrics: http.Server | undefined;
  if (o.metricsPort !== undefined)
    metrics = await startMetricsServer(o.registry ?? defaultRegistry, o.metricsPort, address);
  const metricsPort = metrics ? (metrics.address() as { port: number }).port : undefined;
  log.info('serving', { address, grpcPort, healthPort, metricsPort, secure: o.secure ?? false });

  return {
    grpcPort,
    healthPort,
    metricsPort,
    async close(graceMs = 5000, drainMs = 0) {
      draining = true;
      if (drainMs > 0) await new Promise((r) => setTimeout(r, drainMs));
      await Promise.all(servers.map((s) => shutdown(s, graceMs)));
      if (metrics) {
        metrics.closeAllConnections();
        await new Promise<void>((resolve) => metrics!.close(() => resolve()));
      }
    },
  };
}

/** HTTP/2 receive window per stream and per connection for ext_proc (Node's default is 64 KiB). */
export const FLOW_CONTROL_WINDOW_BYTES = 8 * 1024 * 1024;

function bind(server: Server, address: string, port: number, creds: ServerCredentials): Promise<number> {
  const host = address.includes(':') ? `[${address}]` : address;
  return new Promise((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, creds, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
}

function shutdown(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
