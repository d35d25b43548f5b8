// Drives scripts/cluster from tests: a throwaway control plane in a network namespace of its own. Everything that
// talks to it (kubectl, curl, servers on 10.244.x.y) runs through exec, inside that namespace.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const CLUSTER = path.join(ROOT, 'scripts/cluster');

/** Why the cluster suites cannot run here (the cached binaries are absent), or undefined when they can. */
export function clusterToolsMissing(): string | undefined {
  const r = spawnSync('bash', [path.join(ROOT, 'scripts/cluster-tools.sh'), '--check'], { encoding: 'utf8' });
  if (r.status === 0) return undefined;
  return (r.stdout + r.stderr).trim() || `scripts/cluster-tools.sh --check exited ${r.status}`;
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs scripts/cluster with ARGS; resolves with its exit code and output (never rejects on a non-zero exit). */
export function runCluster(args: string[], opts: RunOptions = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(CLUSTER, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** One cluster directory: up, exec, kubectl and down. */
export class Cluster {
  constructor(readonly dir: string) {}

  /** `podNetwork: 'bridge'`: every Pod in a network namespace of its own (test/cluster/README.md). */
  async up(o: { podNetwork?: 'shared' | 'bridge' } = {}): Promise<Result> {
    const extra = o.podNetwork ? ['--pod-network', o.podNetwork] : [];
    const r = await runCluster(['up', this.dir, ...extra], { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`scripts/cluster up failed (${r.code}):\n${r.stderr}`);
    return r;
  }

  async down(): Promise<Result> {
    return runCluster(['down', this.dir], { timeoutMs: 60_000 });
  }

  exec(cmd: string[], opts: RunOptions = {}): Promise<Result> {
    return runCluster(['exec', this.dir, '--', ...cmd], opts);
  }

  /** kubectl in the cluster; throws with kubectl's stderr unless allowFailure. */
  async kubectl(args: string[], input?: string, allowFailure = false): Promise<Result> {
    const r = await this.exec(['kubectl', ...args], { input });
    if (r.code !== 0 && !allowFailure) throw new Error(`kubectl ${args.join(' ')} failed:\n${r.stderr}`);
    return r;
  }

  async apply(obj: object): Promise<Result> {
    return this.kubectl(['apply', '-f', '-'], JSON.stringify(obj));
  }

  async getJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
    return JSON.parse((await this.kubectl(['get', ...args, '-o', 'json'])).stdout) as T;
  }

  /** A long-running process inside the namespace (exec replaces itself, so the child is the process itself). */
  spawn(cmd: string[], cwd = ROOT): ChildProcess {
    return spawn(CLUSTER, ['exec', this.dir, '--', ...cmd], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** The cluster's network namespace (`net:[inode]`), recorded by up. */
  netns(): string {
    return fs.readFileSync(path.join(this.dir, 'run/netns'), 'utf8').trim();
  }

  pid(name: string): number {
    return Number(fs.readFileSync(path.join(this.dir, `run/${name}.pid`), 'utf8').split(' ')[0]);
  }
}

/** Pids of every process whose network namespace is NETNS (what down must leave empty). */
export function processesIn(netns: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readlinkSync(`/proc/${entry}/ns/net`) === netns) pids.push(Number(entry));
    } catch {
      // exited while we looked, or not ours to read
    }
  }
  return pids;
}
