// bench/epp-throughput: requests/s through a real Envoy with the EPP (`infergate epp`, a child process of its own
// so its CPU is measurable) deciding every request, against fast simulators (no prefill, no decode, one token).
// EPP-added latency = latency on the EPP route minus latency on an identical route without ext_proc, at the same
// offered load (open loop). Finds the highest rate with p99 added ≤ 5 ms for 1 KB prompts and the closed-loop
// plateau for 220 KB prompts, both per EPP CPU core. Writes bench/results/epp-throughput.json.
// Run: INFERGATE_LOG_LEVEL=error npx ts-node --transpile-only -e "require('./bench/epp-throughput/run').main([])"

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseText } from '../../src/api/load';
import { compile, formatViolation, staticBootstrap } from '../../src/compiler';
import { renderBootstrap } from '../../src/compiler/output';
import * as http from 'node:http';
import { findEnvoy, projectRoot } from '../../src/util/envoy';
import { LOADGEN_JS, type LoadConfig, type LoadResult } from './loadgen';
import { httpOk, stopProcess, waitFor } from '../../src/util/wait';
import {
  DOC,
  gatewayWithClass,
  inferencePool,
  localEpp,
  localService,
  readyPod,
} from '../../src/util/manifests';
import { freePort } from '../../src/util/net';

const MODEL = 'bench-model';
const METRICS_TEXT = `# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="${MODEL}"} 0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="${MODEL}"} 0
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{model_name="${MODEL}"} 0
`;
const COMPLETION = JSON.stringify({
  id: 'cmpl-bench',
  object: 'text_completion',
  model: MODEL,
  choices: [{ index: 0, text: ' ok', finish_reason: 'length' }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});

/**
 * A model server that costs next to nothing: drains the body, answers one token, and serves vLLM's gauges at 0.
 * (The simulator hashes every prompt block, which at 220 KB would make it the bottleneck, not the EPP.)
 */
async function startBackend(address: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(METRICS_TEXT);
      return;
    }
    req.on('data', () => undefined);
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-infergate-sim': `${address}:${port}` });
      res.end(COMPLETION);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, resolve);
  });
  return server;
}
/** Up to 8 endpoints (--endpoints; the peers' side-by-side setup uses 8, each scraped every 50 ms). */
const ALL_SIM_IPS = Array.from({ length: 8 }, (_, i) => `127.0.0.${71 + i}`);
const ROUTE_HEADER = 'x-bench-route';
const ADDED_P99_BUDGET_MS = 5;

interface Options {
  stepMs: number;
  rates: number[];
  largeConcurrency: number[];
  /** `upstream`: Envoy keeps one EPP connection, as upstream's config does (no max_requests_per_connection). */
  envoy: 'compiled' | 'upstream';
  /** `off` runs the EPP without its reset shield (INFERGATE_EPP_SHIELD_RESETS=0), to measure before/after. */
  shield: 'on' | 'off';
  /** Model server endpoints (4 by default, up to 8). */
  endpoints: number;
  /** `taskset -c` CPU list for the EPP process only (e.g. `0` or `0,1`). */
  eppCpus?: string;
  /** Directory for a `node --cpu-prof` profile of the EPP (written when it exits). */
  eppProf?: string;
  /** Skip the 1 KB ladder or the 220 KB steps. */
  small: boolean;
  large: boolean;
  /** Run every rate of the ladder even after one is not served (failures per step). */
  allRates: boolean;
  /** Run the EPP of another checkout (its bin/infergate.js), for A/B runs with one harness. */
  eppRoot?: string;
  /** The EPP's --worker-threshold-bytes (bodies at least this large are parsed and hashed in the pool). */
  workerThresholdBytes?: number;
}

function options(args: string[]): Options {
  const o: Options = {
    stepMs: 3000,
    rates: [200, 400, 700, 1000, 1400, 1800, 2400, 3000],
    largeConcurrency: [4, 16],
    envoy: 'compiled',
    shield: 'on',
    endpoints: 4,
    small: true,
    large: true,
    allRates: false,
  };
  for (let i = 0; i < args.length; i++) {
    const v = args[i + 1];
    if (args[i] === '--all-rates') {
      o.allRates = true;
      continue;
    }
    if (args[i] === '--step-ms') o.stepMs = Math.min(10_000, Math.max(500, Number(v)));
    else if (args[i] === '--rates') o.rates = v.split(',').map(Number).slice(0, 12);
    else if (args[i] === '--large-concurrency') o.largeConcurrency = v.split(',').map(Number).slice(0, 4);
    else if (args[i] === '--envoy' && (v === 'compiled' || v === 'upstream')) o.envoy = v;
    else if (args[i] === '--shield' && (v === 'on' || v === 'off')) o.shield = v;
    else if (args[i] === '--endpoints') o.endpoints = Math.min(8, Math.max(1, Number(v) || 4));
    else if (args[i] === '--epp-cpus' && /^[0-9,-]+$/.test(v)) o.eppCpus = v;
    else if (args[i] === '--epp-prof') o.eppProf = path.resolve(v);
    else if (args[i] === '--epp-root') o.eppRoot = path.resolve(v);
    else if (args[i] === '--worker-threshold-bytes' && Number(v) > 0) o.workerThresholdBytes = Number(v);
    else if (args[i] === '--only' && (v === 'small' || v === 'large')) {
      o.small = v === 'small';
      o.large = v === 'large';
    } else if (['--envoy', '--shield', '--epp-cpus', '--only', '--worker-threshold-bytes'].includes(args[i]))
      throw new Error(`${args[i]}: bad value ${v}`);
    else continue;
    i++;
  }
  return o;
}

