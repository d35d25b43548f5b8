// bench/peers, inside the test cluster's network namespace (run.ts starts it through `scripts/cluster exec`): registers
// the simulator pods in the kube-apiserver, starts the 8 simulators, then for every repetition and every EPP in
// rotated order a fresh upstream-style Envoy (envoy.ts) and the EPP alone, and measures (a)–(d); then (e), bench/
// routing's workloads and fleet with each EPP as the picker. Writes the raw figures as JSON to --result.
// Everything that listens here (the Go EPPs bind all interfaces) is confined to this namespace.

import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { LOADGEN_JS, type LoadConfig, type LoadResult } from '../epp-throughput/loadgen';
import { MODEL, startFleet, type ExternalEpp } from '../routing/fleet';
import { prime, runStep } from '../routing/loadgen';
import { SIM_ARGS as ROUTING_SIM_ARGS } from '../routing/run';
import { DEFAULT_SHAPE, generateStep, systemPrompts, type WorkloadName } from '../routing/workload';
import { findEnvoy } from '../../src/util/envoy';
import { httpOk, sleep, stopProcess, waitFor } from '../../src/util/wait';
import { DOC, inferencePool, readyPod } from '../../src/util/manifests';
import { EPP_NAMES, launch, rotation, type EppContext, type EppName, type EppPorts } from './epps';
import { ROUTE_HEADER, upstreamBootstrap } from './envoy';
import type { LadderStep, LoadSample, RepFigures, RoutingPoint } from './report';

/** The simulator flags of the reference's side-by-side setup: no prefill, no decode, block size 64. */
export const FAST_SIM_ARGS = [
  '--ttft-overhead-ms',
  '0',
  '--prefill-ms-per-token',
  '0',
  '--inter-token-ms',
  '0',
  '--itl-batch-slope',
  '0',
  '--block-size',
  '64',
];
const SIM_IPS = Array.from({ length: 8 }, (_, i) => `127.0.2.${i + 1}`);
const ROUTING_IPS = Array.from({ length: 8 }, (_, i) => `127.0.1.${i + 1}`);
const SIM_PORT = 8000;
const NS = 'default';
const POOL = 'sims';
const ROUTING_POOL = 'routing';
/** The Go EPPs' default ports; nothing else listens in this namespace on them. */
const EPP_PORTS: EppPorts = { grpc: 9002, health: 9003, metrics: 9090 };
const BUDGET_ADDED_P99_MS = 5;
const MIN_SUCCESS = 0.999;

export interface InsideSettings {
  quick: boolean;
  reps: number;
  stepMs: number;
  smallRate: number;
  ladder: number[];
  largeConcurrency: number;
  largeMs: number;
  idleMs: number;
  routing: {
    qps: Record<WorkloadName, number[]>;
    warmupS: number;
    firstWarmupS: number;
    measureS: number;
    timeoutS: number;
  };
  epps: EppName[];
}

export function insideSettings(quick: boolean, o: { reps?: number; epps?: EppName[] } = {}): InsideSettings {
  return {
    quick,
    reps: o.reps ?? (quick ? 2 : 3),
    stepMs: quick ? 3000 : 5000,
    smallRate: 200,
    ladder: quick ? [400, 700, 1000] : [400, 700, 1000, 1400, 1800, 2400],
    largeConcurrency: 16,
    largeMs: quick ? 4000 : 8000,
    idleMs: quick ? 2000 : 4000,
    routing: quick
      ? {
          qps: { 'shared-prefix': [4, 10], 'low-sharing': [4, 10] },
          warmupS: 3,
          firstWarmupS: 3,
          measureS: 5,
          timeoutS: 15,
        }
      : {
          qps: { 'shared-prefix': [4, 8, 12, 16, 20], 'low-sharing': [4, 8, 12, 16] },
          warmupS: 4,
          firstWarmupS: 8,
          measureS: 15,
          timeoutS: 30,
        },
    epps: o.epps ?? [...EPP_NAMES],
  };
}

