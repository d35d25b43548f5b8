// Assembles one GatewayIR: programmed listeners grouped by port, attached routes placed in one virtual host
// per effective hostname and ordered by precedence, and the clusters and pools those routes use.
//
// Envoy sends a request to the single most specific virtual host, while the Gateway API first picks the most
// specific listener for the Host and then considers every route attached to it whose hostnames cover that Host.
// So the virtual host for `bar.example.com` also carries, after bar's own rules, the rules of routes attached to
// the same listener via `*.example.com` or with no hostname.

import type { GatewayIR, PoolIR, PortIR, SecretIR, ServiceClusterIR, VirtualHostIR } from '../ir';
import type { Attachment } from './attachment';
import { compareStrings, namespaceOf } from './context';
import type { GatewayState, ListenerState } from './gateways';
import { ANY_HOST, compareHostnamePrecedence, compareHostnames, covers } from './hostnames';
import type { RankedRoute } from './matches';
import { compareRoutes } from './matches';
import type { RouteTranslation } from './rules';

/** One route on one listener under one effective hostname. */
interface Placement {
  listener: ListenerState;
  hostname: string;
  routes: RankedRoute[];
}

interface PortBuilder {
  protocol: 'HTTP' | 'HTTPS';
  listeners: ListenerState[];
  placements: Placement[];
}

/** The listener the Gateway API would pick for requests to `host`: the most specific one that covers it. */
function listenerFor(listeners: ListenerState[], host: string): ListenerState | undefined {
  const candidates = listeners.filter((l) => covers(l.listener.hostname ?? ANY_HOST, host));
  return candidates.sort((a, b) =>
    compareHostnames(a.listener.hostname ?? ANY_HOST, b.listener.hostname ?? ANY_HOST),
  )[0];
}

function virtualHost(
  port: number,
  p: PortBuilder,
  byHost: Map<string, Placement[]>,
  hostname: string,
): VirtualHostIR {
  const listener = listenerFor(p.listeners, hostname);
  // Hostname precedence first (bar.example.com's own rules before *.example.com's), then match precedence.
  // Placements are grouped by hostname so the coverage test runs once per distinct hostname, not per route.
  const ranked = [...byHost.keys()]
    .filter((h) => covers(h, hostname))
    .flatMap((h) => byHost.get(h)!.filter((pl) => pl.listener === listener))
    .flatMap((pl) => pl.routes.map((route) => ({ hostname: pl.hostname, route })))
    .sort((a, b) => compareHostnamePrecedence(a.hostname, b.hostname) || compareRoutes(a.route, b.route));
  // A route placed twice (two parentRefs to one listener) keeps its first place.
  const seen = new Set<string>();
  const routes = ranked
    .map((r) => r.route.ir)
    .filter((ir) => !seen.has(ir.name) && seen.add(ir.name) !== undefined);
  return { name: `${port}/${hostname}`, domains: [hostname], routes };
}

export class GatewayBuilder {
  private readonly ports = new Map<number, PortBuilder>();
  private readonly clusters = new Map<string, ServiceClusterIR>();
  private readonly pools = new Map<string, PoolIR>();

  constructor(private readonly state: GatewayState) {
    for (const l of state.listeners) {
      if (!l.programmed) continue;
      const protocol = l.listener.protocol === 'HTTPS' ? 'HTTPS' : 'HTTP';
      const port = this.ports.get(l.listener.port);
      if (port) port.listeners.push(l);
      else this.ports.set(l.listener.port, { protocol, listeners: [l], placements: [] });
    }
  }

  /** A Gateway with no programmed listener is not accepted and gets no IR. */
  get hasListeners(): boolean {
    return this.ports.size > 0;
  }

  addRoute(attachment: Attachment, translation: RouteTranslation): void {
    const port = this.ports.get(attachment.listener.listener.port);
    if (!port) return;
    const routes = translation.rules.flatMap((rule) => rule.routes);
    for (const hostname of attachment.hostnames)
      port.placements.push({ listener: attachment.listener, hostname, routes });
    for (const rule of translation.rules) {
      for (const c of rule.clusters) this.clusters.set(c.name, c);
      for (const p of rule.pools) this.pools.set(p.ir.key, p.ir);
    }
  }

  build(): GatewayIR {
    const { gateway, key } = this.state;
    const ns = namespaceOf(gateway.metadata);
    const name = gateway.metadata.name;
    const ports = [...this.ports.entries()]
      .sort(([a], [b]) => a - b)
      .map(([port, p]): PortIR => {
        const byHost = new Map<string, Placement[]>();
        for (const pl of p.placements) {
          const list = byHost.get(pl.hostname);
          if (list) list.push(pl);
          else byHost.set(pl.hostname, [pl]);
        }
        const virtualHosts = [...byHost.keys()]
          .sort(compareHostnames)
          .map((hostname) => virtualHost(port, p, byHost, hostname));
        const tls = p.listeners
          .flatMap((l) => (l.tls ? [l.tls] : []))
          .sort((a, b) => compareStrings(a.listener, b.listener));
        return {
          port,
          protocol: p.protocol,
          listenerName: `listener/${ns}/${name}/${port}`,
          routeConfigName: `route/${ns}/${name}/${port}`,
          ...(p.protocol === 'HTTPS' ? { tls } : {}),
          virtualHosts,
        };
      });
    const secrets = new Map<string, SecretIR>();
    for (const p of this.ports.values())
      for (const l of p.listeners) for (const s of l.secrets ?? []) secrets.set(s.name, s);
    const ir: GatewayIR = {
      key,
      namespace: ns,
      name,
      ports,
      clusters: [...this.clusters.values()].sort((a, b) => compareStrings(a.name, b.name)),
      pools: [...this.pools.values()].sort((a, b) => compareStrings(a.key, b.key)),
      secrets: [...secrets.values()].sort((a, b) => compareStrings(a.name, b.name)),
    };
    // Route, cluster and pool objects may be shared between virtual hosts and Gateways: the IR is read-only
    // from here on (stage 2 never mutates it), and copying it cost as much as the rest of stage 1 at 10k routes.
    return ir;
  }
}
