// bench/xds-fanout: 1,000 concurrent ADS streams (grpc-js clients in child processes, half delta, half SotW,
// each stream its own connection and node) plus one real Envoy, all in one node group. Measures the time from
// an input change (file rewritten, recompiled, published) until 50% / 99% / 100% of the nodes have ACKed the
// new version, for a route change and for an endpoint-only change, and the server's RSS.
// Run: node bin/infergate.js bench xds-fanout [--streams 1000] [--procs 4] [--rounds 3] [--services 50]
//  (or: node -r ts-node/register/transpile-only bench/xds-fanout/run.ts)

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { renderBootstrap } from '../../src/compiler/output';
import { adsBootstrap } from '../../src/compiler/xds/bootstrap';
import { FileSource } from '../../src/sources/file-source';
import { ConfigPipeline } from '../../src/sources/pipeline';
import { findEnvoy, projectRoot } from '../../src/util/envoy';
import { SnapshotCache } from '../../src/xds/cache';
import { ClientRegistry } from '../../src/xds/clients';
import { XdsMetrics } from '../../src/xds/metrics';
import { XDS } from '../../src/xds/resource-types';
import { startXdsServer } from '../../src/xds/server';
import { fanoutYaml, type FanoutInput } from './input';

const GROUP = 'default/gw';

/** Records, per (type, version), when each node first ACKed it. */
class TimingRegistry extends ClientRegistry {
  readonly acks = new Map<string, Map<string, number>>();
  override ack(id: string, typeUrl: string, version: string, latencyMs?: number): void {
    super.ack(id, typeUrl, version, latencyMs);
    const key = `${typeUrl}|${version}`;
    let m = this.acks.get(key);
    if (!m) this.acks.set(key, (m = new Map()));
    if (!m.has(id)) m.set(id, performance.now());
  }
}