export interface InsideResult {
  repetitions: Record<string, RepFigures[]>;
  routing: Record<string, RoutingPoint[]>;
  load: LoadSample[];
  versions: Record<string, string>;
  failures: string[];
}

const TICK = (() => {
  const n = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();
const r2 = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** CPU seconds (user + system of every thread) of a process so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}

function memMiB(pid: number): { rss: number; hwm: number } {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: r2(kb('VmRSS') / 1024, 1), hwm: r2(kb('VmHWM') / 1024, 1) };
}

/** Machine-wide busy and total jiffies from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  const idle = cpu[3] + (cpu[4] || 0);
  const total = cpu.reduce((a, b) => a + (b || 0), 0);
  return { busy: total - idle, total };
}

function startChild(
  name: string,
  dir: string,
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): ChildProcess {
  const log = fs.openSync(path.join(dir, `${name}.log`), 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', log, log], env: { ...process.env, ...env } });
  fs.closeSync(log);
  return child;
}

function logTail(dir: string, name: string): string {
  try {
    return fs.readFileSync(path.join(dir, `${name}.log`), 'utf8').slice(-2000);
  } catch {
    return '';
  }
}

async function load(cfg: LoadConfig): Promise<LoadResult> {
  const child = spawn(process.execPath, ['-e', LOADGEN_JS], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_LOAD: JSON.stringify(cfg) },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), cfg.durationMs + 15_000);
  await new Promise((r) => child.once('exit', r));
  clearTimeout(killer);
  return JSON.parse(out.trim()) as LoadResult;
}

function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('kubectl', args, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
    child.stdin?.end(input ?? '');
  });
}

/** Pods as a kubelet would report them: Running on `ip`, Ready (no kubelet, no node: status patched). */
async function registerPods(app: string, ips: string[]): Promise<void> {
  const pods = ips.map((_, i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${app}-${i}`, namespace: NS, labels: { app } },
    spec: { containers: [{ name: 'model', image: 'infergate-sim' }] },
  }));
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }));
  await Promise.all(
    ips.map((ip, i) =>
      kubectl([
        'patch',
        'pod',
        `${app}-${i}`,
        '-n',
        NS,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({
          status: {
            phase: 'Running',
            podIP: ip,
            podIPs: [{ ip }],
            conditions: [{ type: 'Ready', status: 'True' }],
          },
        }),
      ]),
    ),
  );
}

function poolObject(name: string, app: string, port: number): string {
  return JSON.stringify({
    apiVersion: 'inference.networking.k8s.io/v1',
    kind: 'InferencePool',
    metadata: { name, namespace: NS },
    spec: {
      selector: { matchLabels: { app } },
      targetPorts: [{ number: port }],
      endpointPickerRef: { name: `${name}-epp`, port: { number: 9002 }, failureMode: 'FailClose' },
    },
  });
}

interface Ctx {
  work: string;
  s: InsideSettings;
  epp: EppContext;
  result: InsideResult;
}

async function completionOk(url: string, headers: Record<string, string> = {}): Promise<boolean> {
  return httpOk(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: MODEL, prompt: 'warm', max_tokens: 1 }),
  });
}

/** (a)–(d) for one EPP in one repetition: a fresh Envoy and the EPP alone on the data path. */
async function measureEpp(c: Ctx, name: EppName, rep: number, position: number): Promise<RepFigures> {
  const dir = fs.mkdtempSync(path.join(c.work, `${name}-rep${rep}-`));
  // Fixed ports are free here (the namespace is ours); 10080 is on fetch's blocked-port list, so not that.
  const ports = { listen: 18080, admin: 18081, epp: EPP_PORTS.grpc };
  fs.writeFileSync(
    path.join(dir, 'envoy.yaml'),
    upstreamBootstrap(
      ports,
      SIM_IPS.map((ip) => ({ ip, port: SIM_PORT })),
    ),
  );
  const envoy = startChild('envoy', dir, findEnvoy(), [
    '-c',
    path.join(dir, 'envoy.yaml'),
    '--log-level',
    'error',
    '--use-dynamic-base-id',
    '--drain-time-s',
    '1',
  ]);
  let epp: ChildProcess | undefined;
  try {
    await waitFor('envoy', () => httpOk(`http://127.0.0.1:${ports.admin}/ready`), {
      timeoutMs: 30_000,
      everyMs: 100,
      abortIf: () => (envoy.exitCode !== null ? `envoy exited:\n${logTail(dir, 'envoy')}` : undefined),
    });
    const url = `http://127.0.0.1:${ports.listen}/v1/completions`;
    const l = launch(name, c.epp, EPP_PORTS);
    const t0 = performance.now();
    epp = startChild('epp', dir, l.command, l.args, l.env);
    const child = epp;
    await waitFor(`${name} to route a request`, () => completionOk(url), {
      timeoutMs: 90_000,
      everyMs: 100,
      abortIf: () =>
        child.exitCode !== null ? `${name} exited ${child.exitCode}:\n${logTail(dir, 'epp')}` : undefined,
    });
    const startupMs = Math.round(performance.now() - t0);
    const pid = epp.pid!;
    const sample = (step: string, cores: number, m0: { busy: number; total: number }) => {
      const m1 = machineTicks();
      c.result.load.push({
        epp: name,
        rep,
        step,
        loadAvg1: r2(os.loadavg()[0]),
        machineBusy: r2((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total), 3),
        eppCores: r2(cores, 3),
      });
    };
    // Idle: only the 50 ms scrapes of the 8 pods.
    await sleep(1000);
    let m0 = machineTicks();
    let cpu0 = cpuSeconds(pid);
    let w0 = performance.now();
    await sleep(c.s.idleMs);
    const idleCores = (cpuSeconds(pid) - cpu0) / ((performance.now() - w0) / 1000);
    sample('idle', idleCores, m0);
    const rssIdle = memMiB(pid).rss;

    const run = async (
      route: 'epp' | 'direct',
      promptBytes: number,
      shape: { rate?: number; concurrency?: number },
      ms: number,
    ) => {
      m0 = machineTicks();
      cpu0 = cpuSeconds(pid);
      w0 = performance.now();
      const r = await load({
        url,
        headers: { [ROUTE_HEADER]: route },
        promptBytes,
        prefixes: 16,
        model: MODEL,
        durationMs: ms,
        maxInFlight: 2000,
        ...shape,
      });
      const cpu = cpuSeconds(pid) - cpu0;
      const cores = cpu / ((performance.now() - w0) / 1000);
      const label = `${route} ${promptBytes >= 1024 ? `${promptBytes / 1024} KB` : `${promptBytes} B`} ${shape.rate ? `${shape.rate}/s` : `×${shape.concurrency}`}`;
      sample(label, route === 'epp' ? cores : 0, m0);
      const success = r.sent ? r.ok / (r.sent + r.dropped) : 0;
      console.log(
        `  [${name} rep ${rep}] ${label.padEnd(18)} ${Math.round(r.rps)} req/s, p50 ${r2(r.p50)} p99 ${r2(r.p99)} ms, ` +
          `ok ${r.ok}/${r.sent + r.dropped}, EPP ${r2(cores)} cores, load ${r2(os.loadavg()[0], 1)}`,
      );
      return { r, cpu, cores, success };
    };

    // Warm-up: JIT, connection pools, prefix index.
    await run('epp', 1024, { rate: 300 }, 1500);
    await run('direct', 1024, { rate: 300 }, 1000);

    // (a) small prompts at a fixed rate.
    const dA = await run('direct', 1024, { rate: c.s.smallRate }, c.s.stepMs);
    const eA = await run('epp', 1024, { rate: c.s.smallRate }, c.s.stepMs);
    const small = {
      rate: c.s.smallRate,
      rps: r2(eA.r.rps, 1),
      successRate: r2(eA.success, 4),
      addedP50Ms: r2(eA.r.p50 - dA.r.p50, 3),
      addedP99Ms: r2(eA.r.p99 - dA.r.p99, 3),
      directP50Ms: r2(dA.r.p50, 3),
      directP99Ms: r2(dA.r.p99, 3),
      eppCpuSecondsPer1k: r2((eA.cpu / Math.max(1, eA.r.ok)) * 1000, 3),
    };

    // (b) rising rates; the ladder stops at the first rate not served (< 99.9% success or < 95% of it achieved).
    const ladder: LadderStep[] = [];
    for (const rate of c.s.ladder) {
      const d = await run('direct', 1024, { rate }, c.s.stepMs);
      const e = await run('epp', 1024, { rate }, c.s.stepMs);
      const served = e.success >= MIN_SUCCESS && e.r.rps >= 0.95 * rate;
      const addedP99Ms = r2(e.r.p99 - d.r.p99, 3);
      ladder.push({
        rate,
        rps: r2(e.r.rps, 1),
        successRate: r2(e.success, 4),
        addedP99Ms,
        eppCores: r2(e.cores, 3),
        served,
        ok: served && addedP99Ms <= BUDGET_ADDED_P99_MS,
      });
      if (!served) break;
    }
    const at = (x: LadderStep | undefined) =>
      x
        ? {
            rate: x.rate,
            rps: x.rps,
            eppCores: x.eppCores,
            rpsPerEppCore: r2(x.rps / Math.max(1e-6, x.eppCores), 0),
            addedP99Ms: x.addedP99Ms,
          }
        : undefined;
    const best = at([...ladder].reverse().find((x) => x.ok));
    const served = at([...ladder].reverse().find((x) => x.served));

    // (c) 220 KB prompts, closed loop.
    const eC = await run('epp', 220 * 1024, { concurrency: c.s.largeConcurrency }, c.s.largeMs);
    const large = {
      concurrency: c.s.largeConcurrency,
      rps: r2(eC.r.rps, 1),
      p50Ms: r2(eC.r.p50, 2),
      p99Ms: r2(eC.r.p99, 2),
      successRate: r2(eC.success, 4),
      eppCores: r2(eC.cores, 3),
      rpsPerEppCore: r2(eC.r.rps / Math.max(1e-6, eC.cores), 0),
    };
    const mem = memMiB(pid);
    return {
      rep,
      position,
      startupMs,
      idleCores: r2(idleCores, 3),
      rssIdleMiB: rssIdle,
      rssAfterMiB: mem.rss,
      rssPeakMiB: mem.hwm,
      small,
      ladder,
      best,
      served,
      large,
    };
  } finally {
    if (epp) await stopProcess(epp);
    await stopProcess(envoy);
  }
}