function resources(listen: number, epp: number, sim: number, ips: string[]): string {
  const routes = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: routes, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{headers: [{name: ${ROUTE_HEADER}, value: epp}]}]
    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: bench}]
  - matches: [{headers: [{name: ${ROUTE_HEADER}, value: direct}]}]
    backendRefs: [{name: sims, port: ${sim}}]`;
  return [
    gatewayWithClass('gw', 'default', listen),
    routes,
    inferencePool('bench', { app: 'bench-sim', targetPorts: [sim], epp: { service: 'bench-epp' } }),
    localEpp('bench-epp', epp),
    localService('sims', sim, ips, sim),
    ...ips.map((ip, i) => readyPod(`sim-${i}`, 'bench-sim', ip)),
  ].join(DOC);
}

/** CPU seconds (user + system, all threads) of a process so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number, tick: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / tick; // utime, stime (fields 14, 15)
}

function clockTick(): number {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
}

function startChild(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): ChildProcess & { logs(): string } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let logs = '';
  const keep = (d: Buffer) => (logs = (logs + d.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return Object.assign(child, { logs: () => logs });
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

interface Step {
  route: 'epp' | 'direct';
  offered?: number;
  concurrency?: number;
  result: LoadResult;
  eppCores: number;
  envoyCores: number;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

export async function main(args: string[]): Promise<void> {
  const o = options(args);
  const root = projectRoot();
  const tick = clockTick();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-bench-epp-'));
  const backends: http.Server[] = [];
  let epp: (ChildProcess & { logs(): string }) | undefined;
  let envoy: (ChildProcess & { logs(): string }) | undefined;
  const started = Date.now();
  const simIps = ALL_SIM_IPS.slice(0, o.endpoints);
  try {
    backends.push(await startBackend(simIps[0], 0));
    const simPort = (backends[0].address() as net.AddressInfo).port;
    for (const ip of simIps.slice(1)) backends.push(await startBackend(ip, simPort));
    const [listen, admin, grpc, health, metrics] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const yaml = resources(listen, grpc, simPort, simIps);
    fs.writeFileSync(path.join(dir, 'resources.yaml'), yaml);

    const eppArgs = ['epp', '--pool', 'bench', '--address', '127.0.0.1'];
    eppArgs.push('--grpc-port', String(grpc), '--health-port', String(health));
    if (o.workerThresholdBytes) eppArgs.push('--worker-threshold-bytes', String(o.workerThresholdBytes));
    eppArgs.push('--metrics-port', String(metrics), dir);
    const nodeArgs = o.eppProf ? ['--cpu-prof', '--cpu-prof-dir', o.eppProf] : [];
    const eppCmd = [
      process.execPath,
      ...nodeArgs,
      path.join(o.eppRoot ?? root, 'bin', 'infergate.js'),
      ...eppArgs,
    ];
    if (o.eppCpus) eppCmd.unshift('taskset', '-c', o.eppCpus);
    epp = startChild(eppCmd[0], eppCmd.slice(1), {
      INFERGATE_LOG_LEVEL: 'error',
      ...(o.shield === 'off' ? { INFERGATE_EPP_SHIELD_RESETS: '0' } : {}),
    });
    const eppChild = epp;
    await waitFor('the EPP metrics endpoint', () => httpOk(`http://127.0.0.1:${metrics}/metrics`), {
      timeoutMs: 30_000,
      everyMs: 100,
      abortIf: () => (eppChild.exitCode !== null ? `epp exited:\n${eppChild.logs()}` : undefined),
    });

    const loaded = parseText(yaml, 'bench.yaml');
    const result = compile(loaded.resources, { mode: 'static', listenAddress: '127.0.0.1' });
    if (result.violations.length) throw new Error(result.violations.map(formatViolation).join('\n'));
    const bootstrap = staticBootstrap(result.gateways[0].resources, {
      gateway: 'default/gw',
      adminPort: admin,
    });
    const envoyFile = path.join(dir, 'envoy.yaml');
    let envoyYaml = renderBootstrap(bootstrap, 'yaml');
    if (o.envoy === 'upstream') {
      const stripped = envoyYaml.replace(/^\s*max_requests_per_connection: \d+\n/gm, '');
      if (stripped === envoyYaml)
        throw new Error('--envoy upstream: no max_requests_per_connection to remove');
      envoyYaml = stripped;
    }
    fs.writeFileSync(envoyFile, envoyYaml);
    envoy = startChild(findEnvoy(), ['-c', envoyFile, '--use-dynamic-base-id', '--log-level', 'error']);
    const url = `http://127.0.0.1:${listen}/v1/completions`;
    const probe = (route: string) => async () => {
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [ROUTE_HEADER]: route },
        body: JSON.stringify({ model: MODEL, prompt: 'warm', max_tokens: 1 }),
      });
      await r.text();
      return r.status === 200;
    };
    await waitFor('Envoy to route through the EPP', probe('epp'), { timeoutMs: 30_000, everyMs: 100 });
    await waitFor('Envoy to route directly', probe('direct'), { timeoutMs: 10_000, everyMs: 100 });

    const eppPid = epp.pid!;
    const envoyPid = envoy.pid!;
    const steps: Step[] = [];
    const run = async (
      route: 'epp' | 'direct',
      promptBytes: number,
      shape: { rate?: number; concurrency?: number },
      durationMs = o.stepMs,
    ): Promise<Step> => {
      const cpu0 = [cpuSeconds(eppPid, tick), cpuSeconds(envoyPid, tick)];
      const t0 = Date.now();
      const r = await load({
        url,
        headers: { [ROUTE_HEADER]: route },
        promptBytes,
        prefixes: 16,
        model: MODEL,
        durationMs,
        maxInFlight: 2000,
        ...shape,
      });
      const wall = (Date.now() - t0) / 1000;
      const step: Step = {
        route,
        offered: shape.rate,
        concurrency: shape.concurrency,
        result: r,
        eppCores: (cpuSeconds(eppPid, tick) - cpu0[0]) / wall,
        envoyCores: (cpuSeconds(envoyPid, tick) - cpu0[1]) / wall,
      };
      steps.push(step);
      console.error(
        `${route.padEnd(6)} ${promptBytes >= 1024 ? promptBytes / 1024 + 'KB' : promptBytes + 'B'}` +
          ` ${shape.rate ? `rate ${shape.rate}` : `conc ${shape.concurrency}`}: ${round(r.rps, 0)} req/s,` +
          ` p50 ${round(r.p50)} p99 ${round(r.p99)} ms, errors ${r.errors}, dropped ${r.dropped},` +
          ` EPP ${round(step.eppCores)} cores, Envoy ${round(step.envoyCores)} cores`,
      );
      return step;
    };

    // Warm-up: JIT, connection pools, prefix index.
    await run('epp', 1024, { rate: 300 }, 1500);
    await run('direct', 1024, { rate: 300 }, 1000);
    steps.length = 0;

    // The idle EPP: what scraping the endpoints costs with no requests.
    const idle0 = cpuSeconds(eppPid, tick);
    const idleT0 = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const idleCores = (cpuSeconds(eppPid, tick) - idle0) / ((Date.now() - idleT0) / 1000);
    console.error(`idle   EPP ${round(idleCores, 3)} cores (scraping ${simIps.length} endpoints)`);

    const small: {
      rate: number;
      rps: number;
      addedP50: number;
      addedP99: number;
      eppCores: number;
      /** EPP CPU seconds per 1,000 requests, scraping included. */
      eppCpuSPer1000: number;
      errors: number;
      statuses: Record<string, number>;
      kept: boolean;
      ok: boolean;
    }[] = [];
    for (const rate of o.small ? o.rates : []) {
      if (Date.now() - started > (o.allRates ? 240_000 : 120_000)) break;
      const direct = await run('direct', 1024, { rate });
      const viaEpp = await run('epp', 1024, { rate });
      const r = viaEpp.result;
      const kept = r.rps >= 0.95 * rate && r.errors === 0 && r.dropped === 0;
      const addedP99 = r.p99 - direct.result.p99;
      const row = {
        rate,
        rps: round(r.rps, 0),
        addedP50: round(r.p50 - direct.result.p50),
        addedP99: round(addedP99),
        eppCores: round(viaEpp.eppCores),
        eppCpuSPer1000: r.rps > 0 ? round((viaEpp.eppCores / r.rps) * 1000) : 0,
        errors: r.errors,
        statuses: r.statuses,
        kept,
        ok: kept && addedP99 <= ADDED_P99_BUDGET_MS,
      };
      small.push(row);
      // Past the latency budget the ladder goes on while the offered rate is still served (the knee is useful).
      if (!kept && !o.allRates) break;
    }
    const best = [...small].reverse().find((s) => s.ok);
    const sustained = [...small].reverse().find((s) => s.kept);

    const large: {
      concurrency: number;
      rps: number;
      directRps: number;
      p50: number;
      p99: number;
      eppCores: number;
      eppMsPerRequest: number;
      errors: number;
    }[] = [];
    for (const concurrency of o.large ? o.largeConcurrency : []) {
      if (Date.now() - started > (o.allRates ? 300_000 : 150_000)) break;
      const direct = await run('direct', 220 * 1024, { concurrency });
      const viaEpp = await run('epp', 220 * 1024, { concurrency });
      large.push({
        concurrency,
        rps: round(viaEpp.result.rps, 0),
        directRps: round(direct.result.rps, 0),
        p50: round(viaEpp.result.p50),
        p99: round(viaEpp.result.p99),
        eppCores: round(viaEpp.eppCores),
        eppMsPerRequest: viaEpp.result.rps > 0 ? round((viaEpp.eppCores / viaEpp.result.rps) * 1000) : 0,
        errors: viaEpp.result.errors,
      });
    }
    const plateau = large.reduce((a, b) => (b.rps > a.rps ? b : a), large[0]);

    // Envoy's view of its upstream connections (GOAWAYs and refused streams on the EPP's cluster show here).
    const extProc: Record<string, number> = {};
    const wanted =
      /^(cluster\.[^ ]+\.(?:upstream_cx_total|upstream_cx_protocol_error|upstream_cx_close_notify|upstream_rq_rx_reset|upstream_cx_destroy_remote_with_active_rq|http2\.tx_reset)|http\.[^ ]+\.ext_proc\.streams_failed): (\d+)$/;
    const stats = await fetch(`http://127.0.0.1:${admin}/stats`).then((r) => r.text());
    for (const line of stats.split('\n')) {
      const m = wanted.exec(line);
      if (m && Number(m[2]) > 0) extProc[m[1]] = Number(m[2]);
    }
    console.error(`envoy: ${JSON.stringify(extProc)}`);

    const report = {
      bench: 'epp-throughput',
      command: `node bin/infergate.js bench epp-throughput ${args.join(' ')}`.trim(),
      envoy: o.envoy,
      shield: o.shield,
      date: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        model: os.cpus()[0]?.model,
        node: process.version,
        platform: os.platform(),
      },
      endpoints: simIps.length,
      eppCpus: o.eppCpus,
      eppRoot: o.eppRoot,
      workerThresholdBytes: o.workerThresholdBytes,
      setup:
        'one Envoy (static bootstrap from our compiler), `infergate epp` in a child process (default config, ' +
        `worker threads on, 50 ms scrapes), ${simIps.length} one-token HTTP model servers with static vLLM ` +
        'gauges, the load generator in a child process (open loop for 1 KB, closed loop for 220 KB); everything ' +
        'on one machine',
      idleEppCores: round(idleCores, 3),
      envoyExtProc: extProc,
      small1KB: {
        budgetAddedP99Ms: ADDED_P99_BUDGET_MS,
        maxRps: best?.rps ?? 0,
        addedP50Ms: best?.addedP50,
        addedP99Ms: best?.addedP99,
        eppCores: best?.eppCores,
        rpsPerEppCore: best && best.eppCores > 0 ? round(best.rps / best.eppCores, 0) : undefined,
        maxSustainedRps: sustained?.rps ?? 0,
        maxSustainedEppCores: sustained?.eppCores,
        maxSustainedRpsPerEppCore:
          sustained && sustained.eppCores > 0 ? round(sustained.rps / sustained.eppCores, 0) : undefined,
        ladder: small,
      },
      large220KB: {
        plateauRps: plateau?.rps,
        eppCores: plateau?.eppCores,
        rpsPerEppCore: plateau && plateau.eppCores > 0 ? round(plateau.rps / plateau.eppCores, 0) : undefined,
        ladder: large,
      },
      steps,
      seconds: round((Date.now() - started) / 1000, 1),
    };
    const out = path.join(root, 'bench', 'results', 'epp-throughput.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
    console.log(JSON.stringify({ small1KB: report.small1KB, large220KB: report.large220KB }, null, 2));
    console.log(`wrote ${path.relative(process.cwd(), out)}`);
  } finally {
    if (envoy) await stopProcess(envoy);
    if (epp) await stopProcess(epp);
    for (const b of backends) b.closeAllConnections();
    await Promise.all(backends.map((b) => new Promise((r) => b.close(r))));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
