// The system under test for one strategy: 8 simulators (one child process), the Endpoint Picker when the strategy
// uses one (a child process), and a real Envoy started from a compiled static bootstrap. Round robin is a plain
// Service whose EndpointSlice lists the simulators; the infergate strategies route to an InferencePool of the same
// pods (FailClose, so a request the EPP did not place fails instead of silently falling back to Envoy's balancer).

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseText } from '../../src/api/load';
import { formatProblem } from '../../src/api/types';
import { compile, formatViolation, staticBootstrap } from '../../src/compiler';
import { renderBootstrap } from '../../src/compiler/output';
import { findEnvoy, projectRoot } from '../../src/util/envoy';
import { httpOk, stopProcess, waitFor } from '../../src/util/wait';
import {
  DOC,
  gatewayWithClass,
  inferencePool,
  localEpp,
  localService,
  readyPod,
} from '../../src/util/manifests';

export type StrategyName = 'round-robin' | 'infergate' | 'infergate-no-prefix' | 'infergate-burst-safe';
/** What a full run compares. */
export const STRATEGIES: readonly StrategyName[] = ['round-robin', 'infergate', 'infergate-no-prefix'];
/** Also accepted by --strategies: the EPP with examples/epp-config/burst-safe.yaml (in-flight accounting). */
export const KNOWN_STRATEGIES: readonly StrategyName[] = [...STRATEGIES, 'infergate-burst-safe'];
export const BURST_SAFE_CONFIG_FILE = path.join('examples', 'epp-config', 'burst-safe.yaml');

/** The default profile without prefix-cache-scorer: load-aware only (queue 2, kv-cache 2). */
export const NO_PREFIX_CONFIG = `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
schedulingProfiles:
- name: default
  plugins:
  - {pluginRef: queue-scorer, weight: 2}
  - {pluginRef: kv-cache-utilization-scorer, weight: 2}
`;

export const MODEL = 'bench-model';

export interface FleetOptions {
  strategy: StrategyName;
  /** Simulator addresses (loopback), all on `simPort`. */
  simAddresses: string[];
  simArgs: string[];
  logDir: string;
  /**
   * P/D: the role of each simulator (same order as simAddresses). Each pod gets the label llm-d.ai/role and its
   * simulator `--role`; one simulator process per role (children `sim-<role>`).
   */
  simRoles?: readonly ('prefill' | 'decode' | 'both')[];
  /** An EndpointPickerConfig for the EPP (infergate strategies), replacing the strategy's own. */
  eppConfig?: string;
  /** More resource documents (YAML, e.g. InferenceObjectives for the pool `sims`), appended to the strategy's. */
  extraResources?: string[];
  /** Names the fleet's log directory (default: the strategy). */
  label?: string;
  /**
   * An Endpoint Picker other than `infergate epp` for the `infergate` strategy (bench/peers swaps in the upstream
   * EPPs): the fleet calls `start` once the simulators answer, instead of spawning `infergate epp`, and points Envoy
   * at 127.0.0.1:`port` without the gRPC health check (those EPPs serve health on a port of their own).
   */
  epp?: ExternalEpp;
}

export interface ExternalEpp {
  port: number;
  start(o: { dir: string; simAddresses: string[]; simPort: number }): Promise<ChildProcess>;
}

export interface Fleet {
  url: string;
  simUrls: string[];
  /** The EPP's Prometheus endpoint (infergate strategies only). */
  eppMetricsUrl?: string;
  /** Child processes by role, for CPU accounting. */
  processes: Map<string, ChildProcess>;
  stop(): Promise<void>;
}

