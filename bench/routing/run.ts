// bench/routing: routing quality through a real Envoy in front of 8 simulated model servers. For each workload ×
// strategy a fresh fleet (cold caches) takes an ascending ladder of open-loop Poisson steps; each step is measured
// after a warm-up. Writes bench/results/routing.json and routing.html.
// Run: make bench  (or: node bin/infergate.js bench routing [--quick] [--qps 2,4,6] [--measure-s 15] ...)

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { findEnvoy, projectRoot } from '../../src/util/envoy';
import { KNOWN_STRATEGIES, MODEL, STRATEGIES, startFleet, tmpLogDir, type StrategyName } from './fleet';
import { checkGoals } from './goals';
import { prime, runStep } from './loadgen';
import { renderHtml, renderJson, type PointEntry, type RoutingReport } from './report';
import { DEFAULT_SHAPE, WORKLOADS, generateStep, systemPrompts, type WorkloadName } from './workload';

/**
 * The simulated "GPU": few seats, ms-scale prefill per uncached token, and a KV cache of 1,000 blocks × 16 tokens
 * per pod. The 32 groups' system prompts (~64k tokens) are 4× one pod's cache but half the fleet's (as in a1), so
 * only routing that keeps a group on a few pods serves them from cache.
 */
export const SIM_ARGS = [
  '--max-num-seqs',
  '8',
  '--kv-blocks',
  '1000',
  '--block-size',
  '16',
  '--ttft-overhead-ms',
  '30',
  '--prefill-ms-per-token',
  '0.6',
  '--inter-token-ms',
  '20',
  '--itl-batch-slope',
  '0.02',
];

