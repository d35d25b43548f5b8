// The control plane's admin HTTP server: /metrics, /healthz, /readyz, /debug/config (per group, proto JSON),
// /debug/clients (per node: group, versions sent and ACKed per type, last NACK) and /debug/status (inputs).
// Every JSON reply is redacted: private keys (Secrets, NACK messages quoting them) never leave the process.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderMessage, type Json } from '../compiler/xds/render';
import { logger } from '../util/log';
import { redact } from '../util/redact';
import type { SnapshotCache } from './cache';
import type { ClientRegistry } from './clients';
import type { XdsMetrics } from './metrics';
import { shortType, xdsTypeForUrl } from './resource-types';
import type { Snapshot } from './snapshot';

const log = logger('xds.admin');

export interface AdminDeps {
  cache: SnapshotCache;
  clients: ClientRegistry;
  metrics: XdsMetrics;
  /** Ready once a first snapshot is published. */
  ready: () => boolean;
  /** What the inputs look like now (last compile, problems, kept snapshot...). */
  status?: () => unknown;
}

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

export async function startAdmin(address: string, port: number, deps: AdminDeps): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    handle(req, deps).then(
      ({ code, type, body }) => {
        res.writeHead(code, { 'content-type': type });
        res.end(body);
      },
      (err: unknown) => {
        log.error('admin request failed', { url: req.url, err });
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  log.info('admin listening', { address, port: bound });
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Reply {
  code: number;
  type: string;
  body: string;
}

const json = (value: unknown, code = 200): Reply => ({
  code,
  type: 'application/json',
  body: JSON.stringify(redact(value), null, 2) + '\n',
});
const text = (body: string, code = 200): Reply => ({ code, type: 'text/plain', body: body + '\n' });

async function handle(req: http.IncomingMessage, deps: AdminDeps): Promise<Reply> {
  const url = new URL(req.url ?? '/', 'http://admin');
  switch (url.pathname) {
    case '/metrics':
      return {
        code: 200,
        type: deps.metrics.registry.contentType,
        body: await deps.metrics.registry.metrics(),
      };
    case '/healthz':
      return text('ok');
    case '/readyz':
      return deps.ready() ? text('ready') : text('initial sync not compiled yet', 503);
    case '/debug/config': {
      const only = url.searchParams.get('group');
      const out: Record<string, Json> = {};
      for (const group of deps.cache.groups()) {
        if (only && group !== only) continue;
        out[group] = renderSnapshot(deps.cache.get(group)!);
      }
      return json(out);
    }
    case '/debug/clients':
      return json(deps.clients.list());
    case '/debug/status':
      return json({ programmed: programmed(deps), inputs: deps.status?.() ?? {} });
    default:
      return text('endpoints: /metrics /healthz /readyz /debug/config /debug/clients /debug/status', 404);
  }
}

function renderSnapshot(s: Snapshot): Json {
  const types: Record<string, Json> = {};
  for (const [typeUrl, ts] of s.types) {
    const type = xdsTypeForUrl(typeUrl);
    if (!type) continue;
    types[shortType(typeUrl)] = {
      version: ts.version,
      resources: [...ts.resources.values()].map((r) => ({
        name: r.name,
        version: r.version,
        resource: renderMessage(type.message.name, r.message),
      })),
    };
  }
  return { version: s.version, types };
}

/**
 * The Gateway's Programmed condition as the data plane sees it: True once every connected node of the group has
 * ACKed everything it was sent; False while a node sits on a rejected (NACKed) version or has ACKs outstanding.
 */
export function programmed(deps: Pick<AdminDeps, 'cache' | 'clients'>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const group of deps.cache.groups()) {
    const nodes = deps.clients.list().filter((n) => n.group === group);
    const rejected = nodes.filter((n) => n.lastNack && n.acked[n.lastNack.type] !== n.sent[n.lastNack.type]);
    const pending = nodes.filter((n) => Object.keys(n.sent).some((t) => n.acked[t] !== n.sent[t]));
    const condition = rejected.length
      ? {
          status: 'False',
          reason: 'Invalid',
          message: rejected
            .map(
              (n) =>
                `${n.id} rejected ${n.lastNack!.type} ${n.lastNack!.version}: ${n.lastNack!.errorDetail.message}`,
            )
            .join('; '),
        }
      : pending.length
        ? {
            status: 'Unknown',
            reason: 'Pending',
            message: `${pending.length} of ${nodes.length} nodes have ACKs outstanding`,
          }
        : { status: 'True', reason: 'Programmed', message: `${nodes.length} nodes on the current config` };
    out[group] = { type: 'Programmed', ...condition };
  }
  return out;
}