/** A Ready pod with extra labels (P/D roles). */
function labelledPod(name: string, ip: string, labels: Record<string, string>): string {
  const all = Object.entries({ app: 'sim', ...labels })
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default, labels: {${all}}}
status: {podIP: ${ip}, conditions: [{type: Ready, status: "True"}]}`;
}

export function resourcesYaml(
  strategy: StrategyName,
  listenPort: number,
  addrs: string[],
  simPort: number,
  eppPort: number,
  roles?: readonly string[],
  eppHealthCheck = true,
): string {
  const route = (backend: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm, namespace: default}
spec:
  parentRefs: [{name: bench}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [${backend}]
    timeouts: {request: 300s}`;
  const gateway = gatewayWithClass('bench', 'default', listenPort);
  if (strategy === 'round-robin') {
    return [gateway, route('{name: sims, port: 80}'), localService('sims', 80, addrs, simPort)].join(DOC);
  }
  return [
    gateway,
    route('{group: inference.networking.k8s.io, kind: InferencePool, name: sims}'),
    inferencePool('sims', { app: 'sim', targetPorts: [simPort], epp: { service: 'sims-epp' } }),
    eppHealthCheck
      ? localEpp('sims-epp', eppPort)
      : localService('sims-epp', 9002, ['127.0.0.1'], eppPort, {
          portName: 'grpc',
          appProtocol: 'kubernetes.io/h2c',
        }),
    ...addrs.map((a, i) =>
      roles ? labelledPod(`sim-${i}`, a, { 'llm-d.ai/role': roles[i] }) : readyPod(`sim-${i}`, 'sim', a),
    ),
  ].join(DOC);
}

