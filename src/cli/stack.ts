// The local stack behind `infergate up` and the e2e tests: model-server simulators on the pods' addresses, one
// Endpoint Picker per InferencePool, the body-based router when routes need it, the xDS control plane and a real
// Envoy bootstrapped over ADS. Every part is a child process; stop() ends them all.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadPaths } from '../api/load';
import { formatProblem } from '../api/types';
import { adsBootstrap, compile } from '../compiler';
import type { GatewayIR } from '../compiler/ir';
import { renderBootstrap } from '../compiler/output';
import { findEnvoy, projectRoot } from '../util/envoy';
import { httpOk, stopProcess, tcpOpen, waitFor } from '../util/wait';

export interface StackOptions {
  paths: string[];
  /** Which Gateway ("ns/name"); default the first compiled. */
  gateway?: string;
  xdsPort?: number;
  controlPlaneAdminPort?: number;
  envoyAdminPort?: number;
  /** Extra flags for every simulator (e.g. ["--max-num-seqs", "4"]). */
  simArgs?: string[];
  /** Extra flags for every EPP. */
  eppArgs?: string[];
  /** The first EPP's metrics port; the i-th pool's EPP uses this + i (default 9090). */
  eppMetricsPort?: number;
  /** One simulator process per address (parts named `simulator <ip>:<port>`), so one pod can be killed. */
  simPerProcess?: boolean;
  /** Extra flags for the simulator at one address (e.g. its --role); implies one process per address. */
  simArgsFor?: (address: string) => string[];
  /** Where child logs go; a temp dir by default. */
  logDir?: string;
  /** Progress lines (default: none). */
  progress?: (line: string) => void;
}

export interface StackPart {
  name: string;
  command: string[];
  /** Resolves when the part is healthy. */
  ready: () => Promise<boolean>;
}

export interface GatewayAddress {
  address: string;
  port: number;
}

const isLoopback = (a: string) => a.startsWith('127.') || a === '::1';

/** Decides what to run for one compiled Gateway. Pure apart from reading the compiled IR. */
export function planStack(gw: GatewayIR, o: StackOptions): StackPart[] {
  const cli = [process.execPath, path.join(projectRoot(), 'bin', 'infergate.js')];
  const parts: StackPart[] = [];
  const simAddresses = new Set<string>();
  for (const pool of gw.pools) {
    for (const e of pool.endpoints) if (isLoopback(e.address)) simAddresses.add(`${e.address}:${e.port}`);
  }
  if (simAddresses.size && (o.simPerProcess || o.simArgsFor)) {
    for (const a of [...simAddresses].sort()) {
      parts.push({
        name: `simulator ${a}`,
        command: [...cli, 'sim', '--addresses', a, ...(o.simArgs ?? []), ...(o.simArgsFor?.(a) ?? [])],
        ready: () => httpOk(`http://${a}/health`),
      });
    }
  } else if (simAddresses.size) {
    const addrs = [...simAddresses].sort();
    parts.push({
      name: 'simulators',
      command: [...cli, 'sim', '--addresses', addrs.join(','), ...(o.simArgs ?? [])],
      ready: async () => (await Promise.all(addrs.map((a) => httpOk(`http://${a}/health`)))).every(Boolean),
    });
  }
  gw.pools.forEach((pool, i) => {
    const epp = pool.endpointPicker;
    const at = epp?.endpoints.find((e) => isLoopback(e.address));
    if (!epp || !at) return;
    const metricsPort = (o.eppMetricsPort ?? 9090) + i;
    parts.push({
      name: `epp ${pool.key}`,
      command: [
        ...cli,
        'epp',
        '--pool',
        pool.name,
        '--pool-namespace',
        pool.namespace,
        '--address',
        at.address,
        '--grpc-port',
        String(at.port),
        '--health-port',
        String(at.port + 1),
        '--metrics-port',
        String(metricsPort),
        ...(o.eppArgs ?? []),
        ...o.paths,
      ],
      ready: () => httpOk(`http://127.0.0.1:${metricsPort}/metrics`),
    });
  });
  const bbrAt = gw.bodyBasedRouter?.endpoints.find((e) => isLoopback(e.address));
  if (bbrAt) {
    parts.push({
      name: 'body-based router',
      command: [
        ...cli,
        'bbr',
        '--address',
        bbrAt.address,
        '--grpc-port',
        String(bbrAt.port),
        '--health-port',
        String(bbrAt.port + 1),
      ],
      ready: () => tcpOpen(bbrAt.address, bbrAt.port),
    });
  }
  const adminPort = o.controlPlaneAdminPort ?? 9091;
  parts.push({
    name: 'xDS control plane',
    command: [
      ...cli,
      'serve',
      '--xds-port',
      String(o.xdsPort ?? 18000),
      '--admin-port',
      String(adminPort),
      '--listen-address',
      '127.0.0.1',
      ...o.paths,
    ],
    ready: () => httpOk(`http://127.0.0.1:${adminPort}/readyz`),
  });
  return parts;
}