/** (e) one workload's ladder with `name` as the picker, on a fresh bench/routing fleet. */
async function routingCurve(c: Ctx, name: EppName, workload: WorkloadName): Promise<RoutingPoint[]> {
  const logDir = fs.mkdtempSync(path.join(c.work, `routing-${name}-${workload}-`));
  const external: ExternalEpp | undefined =
    name === 'infergate'
      ? undefined
      : {
          port: EPP_PORTS.grpc,
          start: async ({ dir, simPort }) => {
            await kubectl(['apply', '-f', '-'], poolObject(ROUTING_POOL, ROUTING_POOL, simPort));
            const l = launch(name, { ...c.epp, pool: ROUTING_POOL }, EPP_PORTS);
            return startChild('epp', dir, l.command, l.args, l.env);
          },
        };
  const fleet = await startFleet({
    strategy: 'infergate',
    simAddresses: ROUTING_IPS,
    simArgs: ROUTING_SIM_ARGS,
    logDir,
    epp: external,
  });
  const seed = 1;
  const systems = systemPrompts(DEFAULT_SHAPE, seed);
  const points: RoutingPoint[] = [];
  const rs = c.s.routing;
  try {
    if (workload === 'shared-prefix') {
      const primed = await prime(
        fleet.url,
        MODEL,
        systems.map((sys) => `${sys}\nUser 0: hello`),
        rs.timeoutS * 1000,
      );
      if (primed !== systems.length) throw new Error(`priming: ${primed}/${systems.length} answered`);
    }
    for (const [i, qps] of rs.qps[workload].entries()) {
      const warmupMs = (i === 0 ? rs.firstWarmupS : rs.warmupS) * 1000;
      const measureMs = rs.measureS * 1000;
      const requests = generateStep(
        workload,
        DEFAULT_SHAPE,
        seed,
        qps,
        [warmupMs, measureMs],
        `step${i}`,
        systems,
      );
      const m0 = machineTicks();
      const r = await runStep({
        url: fleet.url,
        model: MODEL,
        requests,
        warmupMs,
        measureMs,
        timeoutMs: rs.timeoutS * 1000,
        simUrls: fleet.simUrls,
        processes: fleet.processes,
      });
      const m1 = machineTicks();
      const meanOut = requests.reduce((sum, q) => sum + q.maxTokens, 0) / Math.max(requests.length, 1);
      const point: RoutingPoint = {
        workload,
        qps,
        achievedQps: r.achievedQps,
        successRate: r.successRate,
        ttftP50Ms: r.ttftMs.p50,
        ttftP90Ms: r.ttftMs.p90,
        outputTokensPerSec: r.outputTokensPerSec,
        offeredTokensPerSec: Math.round(qps * meanOut),
        prefixHitRate: r.prefixHitRate,
        eppCores: r.cpuCores.epp ?? 0,
      };
      c.result.load.push({
        epp: name,
        rep: 0,
        step: `routing ${workload} ${qps} QPS`,
        loadAvg1: r2(os.loadavg()[0]),
        machineBusy: r2((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total), 3),
        eppCores: point.eppCores,
      });
      points.push(point);
      console.log(
        `  [${name}] routing ${workload} ${qps} QPS: TTFT p50/p90 ${r.ttftMs.p50}/${r.ttftMs.p90} ms, ` +
          `${r.outputTokensPerSec}/${point.offeredTokensPerSec} tok/s, ok ${(r.successRate * 100).toFixed(1)}%, ` +
          `prefix hits ${(r.prefixHitRate * 100).toFixed(0)}%, EPP ${point.eppCores} cores`,
      );
      if (r.successRate < 0.5) break;
    }
  } finally {
    await fleet.stop();
  }
  return points;
}