export async function startFleet(o: FleetOptions): Promise<Fleet> {
  const [listenPort, adminPort, freeEppPort, eppHealth, eppMetrics] = await freePorts(5, ['127.0.0.1']);
  const eppPort = o.epp?.port ?? freeEppPort;
  const [simPort] = await freePorts(1, o.simAddresses);
  const dir = fs.mkdtempSync(path.join(o.logDir, `${o.label ?? o.strategy}-`));
  const resourceFile = path.join(dir, 'resources.yaml');
  fs.writeFileSync(
    resourceFile,
    [
      resourcesYaml(o.strategy, listenPort, o.simAddresses, simPort, eppPort, o.simRoles, !o.epp),
      ...(o.extraResources ?? []),
    ].join(DOC),
  );
  const processes = new Map<string, ChildProcess>();
  const fleet: Fleet = {
    url: `http://127.0.0.1:${listenPort}`,
    simUrls: o.simAddresses.map((a) => `http://${a}:${simPort}`),
    processes,
    stop: () => stopAll(processes),
  };
  try {
    const cli = [path.join(projectRoot(), 'bin', 'infergate.js')];
    const groups = o.simRoles
      ? [...new Set(o.simRoles)].map((role) => ({
          name: `sim-${role}`,
          addrs: o.simAddresses.filter((_, i) => o.simRoles![i] === role),
          extra: ['--role', role],
        }))
      : [{ name: 'sim', addrs: o.simAddresses, extra: [] as string[] }];
    for (const g of groups) {
      const addresses = g.addrs.map((a) => `${a}:${simPort}`).join(',');
      const urls = g.addrs.map((a) => `http://${a}:${simPort}`);
      const sims = start(processes, dir, g.name, process.execPath, [
        ...cli,
        'sim',
        '--addresses',
        addresses,
        '--model',
        MODEL,
        ...o.simArgs,
        ...g.extra,
      ]);
      await ready(g.name, sims, async () =>
        (await Promise.all(urls.map((u) => httpOk(`${u}/health`)))).every(Boolean),
      );
    }
    if (o.strategy !== 'round-robin' && o.epp) {
      processes.set('epp', await o.epp.start({ dir, simAddresses: o.simAddresses, simPort }));
    } else if (o.strategy !== 'round-robin') {
      const args = [
        ...cli,
        'epp',
        '--pool',
        'sims',
        '--pool-namespace',
        'default',
        '--address',
        '127.0.0.1',
        '--grpc-port',
        String(eppPort),
        '--health-port',
        String(eppHealth),
        '--metrics-port',
        String(eppMetrics),
      ];
      const eppConfig =
        o.eppConfig ??
        (o.strategy === 'infergate-no-prefix'
          ? NO_PREFIX_CONFIG
          : o.strategy === 'infergate-burst-safe'
            ? fs.readFileSync(path.join(projectRoot(), BURST_SAFE_CONFIG_FILE), 'utf8')
            : undefined);
      if (eppConfig !== undefined) {
        const config = path.join(dir, 'epp-config.yaml');
        fs.writeFileSync(config, eppConfig);
        args.push('--config-file', config);
      }
      const epp = start(processes, dir, 'epp', process.execPath, [...args, resourceFile]);
      fleet.eppMetricsUrl = `http://127.0.0.1:${eppMetrics}/metrics`;
      await ready('epp', epp, () => httpOk(`http://127.0.0.1:${eppMetrics}/metrics`));
    }
    const loaded = parseText(fs.readFileSync(resourceFile, 'utf8'), resourceFile);
    const result = compile(loaded.resources, { mode: 'static', listenAddress: '127.0.0.1' });
    const errors = [...loaded.problems, ...result.problems].filter((p) => p.severity === 'error');
    if (errors.length || result.violations.length || !result.gateways[0]) {
      throw new Error(
        [...errors.map(formatProblem), ...result.violations.map(formatViolation)].join('\n') || 'no gateway',
      );
    }
    const bootstrap = staticBootstrap(result.gateways[0].resources, { gateway: 'default/bench', adminPort });
    const envoyFile = path.join(dir, 'envoy.yaml');
    fs.writeFileSync(envoyFile, renderBootstrap(bootstrap, 'yaml'));
    const envoy = start(processes, dir, 'envoy', findEnvoy(), [
      '-c',
      envoyFile,
      '--log-level',
      'warn',
      '--drain-time-s',
      '1',
      '--use-dynamic-base-id',
    ]);
    await ready('envoy', envoy, () => httpOk(`http://127.0.0.1:${adminPort}/ready`));
    // Ready end to end: a completion through Envoy (and the EPP, once it has scraped the pods) answers 200.
    await ready('first completion', envoy, () =>
      httpOk(`${fleet.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, prompt: 'hi', max_tokens: 1 }),
      }),
    );
  } catch (err) {
    await fleet.stop();
    throw err;
  }
  return fleet;
}

function start(
  processes: Map<string, ChildProcess>,
  dir: string,
  name: string,
  command: string,
  args: string[],
): ChildProcess {
  const log = fs.openSync(path.join(dir, `${name}.log`), 'a');
  const child = spawn(command, args, {
    stdio: ['ignore', log, log],
    env: { ...process.env, INFERGATE_LOG_LEVEL: process.env.INFERGATE_LOG_LEVEL ?? 'warn' },
  });
  fs.closeSync(log);
  processes.set(name, child);
  return child;
}

/** Waits for a child's readiness probe, giving up at once if the child exits. */
function ready(name: string, child: ChildProcess, ok: () => Promise<boolean>): Promise<boolean> {
  return waitFor(name, ok, {
    timeoutMs: 30_000,
    everyMs: 100,
    abortIf: () => (child.exitCode !== null ? `process exited with ${child.exitCode}` : undefined),
  });
}

async function stopAll(processes: Map<string, ChildProcess>): Promise<void> {
  // Envoy first, so no in-flight request is cut by a vanished backend; then the EPP, then the simulators.
  for (const name of ['envoy', 'epp', ...[...processes.keys()].filter((n) => n.startsWith('sim'))]) {
    const child = processes.get(name);
    processes.delete(name);
    if (child) await stopProcess(child);
  }
}

/** `n` ports the kernel hands out on 127.0.0.1 that are also free on every one of `addresses`. */
export async function freePorts(n: number, addresses: string[]): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const port = await listenOnce('127.0.0.1', 0);
    if (ports.includes(port)) continue;
    const free = await Promise.all(
      addresses.map((a) =>
        listenOnce(a, port).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (free.every(Boolean)) ports.push(port);
  }
  return ports;
}

function listenOnce(address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(port, address, () => {
      const got = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(got));
    });
  });
}

export function tmpLogDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-bench-routing-'));
}