export class Stack {
  readonly children = new Map<string, ChildProcess>();
  readonly logDir: string;
  private stopping = false;

  private constructor(
    readonly gateway: GatewayIR,
    readonly listeners: GatewayAddress[],
    private readonly parts: StackPart[],
    private readonly options: StackOptions,
    private readonly envoyConfig: string,
  ) {
    this.logDir = options.logDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-up-'));
  }

  /** Compiles the resources, then starts every part in order and waits until each is healthy. */
  static async start(o: StackOptions): Promise<Stack> {
    const loaded = loadPaths(o.paths);
    const result = compile(loaded.resources, { mode: 'ads', listenAddress: '127.0.0.1' });
    const errors = [...loaded.problems, ...result.problems].filter((p) => p.severity === 'error');
    if (errors.length || result.violations.length) {
      throw new Error(`invalid input:\n${errors.map(formatProblem).join('\n')}`);
    }
    const gw = o.gateway ? result.ir.gateways.find((g) => g.key === o.gateway) : result.ir.gateways[0];
    if (!gw) throw new Error(o.gateway ? `no Gateway ${o.gateway}` : 'no Gateway to run');
    const envoyAdmin = o.envoyAdminPort ?? 19000;
    const bootstrap = adsBootstrap(`127.0.0.1:${o.xdsPort ?? 18000}`, {
      gateway: gw.key,
      adminPort: envoyAdmin,
    });
    const listeners = gw.ports.map((p) => ({ address: '127.0.0.1', port: p.port }));
    const stack = new Stack(gw, listeners, planStack(gw, o), o, renderBootstrap(bootstrap, 'yaml'));
    try {
      await stack.startAll(envoyAdmin);
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return stack;
  }

  private async startAll(envoyAdmin: number): Promise<void> {
    for (const part of this.parts) await this.startPart(part);
    const config = path.join(this.logDir, 'envoy.yaml');
    fs.writeFileSync(config, this.envoyConfig);
    await this.startPart({
      name: 'envoy',
      command: [
        findEnvoy(),
        '-c',
        config,
        '--log-level',
        'warn',
        '--drain-time-s',
        '1',
        '--use-dynamic-base-id',
      ],
      ready: async () => (await httpOk(`http://127.0.0.1:${envoyAdmin}/ready`)) && this.listenersUp(),
    });
  }

  private async listenersUp(): Promise<boolean> {
    return (await Promise.all(this.listeners.map((l) => tcpOpen(l.address, l.port)))).every(Boolean);
  }

  /** Starts (or restarts) one part and waits for it to be healthy. */
  async startPart(part: StackPart, timeoutMs = 30000): Promise<void> {
    const progress = this.options.progress ?? (() => undefined);
    progress(`starting ${part.name}…`);
    const logFile = path.join(this.logDir, `${part.name.replace(/[^a-z0-9]+/gi, '-')}.log`);
    const log = fs.openSync(logFile, 'a');
    const child = spawn(part.command[0], part.command.slice(1), { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.children.set(part.name, child);
    try {
      await waitFor(part.name, () => part.ready(), {
        timeoutMs,
        everyMs: 100,
        abortIf: () => (child.exitCode !== null ? `exited with ${child.exitCode}` : undefined),
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}; see ${logFile}:\n${tail(logFile)}`);
    }
    progress(`${part.name} is ready`);
  }

  part(name: string): StackPart | undefined {
    return name === 'envoy' ? undefined : this.parts.find((p) => p.name === name);
  }

  /** Stops one child (SIGTERM, then SIGKILL after 5 s). */
  async stopChild(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.children.get(name);
    this.children.delete(name);
    if (child) await stopProcess(child, { signal });
  }

  /** Stops every child, Envoy first so no request is cut mid-way by a vanished backend. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.stopChild('envoy');
    await Promise.all([...this.children.keys()].map((name) => this.stopChild(name)));
  }
}

function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