interface Round {
  change: 'route' | 'endpoints';
  compileMs: number;
  compilePath?: string;
  nodes: number;
  ackedP50Ms: number;
  ackedP99Ms: number;
  ackedP100Ms: number;
  envoyAckMs?: number;
  unchangedVersions: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round1 = (x: number) => Math.round(x * 10) / 10;

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      streams: { type: 'string', default: '1000' },
      procs: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '3' },
      services: { type: 'string', default: '50' },
      endpoints: { type: 'string', default: '4' },
    },
  });
  const streams = Number(values.streams);
  const procs = Math.max(2, Number(values.procs) & ~1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-fanout-'));
  const file = path.join(dir, 'gateway.yaml');
  const input: FanoutInput = {
    listenPort: 0,
    services: Number(values.services),
    endpoints: Number(values.endpoints),
    variant: 0,
    port: 8000,
  };
  input.listenPort = 20000 + Math.floor(Math.random() * 20000);
  fs.writeFileSync(file, fanoutYaml(input));

  const metrics = new XdsMetrics();
  const cache = new SnapshotCache();
  const clients = new TimingRegistry(metrics);
  const source = new FileSource([dir], { watch: false });
  const pipeline = new ConfigPipeline({ cache, metrics, listenAddress: '127.0.0.1' });
  const first = pipeline.run(source.refresh());
  if (!first.ok) throw new Error(`bench input does not compile: ${JSON.stringify(first)}`);
  const rssBefore = process.memoryUsage().rss;
  const server = await startXdsServer({ address: '127.0.0.1:0', cache, clients });
  const snap = cache.get(GROUP)!;
  const names = {
    eds: [...snap.types.get(XDS.ClusterLoadAssignment.typeUrl)!.resources.keys()],
    rds: [...snap.types.get(XDS.RouteConfiguration.typeUrl)!.resources.keys()],
  };

  let peakRss = 0;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const children: ChildProcess[] = [];
  let envoy: ChildProcess | undefined;
  try {
    const t0 = performance.now();
    const clientFile = path.join(__dirname, __filename.endsWith('.ts') ? 'client.ts' : 'client.js');
    const execArgv = __filename.endsWith('.ts') ? ['-r', 'ts-node/register/transpile-only'] : [];
    const perProc = Math.ceil(streams / procs);
    const readies: Promise<void>[] = [];
    for (let p = 0, start = 0; p < procs && start < streams; p++, start += perProc) {
      const count = Math.min(perProc, streams - start);
      const protocol = p % 2 === 0 ? 'delta' : 'sotw';
      const child = spawn(
        process.execPath,
        [
          ...execArgv,
          clientFile,
          String(server.port),
          protocol,
          String(start),
          String(count),
          GROUP,
          JSON.stringify(names),
        ],
        { cwd: projectRoot(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
      );
      children.push(child);
      readies.push(new Promise((resolve) => child.once('message', () => resolve())));
    }
    await Promise.all(readies);
    const connectMs = performance.now() - t0;
    envoy = await startEnvoy(server.port);
    const total = streams + 1;
    await waitUntil(() => clients.list().length >= total, 30000);
    console.error(`${total} nodes connected and configured in ${(connectMs / 1000).toFixed(1)} s`);
    const rssConnected = process.memoryUsage().rss;

    const rounds: Round[] = [];
    for (let r = 0; r < Number(values.rounds); r++) {
      for (const change of ['route', 'endpoints'] as const) {
        await sleep(500);
        const before = cache.get(GROUP)!;
        if (change === 'route') input.variant++;
        else input.port++;
        fs.writeFileSync(file, fanoutYaml(input));
        const start = performance.now();
        const report = pipeline.run(source.refresh());
        const compileMs = performance.now() - start;
        const after = cache.get(GROUP)!;
        const type = change === 'route' ? XDS.RouteConfiguration : XDS.ClusterLoadAssignment;
        const key = `${type.typeUrl}|${after.types.get(type.typeUrl)!.version}`;
        await waitUntil(() => (clients.acks.get(key)?.size ?? 0) >= total, 30000).catch(() => undefined);
        const times = [...(clients.acks.get(key)?.values() ?? [])]
          .map((t) => t - start)
          .sort((a, b) => a - b);
        const at = (q: number) => round1(times[Math.max(0, Math.ceil(q * total) - 1)] ?? NaN);
        const others = [XDS.Listener, XDS.Cluster, XDS.RouteConfiguration].filter((t) => t !== type);
        rounds.push({
          change,
          compileMs: round1(compileMs),
          compilePath: report.path,
          nodes: times.length,
          ackedP50Ms: at(0.5),
          ackedP99Ms: at(0.99),
          ackedP100Ms: times.length === total ? round1(times[times.length - 1]) : NaN,
          envoyAckMs: ((t) => (t === undefined ? undefined : round1(t - start)))(
            clients.acks.get(key)?.get('bench-envoy'),
          ),
          unchangedVersions: others.every(
            (t) => before.types.get(t.typeUrl)!.version === after.types.get(t.typeUrl)!.version,
          ),
        });
      }
    }
    const result = {
      bench: 'xds-fanout',
      command: `node bin/infergate.js bench xds-fanout ${args.join(' ')}`.trim(),
      date: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        memoryGb: round1(os.totalmem() / 2 ** 30),
        node: process.version,
        platform: `${os.platform()} ${os.release()}`,
      },
      setup: {
        streams,
        clientProcesses: children.length,
        protocols: 'half delta, half SotW; plus one real Envoy (delta)',
        services: input.services,
        endpointsPerService: input.endpoints,
        resources: Object.fromEntries([...after()].map(([t, n]) => [t, n])),
      },
      connectAllMs: round1(connectMs),
      serverRssMb: {
        beforeClients: round1(rssBefore / 2 ** 20),
        allConnected: round1(rssConnected / 2 ** 20),
        peak: round1(Math.max(peakRss, process.memoryUsage().rss) / 2 ** 20),
      },
      rounds,
    };
    function after() {
      return [...cache.get(GROUP)!.types.values()].map(
        (t) => [t.typeUrl.split('.').pop()!, t.resources.size] as const,
      );
    }
    const out = path.join(projectRoot(), 'bench', 'results', 'xds-fanout.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    printTable(result.rounds, result.serverRssMb, total);
    console.log(`\nwritten ${path.relative(process.cwd(), out)}`);
  } finally {
    clearInterval(rssTimer);
    for (const c of children) c.kill();
    if (envoy && envoy.exitCode === null) envoy.kill('SIGTERM');
    await server.close(500);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function printTable(rounds: Round[], rss: Record<string, number>, total: number): void {
  console.log(`\nxds-fanout: ${total} nodes (ms from input change to ACK; compile included)`);
  console.log('change     path       compile   p50      p99      p100     envoy    other versions unchanged');
  for (const r of rounds) {
    const cell = (x: number | undefined) => String(x ?? '-').padEnd(9);
    console.log(
      `${r.change.padEnd(11)}${String(r.compilePath).padEnd(11)}${cell(r.compileMs)}${cell(r.ackedP50Ms)}${cell(r.ackedP99Ms)}${cell(r.ackedP100Ms)}${cell(r.envoyAckMs)}${r.unchangedVersions}`,
    );
  }
  console.log(
    `server RSS MB: before clients ${rss.beforeClients}, all connected ${rss.allConnected}, peak ${rss.peak}`,
  );
}

async function waitUntil(ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

async function startEnvoy(xdsPort: number): Promise<ChildProcess> {
  const adminPort = 40000 + Math.floor(Math.random() * 20000);
  const bootstrap = adsBootstrap(`127.0.0.1:${xdsPort}`, {
    gateway: GROUP,
    nodeId: 'bench-envoy',
    adminPort,
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-fanout-envoy-'));
  const file = path.join(dir, 'envoy.yaml');
  fs.writeFileSync(file, renderBootstrap(bootstrap, 'yaml'));
  const child = spawn(findEnvoy(), ['-c', file, '--use-dynamic-base-id', '--log-level', 'error'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  child.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${adminPort}/ready`)).status === 200) return child;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  child.kill();
  throw new Error('envoy did not become ready');
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
