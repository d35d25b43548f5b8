// What the bench reads to decide that Envoy and the control plane have converged: Envoy's admin API (stats are
// cheap and polled; the route dump is large and read only after an RDS update), and /proc for a process's memory
// and CPU.

import * as fs from 'node:fs';

const POOL_CLUSTER = /^cluster\.(inferencepool\/[^:]+)\.membership_total: (\d+)$/;
const RDS_UPDATES = /\.rds\.[^:]+\.update_success: (\d+)$/;

export interface EnvoyStats {
  /** Pool cluster → hosts in it. */
  poolHosts: Map<string, number>;
  rdsUpdates: number;
}

export async function envoyStats(admin: string): Promise<EnvoyStats> {
  const filter = encodeURIComponent(
    '(^cluster\\.inferencepool/.*\\.membership_total$)|(\\.rds\\..*\\.update_success$)',
  );
  const text = await (await fetch(`${admin}/stats?filter=${filter}`)).text();
  const poolHosts = new Map<string, number>();
  let rdsUpdates = 0;
  for (const line of text.split('\n')) {
    const m = POOL_CLUSTER.exec(line);
    if (m) poolHosts.set(m[1], Number(m[2]));
    const r = RDS_UPDATES.exec(line);
    if (r) rdsUpdates += Number(r[1]);
  }
  return { poolHosts, rdsUpdates };
}

export const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/** HTTPRoutes that have at least one route in Envoy's dynamic route configs (route names: httproute/NS/NAME/...). */
export async function envoyRoutes(admin: string): Promise<Set<string>> {
  const res = await fetch(`${admin}/config_dump?resource=dynamic_route_configs`);
  // Before the first RDS response Envoy answers 404 with a line of text.
  if (!res.ok) return new Set();
  const dump = (await res.json()) as {
    configs?: { route_config?: { virtual_hosts?: { routes?: { name?: string }[] }[] } }[];
  };
  const out = new Set<string>();
  for (const c of dump.configs ?? [])
    for (const vh of c.route_config?.virtual_hosts ?? [])
      for (const r of vh.routes ?? []) {
        const m = /^httproute\/([^/]+\/[^/]+)\//.exec(r.name ?? '');
        if (m) out.add(m[1]);
      }
  return out;
}

/** Every host of every pool cluster, as "cluster ip:port" (Envoy's /clusters). */
export async function envoyPoolEndpoints(admin: string): Promise<Set<string>> {
  const text = await (await fetch(`${admin}/clusters`)).text();
  const out = new Set<string>();
  for (const m of text.matchAll(/^(inferencepool\/[^:]+)::(\d+\.\d+\.\d+\.\d+:\d+)::health_flags::/gm))
    out.add(`${m[1]} ${m[2]}`);
  return out;
}

export interface ProcessUsage {
  rssMiB: number;
  hwmMiB: number;
  cpuSeconds: number;
}

/** VmRSS, VmHWM (peak RSS) and user+system CPU of a live process. */
export function processUsage(pid: number): ProcessUsage {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  // /proc/PID/stat: fields after the parenthesised command; utime and stime are the 14th and 15th, in clock
  // ticks (USER_HZ, 100 on Linux).
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[11]) + Number(rest[12]);
  return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024, cpuSeconds: ticks / 100 };
}

/** Sums of a Prometheus text exposition's samples whose name is `name`, keyed by their label set. */
export function promSamples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const labels = rest[0] === '{' ? rest.slice(1, rest.indexOf('}')) : '';
    out.set(labels, (out.get(labels) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}
