// A userspace Service proxy for the bridge pod network (kube-proxy's old userspace mode, without iptables): a
// listener on each Service's ClusterIP:port in the cluster namespace, piping each connection to a ready endpoint.
// proxyTable decides from plain objects; ServiceProxy only keeps sockets in line with it.

import * as net from 'node:net';

import type { KubeObject } from './kube';

export interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
}
export type Service = KubeObject & {
  spec?: { clusterIP?: string; clusterIPs?: string[]; ports?: ServicePort[] };
};
export type EndpointSlice = KubeObject & {
  addressType?: string;
  ports?: { name?: string; port?: number; protocol?: string }[];
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
};

export interface Backend {
  host: string;
  port: number;
}
/** What one ClusterIP:port listener forwards to. */
export interface ProxyEntry {
  service: string;
  backends: Backend[];
}

const SERVICE_NAME = 'kubernetes.io/service-name';
const tcp = (protocol?: string) => (protocol ?? 'TCP') === 'TCP';

/** Service key (`ns/name`) -> its ready endpoints per Service port name, from the slices' ports of that name. */
function readyEndpoints(slices: Iterable<EndpointSlice>): Map<string, Map<string, Backend[]>> {
  const out = new Map<string, Map<string, Backend[]>>();
  for (const s of slices) {
    const svc = s.metadata.labels?.[SERVICE_NAME];
    if (!svc || (s.addressType ?? 'IPv4') !== 'IPv4') continue;
    const key = `${s.metadata.namespace}/${svc}`;
    const byPort = out.get(key) ?? new Map<string, Backend[]>();
    out.set(key, byPort);
    for (const p of s.ports ?? []) {
      if (!tcp(p.protocol) || p.port === undefined) continue;
      const list = byPort.get(p.name ?? '') ?? [];
      byPort.set(p.name ?? '', list);
      for (const ep of s.endpoints ?? []) {
        // An unset ready condition means ready (EndpointSlice API).
        if (ep.conditions?.ready === false) continue;
        for (const host of ep.addresses) list.push({ host, port: p.port });
      }
    }
  }
  return out;
}

/**
 * Listener address (`clusterIP:port`) -> where its connections go. A Service port's targetPort is resolved by the
 * EndpointSlice port of the same name, as kube-proxy does. default/kubernetes goes to the API server (it has no
 * endpoints here: the apiserver runs with --endpoint-reconciler-type none).
 */
export function proxyTable(
  services: Iterable<Service>,
  slices: Iterable<EndpointSlice>,
  apiServer: Backend,
): Map<string, ProxyEntry> {
  const ready = readyEndpoints(slices);
  const table = new Map<string, ProxyEntry>();
  for (const svc of services) {
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === 'None' || !net.isIPv4(ip)) continue;
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    for (const p of svc.spec?.ports ?? []) {
      if (!tcp(p.protocol)) continue;
      const seen = new Set<string>();
      const backends =
        key === 'default/kubernetes'
          ? [apiServer]
          : (ready.get(key)?.get(p.name ?? '') ?? []).filter((b) => {
              const id = `${b.host}:${b.port}`;
              return !seen.has(id) && (seen.add(id), true);
            });
      backends.sort((a, b) => a.host.localeCompare(b.host) || a.port - b.port);
      table.set(`${ip}:${p.port}`, { service: `${key}:${p.name ?? p.port}`, backends });
    }
  }
  return table;
}

interface Listener {
  server: net.Server;
  entry: ProxyEntry;
  next: number;
}

export class ServiceProxy {
  private readonly listeners = new Map<string, Listener>();

  constructor(private readonly log: (msg: string) => void) {}

  /** Opens listeners new in TABLE, closes those gone, and hands the rest their new backends. */
  update(table: Map<string, ProxyEntry>) {
    for (const [addr, l] of this.listeners) {
      if (table.has(addr)) continue;
      this.listeners.delete(addr);
      l.server.close();
      this.log(`proxy: ${addr} (${l.entry.service}) closed`);
    }
    for (const [addr, entry] of table) {
      const l = this.listeners.get(addr);
      if (l) l.entry = entry;
      else this.listen(addr, entry);
    }
  }

  close() {
    this.update(new Map());
  }

  private listen(addr: string, entry: ProxyEntry) {
    const [host, port] = addr.split(':');
    const l: Listener = {
      server: net.createServer({ allowHalfOpen: true }, (c) => this.forward(l, c)),
      entry,
      next: 0,
    };
    this.listeners.set(addr, l);
    // A second agent on the same cluster finds the address taken by the first one's proxy, which serves it; the
    // failed listener stays in the map so it is not retried (and logged) on every update.
    l.server.on('error', (err) => this.log(`proxy: ${addr} (${l.entry.service}): ${err.message}`));
    l.server.listen(Number(port), host, () => this.log(`proxy: ${addr} -> ${entry.service}`));
  }

  // Round-robin over the ready backends; none (or a refused connect) resets the client at once, as kube-proxy's
  // REJECT does, so a caller never waits on a Service with nothing behind it.
  private forward(l: Listener, client: net.Socket) {
    const { backends } = l.entry;
    if (backends.length === 0) return client.resetAndDestroy();
    const b = backends[l.next++ % backends.length];
    client.pause();
    // Half-open both ways, so a client that shuts down its sending side still gets the whole answer.
    const upstream = net.connect({ host: b.host, port: b.port, allowHalfOpen: true });
    upstream.on('connect', () => {
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      if (!client.destroyed) client.resetAndDestroy();
    });
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => client.end());
    client.on('close', () => upstream.destroy());
  }
}
