// bench/routing bursts: N requests arriving at once on an idle pool of 8 simulators behind a real Envoy and the EPP,
// with the upstream default profile and with in-flight accounting (examples/epp-config/burst-safe.yaml), each with
// and without a shared prefix, several repetitions. Per burst: requests per pod (max/min) and TTFT percentiles.
// Writes bench/results/bursts.json and bursts.html (bursts-report.ts).
// Run: node dist/bench/routing/bursts.js [--quick] [--reps 5] [--burst 64] [--seed 1] [--out DIR]

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../../src/util/envoy';
import { BURST_SAFE_CONFIG_FILE, MODEL, startFleet, tmpLogDir, type Fleet } from './fleet';
import { runStep } from './loadgen';
import { machineInfo, SIM_ARGS } from './run';
import {
  BURST_CONFIGS,
  BURST_WORKLOADS,
  renderBurstsHtml,
  summarizeBursts,
  type BurstConfigName,
  type BurstPoint,
  type BurstsReport,
  type BurstWorkload,
} from './bursts-report';
import { round } from './stats';
import { prng, seedOf, text, type BenchRequest } from './workload';

const SIM_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.1.${i + 1}`);

/**
 * Exploratory variant: the burst-safe profile with token-load-scorer's threshold fixed at one simulator's KV cache
 * (1,000 blocks × 16 tokens) instead of read from each pod's metrics: the two must place bursts alike.
 */
export function tunedConfig(inflight: string): string {
  const out = inflight.replace(
    '  parameters: {thresholdFromKvCapacity: true}',
    '  parameters: {queueThresholdTokens: 16000}',
  );
  if (out === inflight)
    throw new Error(`${BURST_SAFE_CONFIG_FILE} changed shape: cannot derive inflight-tuned`);
  return out;
}

export interface BurstSettings {
  reps: number;
  burst: number;
  /** Prompt tokens of a unique request; the shared prompt's length in the shared-prefix workload. */
  promptTokens: number;
  sharedPrefixTokens: number;
  questionTokens: number;
  maxTokens: number;
  /** Pause after a burst has been answered, so the EPP has scraped the idle pool again (≥ 4 scrapes). */
  idleMs: number;
  timeoutS: number;
  seed: number;
  configs: BurstConfigName[];
  workloads: BurstWorkload[];
  out: string;
}

function settings(args: string[]): BurstSettings {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      reps: { type: 'string' },
      burst: { type: 'string', default: '64' },
      seed: { type: 'string', default: '1' },
      configs: { type: 'string' },
      workloads: { type: 'string' },
      out: { type: 'string', default: path.join(projectRoot(), 'bench', 'results') },
    },
  });
  const list = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()) : undefined);
  // --quick compares the two shipped profiles; the full run adds the exploratory tuned one.
  const configs = (list(values.configs) ??
    (values.quick ? ['default', 'inflight'] : [...BURST_CONFIGS])) as BurstConfigName[];
  const workloads = (list(values.workloads) ?? [...BURST_WORKLOADS]) as BurstWorkload[];
  for (const c of configs) if (!BURST_CONFIGS.includes(c)) throw new Error(`unknown config ${c}`);
  for (const w of workloads) if (!BURST_WORKLOADS.includes(w)) throw new Error(`unknown workload ${w}`);
  const reps = Number(values.reps ?? (values.quick ? 2 : 5));
  const burst = Number(values.burst);
  if (!(reps >= 1) || !(burst >= 1)) throw new Error('--reps and --burst must be ≥ 1');
  return {
    reps,
    burst,
    promptTokens: 400,
    sharedPrefixTokens: 2000,
    questionTokens: 40,
    maxTokens: 32,
    idleMs: 300,
    timeoutS: 60,
    seed: Number(values.seed),
    configs,
    workloads,
    out: values.out,
  };
}

/** The burst's requests, all sent at t = 0; prompts unique to (seed, workload, rep), so every burst starts cold. */
export function burstRequests(s: BurstSettings, workload: BurstWorkload, rep: number): BenchRequest[] {
  const rand = prng(seedOf(s.seed, 'burst', workload, rep));
  const shared =
    workload === 'shared-prefix'
      ? text(s.sharedPrefixTokens, 4, rand, `You are assistant ${rep} of burst ${s.seed}. Policies: `)
      : '';
  return Array.from({ length: s.burst }, (_, i) => {
    const prompt =
      workload === 'shared-prefix'
        ? shared + text(s.questionTokens, 4, rand, `\nUser ${i}: `)
        : text(s.promptTokens, 4, rand, `Request ${rep}-${i} context: `);
    return { atMs: 0, prompt, maxTokens: s.maxTokens, group: workload === 'shared-prefix' ? 0 : -1 };
  });
}

async function runBurst(
  s: BurstSettings,
  fleet: Fleet,
  config: BurstConfigName,
  workload: BurstWorkload,
  rep: number,
): Promise<BurstPoint> {
  const requests = burstRequests(s, workload, rep);
  const t0 = performance.now();
  const r = await runStep({
    url: fleet.url,
    model: MODEL,
    requests,
    warmupMs: 0,
    measureMs: 1000,
    timeoutMs: s.timeoutS * 1000,
    simUrls: fleet.simUrls,
    processes: fleet.processes,
  });
  const makespanMs = round(performance.now() - t0, 0);
  const identities = fleet.simUrls.map((u) => new URL(u).host);
  const perPod = identities.map((id) => r.raw.filter((q) => q.servedBy === id).length);
  const point: BurstPoint = {
    config,
    workload,
    rep,
    requests: r.requests,
    succeeded: r.succeeded,
    perPod,
    perPodMax: Math.max(...perPod),
    perPodMin: Math.min(...perPod),
    ttftMs: r.ttftMs,
    e2eP90Ms: r.e2eP90Ms,
    makespanMs,
  };
  console.log(
    `${config.padEnd(8)} ${workload.padEnd(13)} rep ${rep}: pods ${perPod.join('/')} (max ${point.perPodMax}, ` +
      `min ${point.perPodMin}), TTFT p50/p90/p99 ${r.ttftMs.p50}/${r.ttftMs.p90}/${r.ttftMs.p99} ms, ` +
      `ok ${r.succeeded}/${r.requests}, all answered in ${makespanMs} ms`,
  );
  // Let the pool go idle in the EPP's eyes too (completions released, a few scrapes of empty queues).
  await new Promise((res) => setTimeout(res, s.idleMs));
  return point;
}

async function warmUp(s: BurstSettings, fleet: Fleet): Promise<void> {
  const requests = burstRequests(s, 'unique', -1).map((r) => ({ ...r, maxTokens: 4 }));
  await runStep({
    url: fleet.url,
    model: MODEL,
    requests,
    warmupMs: 0,
    measureMs: 100,
    timeoutMs: s.timeoutS * 1000,
    simUrls: fleet.simUrls,
    processes: fleet.processes,
  });
  await new Promise((res) => setTimeout(res, s.idleMs));
}

export async function main(args: string[]): Promise<void> {
  const s = settings(args);
  const started = Date.now();
  const logDir = tmpLogDir();
  const inflightConfig = fs.readFileSync(path.join(projectRoot(), BURST_SAFE_CONFIG_FILE), 'utf8');
  console.log(
    `routing bursts: ${s.burst} requests at once on 8 idle simulators, ${s.reps} repetitions of ` +
      `${s.configs.join(', ')} × ${s.workloads.join(', ')}; logs in ${logDir}`,
  );
  const points: BurstPoint[] = [];
  for (const config of s.configs) {
    const fleet = await startFleet({
      strategy: 'infergate',
      simAddresses: SIM_ADDRESSES,
      simArgs: SIM_ARGS,
      logDir,
      ...(config === 'inflight' ? { eppConfig: inflightConfig } : {}),
      ...(config === 'inflight-tuned' ? { eppConfig: tunedConfig(inflightConfig) } : {}),
    });
    try {
      // One unmeasured burst first: Envoy's upstream connections and ext_proc streams, and the EPP's and simulators'
      // first-run code paths, otherwise land on the first measured burst (seen: 3–10× its TTFT with an even spread).
      await warmUp(s, fleet);
      for (let rep = 0; rep < s.reps; rep++)
        for (const workload of s.workloads) points.push(await runBurst(s, fleet, config, workload, rep));
    } finally {
      await fleet.stop();
    }
  }
  const report: BurstsReport = {
    bench: 'routing-bursts',
    command: `${invokedAs}${args.length ? ' ' + args.join(' ') : ''}`,
    date: new Date().toISOString(),
    machine: machineInfo(),
    settings: {
      ...s,
      out: undefined,
      simulators: SIM_ADDRESSES.length,
      simArgs: SIM_ARGS.join(' '),
      inflightConfig: BURST_SAFE_CONFIG_FILE,
      durationS: Math.round((Date.now() - started) / 1000),
    },
    points,
    summary: summarizeBursts(points),
  };
  fs.mkdirSync(s.out, { recursive: true });
  fs.writeFileSync(path.join(s.out, 'bursts.json'), JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(path.join(s.out, 'bursts.html'), renderBurstsHtml(report));
  for (const x of report.summary)
    console.log(
      `${x.config.padEnd(8)} ${x.workload.padEnd(13)} busiest pod median ${x.perPodMax.median} ` +
        `(${x.perPodMax.min}–${x.perPodMax.max}), least busy median ${x.perPodMin.median}, ` +
        `TTFT p90 median ${x.ttftP90Ms.median} ms (${x.ttftP90Ms.min}–${x.ttftP90Ms.max}), ` +
        `p99 median ${x.ttftP99Ms.median} ms (${x.ttftP99Ms.min}–${x.ttftP99Ms.max})`,
    );
  console.log(`wrote ${path.join(s.out, 'bursts.json')} and bursts.html in ${report.settings.durationS} s`);
}

let invokedAs = 'node dist/bench/routing/bursts.js';

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