function versionOf(name: EppName, c: EppContext): string {
  if (name === 'infergate') {
    const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(c.cli), '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    let rev = '';
    try {
      rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
        cwd: path.dirname(c.cli),
        encoding: 'utf8',
      }).trim();
    } catch {
      // not a git checkout
    }
    return `infergate ${pkg.version}${rev ? ` (${rev})` : ''}, node ${process.version}`;
  }
  const bin = name === 'gie-v1.5.0' ? c.gieBin : c.llmdBin;
  // Built from a copy, the main module reads "(devel)": scripts/peers.sh's stamp names module@version.
  let stamp = '';
  try {
    stamp = fs.readFileSync(path.join(path.dirname(bin), '.stamp'), 'utf8').trim();
  } catch {
    // no stamp: fall back to the path
  }
  const info = spawnSync('go', ['version', bin], { encoding: 'utf8' }).stdout ?? '';
  const go = /: (go\S+)/.exec(info)?.[1];
  return `${stamp || bin}${go ? `, ${go}` : ''}`;
}

export async function inside(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      reps: { type: 'string' },
      epps: { type: 'string' },
      'skip-routing': { type: 'boolean', default: false },
      // Development only: no API server (infergate alone; nothing registered).
      'no-cluster': { type: 'boolean', default: false },
      work: { type: 'string' },
      result: { type: 'string' },
      cli: { type: 'string' },
      gie: { type: 'string' },
      llmd: { type: 'string' },
    },
  });
  const s = insideSettings(values.quick!, {
    reps: values.reps ? Number(values.reps) : undefined,
    epps: values.epps ? (values.epps.split(',') as EppName[]) : undefined,
  });
  const work = values.work!;
  const resources = path.join(work, 'resources.yaml');
  const c: Ctx = {
    work,
    s,
    epp: {
      cli: values.cli!,
      gieBin: values.gie!,
      llmdBin: values.llmd!,
      kubeconfig: process.env.KUBECONFIG!,
      pool: POOL,
      namespace: NS,
      resources,
    },
    result: { repetitions: {}, routing: {}, load: [], versions: {}, failures: [] },
  };
  for (const n of s.epps) {
    c.result.versions[n] = versionOf(n, c.epp);
    c.result.repetitions[n] = [];
    c.result.routing[n] = [];
  }
  // The same pool and Pods for everyone: in the API server for the Go EPPs, as files for infergate.
  fs.writeFileSync(
    resources,
    [
      inferencePool(POOL, { app: POOL, targetPorts: [SIM_PORT], epp: { service: `${POOL}-epp` } }),
      ...SIM_IPS.map((ip, i) => readyPod(`${POOL}-${i}`, POOL, ip)),
    ].join(DOC),
  );
  let t = performance.now();
  if (!values['no-cluster']) {
    await kubectl(['apply', '-f', '-'], poolObject(POOL, POOL, SIM_PORT));
    await registerPods(POOL, SIM_IPS);
    await registerPods(ROUTING_POOL, ROUTING_IPS);
    console.log(`registered the pool and 16 Pods in ${Math.round(performance.now() - t)} ms`);
  }

  const sims = startChild('sims', work, process.execPath, [
    c.epp.cli,
    'sim',
    '--addresses',
    SIM_IPS.map((ip) => `${ip}:${SIM_PORT}`).join(','),
    '--model',
    MODEL,
    ...FAST_SIM_ARGS,
  ]);
  try {
    await waitFor(
      'the simulators',
      async () =>
        (await Promise.all(SIM_IPS.map((ip) => httpOk(`http://${ip}:${SIM_PORT}/health`)))).every(Boolean),
      {
        timeoutMs: 30_000,
        everyMs: 100,
        abortIf: () => (sims.exitCode !== null ? logTail(work, 'sims') : undefined),
      },
    );
    for (let rep = 0; rep < s.reps; rep++) {
      const order = rotation(s.epps, rep);
      console.log(`repetition ${rep + 1}/${s.reps}: ${order.join(' → ')}`);
      for (const [position, name] of order.entries()) {
        t = performance.now();
        try {
          c.result.repetitions[name].push(await measureEpp(c, name, rep, position));
        } catch (err) {
          const msg = `${name} rep ${rep}: ${(err as Error).message}`;
          console.error(`  FAILED ${msg}`);
          c.result.failures.push(msg);
        }
        console.log(`  [${name} rep ${rep}] done in ${Math.round((performance.now() - t) / 1000)} s`);
      }
    }
  } finally {
    await stopProcess(sims);
  }
  if (!values['skip-routing']) {
    for (const [wi, workload] of (['shared-prefix', 'low-sharing'] as WorkloadName[]).entries()) {
      for (const name of rotation(s.epps, wi)) {
        t = performance.now();
        try {
          c.result.routing[name].push(...(await routingCurve(c, name, workload)));
        } catch (err) {
          const msg = `${name} routing ${workload}: ${(err as Error).message}`;
          console.error(`  FAILED ${msg}`);
          c.result.failures.push(msg);
        }
        console.log(
          `  [${name}] routing ${workload} done in ${Math.round((performance.now() - t) / 1000)} s`,
        );
      }
    }
  }
  fs.writeFileSync(values.result!, JSON.stringify(c.result, null, 2));
}

if (require.main === module) {
  inside(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
