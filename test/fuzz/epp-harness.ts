// A real `infergate epp` child process for the fuzzer: `infergate sim` children as the pool's pods on 127.0.0.x,
// the EPP on loopback ports, and the probes the fuzzer checks it with (gRPC health, /metrics, RSS from /proc).

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { ExternalProcessorClient } from '../../generated/envoy/service/ext_proc/v3/external_processor';
import { projectRoot } from '../../src/util/envoy';
import { DOC, inferencePool, readyPod } from '../../src/util/manifests';
import { httpOk, stopProcess, waitFor } from '../../src/util/wait';
import { freePort } from '../../src/util/net';
import { checkHealth } from '../../src/epp/server/health';

export const FUZZ_MODEL = 'fuzz-model';
const SIM_IPS = ['127.0.0.91', '127.0.0.92', '127.0.0.93'];

export interface EppUnderTest {
  pid: number;
  members: string[];
  maxBodyBytes: number;
  client(): ExternalProcessorClient;
  /** grpc.health.v1 status of `service` on the health port (1 = SERVING), or an error text. */
  health(service?: string): Promise<number | string>;
  metrics(): Promise<string>;
  rssKb(): number;
  logs(): string;
  exited(): string | undefined;
  close(): Promise<void>;
}

function child(args: string[]): ChildProcess & { logs(): string } {
  const bin = path.join(projectRoot(), 'bin', 'infergate.js');
  const c = spawn(process.execPath, [bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, INFERGATE_LOG_LEVEL: process.env.INFERGATE_LOG_LEVEL ?? 'error' },
  });
  let logs = '';
  const keep = (d: Buffer) => (logs = (logs + d.toString()).slice(-20_000));
  c.stdout!.on('data', keep);
  c.stderr!.on('data', keep);
  return Object.assign(c, { logs: () => logs });
}

export async function startEppUnderTest(o: { maxBodyBytes: number }): Promise<EppUnderTest> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-fuzz-'));
  const [simPort, grpc, health, metricsPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const members = SIM_IPS.map((ip) => `${ip}:${simPort}`);
  const yaml = [
    inferencePool('fuzz', { app: 'fuzz-sim', targetPorts: [simPort] }),
    ...SIM_IPS.map((ip, i) => readyPod(`sim-${i}`, 'fuzz-sim', ip)),
  ].join(DOC);
  fs.writeFileSync(path.join(dir, 'resources.yaml'), yaml);
  const sims = child(['sim', '--addresses', members.join(','), '--model', FUZZ_MODEL]);
  const epp = child([
    'epp',
    '--pool',
    'fuzz',
    '--address',
    '127.0.0.1',
    '--grpc-port',
    String(grpc),
    '--health-port',
    String(health),
    '--metrics-port',
    String(metricsPort),
    '--max-body-bytes',
    String(o.maxBodyBytes),
    dir,
  ]);
  const exited = () =>
    epp.exitCode !== null || epp.signalCode !== null
      ? `epp exited (${epp.exitCode ?? epp.signalCode}):\n${epp.logs()}`
      : undefined;
  const clients: ExternalProcessorClient[] = [];
  const h: EppUnderTest = {
    pid: epp.pid!,
    members,
    maxBodyBytes: o.maxBodyBytes,
    client() {
      const c = new ExternalProcessorClient(`127.0.0.1:${grpc}`, credentials.createInsecure(), {
        'grpc.max_send_message_length': -1,
        'grpc.max_receive_message_length': -1,
      });
      clients.push(c);
      return c;
    },
    health(service = 'envoy.service.ext_proc.v3.ExternalProcessor') {
      return checkHealth(`127.0.0.1:${health}`, service).catch((err: Error) => err.message);
    },
    async metrics() {
      const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) });
      return r.text();
    },
    rssKb() {
      try {
        const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${epp.pid}/status`, 'utf8'));
        return m ? Number(m[1]) : 0;
      } catch {
        return 0;
      }
    },
    logs: () => epp.logs(),
    exited,
    async close() {
      for (const c of clients) c.close();
      await Promise.all([stopProcess(epp), stopProcess(sims)]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor('the fuzzed EPP to be SERVING', async () => (await h.health()) === 1, {
      timeoutMs: 60_000,
      everyMs: 100,
      abortIf: exited,
    });
    // Ready once it has scraped the simulators: every pod is a candidate.
    await waitFor('the simulators', () => httpOk(`http://${members[0]}/metrics`), { timeoutMs: 30_000 });
  } catch (err) {
    await h.close();
    throw err;
  }
  return h;
}

/** Sum of every sample of `name` in a Prometheus text exposition. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}

/** Number of samples (series) in an exposition. */
export function seriesCount(text: string): number {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).length;
}

/** Distinct values per label name across an exposition (what a client-chosen label value would blow up). */
export function labelCardinality(text: string): Record<string, number> {
  const values = new Map<string, Set<string>>();
  const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const open = line.indexOf('{');
    if (open < 0) continue;
    for (const m of line.slice(open, line.lastIndexOf('}') + 1).matchAll(pair)) {
      let set = values.get(m[1]);
      if (!set) values.set(m[1], (set = new Set()));
      set.add(m[2]);
    }
  }
  return Object.fromEntries([...values].map(([k, v]) => [k, v.size]));
}