const SIM_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.1.${i + 1}`);

interface Settings {
  /** The QPS ladder per workload (`all` for every workload). */
  qps: Partial<Record<WorkloadName | 'all', number[]>>;
  warmupS: number;
  firstWarmupS: number;
  measureS: number;
  timeoutS: number;
  seed: number;
  workloads: WorkloadName[];
  strategies: StrategyName[];
  out: string;
  simArgs: string[];
}

function settings(args: string[]): Settings {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      qps: { type: 'string' },
      'warmup-s': { type: 'string' },
      'measure-s': { type: 'string' },
      'timeout-s': { type: 'string' },
      seed: { type: 'string', default: '1' },
      workloads: { type: 'string' },
      strategies: { type: 'string' },
      out: { type: 'string', default: path.join(projectRoot(), 'bench', 'results') },
      'sim-args': { type: 'string' },
    },
  });
  const quick = values.quick;
  const list = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()) : undefined);
  const workloads = (list(values.workloads) ?? [...WORKLOADS]) as WorkloadName[];
  // --quick leaves out infergate-no-prefix unless asked, to stay near two minutes.
  const strategies = (list(values.strategies) ??
    (quick ? ['round-robin', 'infergate'] : [...STRATEGIES])) as StrategyName[];
  for (const w of workloads) if (!WORKLOADS.includes(w)) throw new Error(`unknown workload ${w}`);
  for (const s of strategies) if (!KNOWN_STRATEGIES.includes(s)) throw new Error(`unknown strategy ${s}`);
  return {
    qps: values.qps
      ? { all: list(values.qps)!.map(Number) }
      : quick
        ? { all: [4, 10] }
        : { 'shared-prefix': [4, 8, 12, 16, 20], 'low-sharing': [4, 8, 12, 16] },
    warmupS: Number(values['warmup-s'] ?? (quick ? 3 : 4)),
    firstWarmupS: quick ? 3 : 8,
    measureS: Number(values['measure-s'] ?? (quick ? 6 : 15)),
    timeoutS: Number(values['timeout-s'] ?? (quick ? 15 : 30)),
    seed: Number(values.seed),
    workloads,
    strategies,
    out: values.out,
    simArgs: values['sim-args'] ? values['sim-args'].split(/\s+/).filter(Boolean) : SIM_ARGS,
  };
}

function ladder(s: Settings, workload: WorkloadName): number[] {
  return s.qps[workload] ?? s.qps.all ?? [];
}

async function runCurve(
  s: Settings,
  workload: WorkloadName,
  strategy: StrategyName,
  logDir: string,
): Promise<PointEntry[]> {
  const fleet = await startFleet({ strategy, simAddresses: SIM_ADDRESSES, simArgs: s.simArgs, logDir });
  const systems = systemPrompts(DEFAULT_SHAPE, s.seed);
  const entries: PointEntry[] = [];
  try {
    if (workload === 'shared-prefix') {
      const primed = await prime(
        fleet.url,
        MODEL,
        systems.map((sys) => `${sys}\nUser 0: hello`),
        s.timeoutS * 1000,
      );
      if (primed !== systems.length) throw new Error(`priming: ${primed}/${systems.length} answered`);
    }
    for (const [i, qps] of ladder(s, workload).entries()) {
      const warmupMs = (i === 0 ? s.firstWarmupS : s.warmupS) * 1000;
      const measureMs = s.measureS * 1000;
      const requests = generateStep(
        workload,
        DEFAULT_SHAPE,
        s.seed,
        qps,
        [warmupMs, measureMs],
        `step${i}`,
        systems,
      );
      const r = await runStep({
        url: fleet.url,
        model: MODEL,
        requests,
        warmupMs,
        measureMs,
        timeoutMs: s.timeoutS * 1000,
        simUrls: fleet.simUrls,
        processes: fleet.processes,
      });
      const meanOut = requests.reduce((sum, q) => sum + q.maxTokens, 0) / Math.max(requests.length, 1);
      const { raw, ...summary } = r;
      fs.writeFileSync(path.join(logDir, `raw-${workload}-${strategy}-${qps}.json`), JSON.stringify(raw));
      const entry: PointEntry = {
        workload,
        strategy,
        qps,
        ...summary,
        offeredTokensPerSec: Math.round(qps * meanOut),
      };
      entries.push(entry);
      console.log(
        `${workload.padEnd(13)} ${strategy.padEnd(19)} ${String(qps).padStart(4)} QPS (achieved ${r.achievedQps}): ` +
          `TTFT p50/p90/p99 ${r.ttftMs.p50}/${r.ttftMs.p90}/${r.ttftMs.p99} ms, e2e p90 ${r.e2eP90Ms} ms, ` +
          `TPOT p90 ${r.tpotP90Ms} ms, ${r.outputTokensPerSec}/${entry.offeredTokensPerSec} tok/s, ` +
          `ok ${(r.successRate * 100).toFixed(1)}%, prefix hits ${(r.prefixHitRate * 100).toFixed(0)}%, ` +
          `pods ${r.perPodMin}–${r.perPodMax}, lag p99 ${r.dispatchLagP99Ms} ms, CPU ${(r.cpuBusy * 100).toFixed(0)}% ` +
          JSON.stringify(r.cpuCores),
      );
      // Past saturation every further step only queues longer: stop the ladder once half the requests fail.
      if (r.successRate < 0.5) break;
    }
  } finally {
    await fleet.stop();
  }
  return entries;
}

/** The machine a report was measured on (every bench/routing report carries it). */
export function machineInfo(envoy?: string) {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    ...(envoy !== undefined ? { envoy } : {}),
  };
}

export function envoyVersion(): string | undefined {
  try {
    const out = execFileSync(findEnvoy(), ['--version'], { encoding: 'utf8', timeout: 10000 });
    return /version: \S+?\/([\d.]+)/.exec(out)?.[1] ?? out.trim();
  } catch {
    return undefined;
  }
}

export async function main(args: string[]): Promise<void> {
  const s = settings(args);
  const started = Date.now();
  const logDir = tmpLogDir();
  console.log(
    `routing bench: ${s.workloads.join(', ')} × ${s.strategies.join(', ')} at ${s.workloads.map((w) => `${w} ${ladder(s, w).join('/')}`).join(', ')} QPS; ` +
      `warm-up ${s.warmupS} s, measure ${s.measureS} s per step; logs in ${logDir}`,
  );
  const entries: PointEntry[] = [];
  for (const workload of s.workloads) {
    for (const strategy of s.strategies) entries.push(...(await runCurve(s, workload, strategy, logDir)));
  }
  const summary = checkGoals(entries);
  const report: RoutingReport = {
    bench: 'routing',
    command: `${invokedAs}${args.length ? ' ' + args.join(' ') : ''}`,
    date: new Date().toISOString(),
    machine: machineInfo(envoyVersion()),
    settings: {
      ...s,
      out: undefined,
      simulators: SIM_ADDRESSES.length,
      simArgs: s.simArgs.join(' '),
      workloadShape: DEFAULT_SHAPE,
      durationS: Math.round((Date.now() - started) / 1000),
    },
    entries,
    summary,
  };
  fs.mkdirSync(s.out, { recursive: true });
  fs.writeFileSync(path.join(s.out, 'routing.json'), renderJson(report));
  fs.writeFileSync(path.join(s.out, 'routing.html'), renderHtml(report));
  console.log(`saturation QPS: ${JSON.stringify(summary.saturationQps)}`);
  for (const g of summary.goals) console.log(`${g.pass ? 'PASS' : 'MISS'} ${g.name}: ${g.detail}`);
  console.log(
    `wrote ${path.join(s.out, 'routing.json')} and routing.html in ${Math.round((Date.now() - started) / 1000)} s`,
  );
}

let invokedAs = 'node bin/infergate.js bench routing';

if (require.main === module) {
  invokedAs = `node ${path.relative(projectRoot(), process.argv[1])}`;
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
