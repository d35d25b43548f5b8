// bench/peers: infergate's EPP side by side with the upstream GIE EPP v1.5.0 and llm-d's v0.7.1 (issue #14 part 1).
// Checks the cached tools (scripts/cluster-tools.sh, scripts/peers.sh, Envoy), brings the test cluster up (its own
// network namespace: the Go EPPs bind all interfaces, so everything runs in there), runs inside.ts through
// `scripts/cluster exec`, brings the cluster down, and writes bench/results/peers.json and peers.html.
// Run: node bin/infergate.js bench peers [--quick] [--reps N] [--epps infergate,gie-v1.5.0] [--skip-routing] [--keep]

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { findEnvoy, projectRoot } from '../../src/util/envoy';
import { EPP_NAMES, type EppName } from './epps';
import { insideSettings, type InsideResult } from './inside';
import { finish, renderHtml, renderJson, type Machine, type PeerEntry } from './report';

const ROOT = projectRoot();
const say = (s: string) => console.log(`[peers] ${s}`);

function envoyVersion(): string | undefined {
  const r = spawnSync(findEnvoy(), ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return /version: \S+?\/([\d.]+)/.exec(r.stdout ?? '')?.[1];
}

function machine(loadAvgStart: number): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    envoy: envoyVersion(),
    loadAvgStart,
    loadAvgEnd: Math.round(os.loadavg()[0] * 100) / 100,
  };
}

// The test cluster (scripts/cluster, contract in test/cluster/README.md), driven from here rather than through
// test/cluster/cluster.ts, which finds the scripts relative to its own file (wrong once compiled into dist/).
const CLUSTER = path.join(ROOT, 'scripts', 'cluster');

function toolsMissing(): string | undefined {
  const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'cluster-tools.sh'), '--check'], {
    encoding: 'utf8',
  });
  return r.status === 0
    ? undefined
    : (r.stdout + r.stderr).trim() || `cluster-tools.sh --check exited ${r.status}`;
}

function clusterRun(args: string[], timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(CLUSTER, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
  });
}

/** The peer binaries, or why they are missing. */
function peerBinaries(): { gie: string; llmd: string } | string {
  const script = path.join(ROOT, 'scripts', 'peers.sh');
  const check = spawnSync('bash', [script, '--check'], { encoding: 'utf8' });
  if (check.status !== 0) return (check.stdout + check.stderr).trim();
  const [gie, llmd] = spawnSync('bash', [script, 'path'], { encoding: 'utf8' }).stdout.trim().split('\n');
  return { gie, llmd };
}

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      reps: { type: 'string' },
      epps: { type: 'string' },
      'skip-routing': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      out: { type: 'string', default: path.join(ROOT, 'bench', 'results') },
    },
  });
  const epps = values.epps ? (values.epps.split(',').map((s) => s.trim()) as EppName[]) : [...EPP_NAMES];
  const bad = epps.filter((e) => !EPP_NAMES.includes(e));
  if (bad.length) throw new Error(`--epps: unknown ${bad.join(', ')} (known: ${EPP_NAMES.join(', ')})`);
  if (values.reps !== undefined && !(Number.isInteger(Number(values.reps)) && Number(values.reps) >= 1))
    throw new Error(`--reps: not a positive count: ${values.reps}`);
  const missing = toolsMissing();
  if (missing) {
    console.error(`bench peers needs the cluster tools (make cluster-tools):\n${missing}`);
    return 2;
  }
  const bins = peerBinaries();
  if (typeof bins === 'string') {
    console.error(
      `bench peers needs the peer EPPs (bash scripts/peers.sh build, or make bench-peers):\n${bins}`,
    );
    return 2;
  }
  const cli = path.join(ROOT, 'bin', 'infergate.js');
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
    console.error('bench peers needs dist/ (make build: npx tsc -p tsconfig.build.json)');
    return 2;
  }
  findEnvoy();
  const s = insideSettings(values.quick!, { reps: values.reps ? Number(values.reps) : undefined, epps });
  const command = `node bin/infergate.js bench peers${args.length ? ' ' + args.join(' ') : ''}`;
  const loadAvgStart = Math.round(os.loadavg()[0] * 100) / 100;
  const started = Date.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-bench-peers-'));
  const clusterDir = path.join(work, 'cluster');
  let child: ChildProcess | undefined;
  let downing: Promise<unknown> | undefined;
  const down = () => (downing ??= clusterRun(['down', clusterDir], 60_000));
  const onSignal = (sig: NodeJS.Signals) => {
    say(`${sig}: stopping, bringing the cluster down`);
    child?.kill('SIGKILL');
    void down().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let ok = false;
  try {
    say(`work directory ${work}; cluster up`);
    let t = performance.now();
    const up = await clusterRun(['up', clusterDir], 300_000);
    if (up.code !== 0) throw new Error(`scripts/cluster up failed (${up.code}):\n${up.stderr}`);
    say(`cluster up in ${Math.round((performance.now() - t) / 1000)} s`);
    const resultFile = path.join(work, 'result.json');
    const ts = __filename.endsWith('.ts');
    const script = path.join(__dirname, ts ? 'inside.ts' : 'inside.js');
    const insideArgs = [
      ...(values.quick ? ['--quick'] : []),
      ...['--reps', String(s.reps), '--epps', epps.join(',')],
      ...(values['skip-routing'] ? ['--skip-routing'] : []),
      ...['--work', work, '--result', resultFile, '--cli', cli, '--gie', bins.gie, '--llmd', bins.llmd],
    ];
    t = performance.now();
    child = spawn(
      CLUSTER,
      [
        'exec',
        clusterDir,
        '--',
        process.execPath,
        ...(ts ? ['-r', 'ts-node/register/transpile-only'] : []),
        script,
        ...insideArgs,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.pipe(process.stdout);
    child.stderr!.pipe(process.stderr);
    const limit = setTimeout(() => child?.kill('SIGKILL'), (values.quick ? 20 : 60) * 60_000);
    const code = await exited(child);
    clearTimeout(limit);
    if (code !== 0) throw new Error(`inside.ts exited ${code} (logs under ${work})`);
    const result = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as InsideResult;
    const m = machine(loadAvgStart);
    const settings = {
      ...s,
      simulators: 8,
      simArgs:
        '--ttft-overhead-ms 0 --prefill-ms-per-token 0 --inter-token-ms 0 --itl-batch-slope 0 --block-size 64',
      dataPath:
        'stock Envoy, GIE-style bootstrap (bench/peers/envoy.ts): ext_proc FULL_DUPLEX_STREAMED over h2c, one EPP ' +
        'connection, ORIGINAL_DST by x-gateway-destination-endpoint; direct route = round robin without ext_proc',
      pods: 'InferencePool + 8 Pods in the test kube-apiserver (status patched: podIP, Ready) for the Go EPPs; the same as files for infergate',
      routing: 'bench/routing workloads and fleet (its simulator flags, compiled Envoy) with the EPP swapped',
      loadgen:
        'bench/epp-throughput loadgen (Node, child process): 1 KB prompts open loop, 220 KB closed loop',
      failures: result.failures,
    };
    const entries: PeerEntry[] = epps.map((name) => ({
      name,
      version: result.versions[name],
      machine: m,
      settings,
      command,
      repetitions: result.repetitions[name] ?? [],
      summary: {},
      routing: result.routing[name] ?? [],
    }));
    const report = finish({
      bench: 'peers',
      command,
      date: new Date().toISOString(),
      durationS: Math.round((Date.now() - started) / 1000),
      machine: m,
      settings,
      entries,
      load: result.load,
    });
    fs.mkdirSync(values.out!, { recursive: true });
    fs.writeFileSync(path.join(values.out!, 'peers.json'), renderJson(report));
    fs.writeFileSync(path.join(values.out!, 'peers.html'), renderHtml(report));
    for (const e of report.entries) {
      const f = (k: string) => {
        const r = e.summary[k];
        return r ? `${r.median} [${r.min}–${r.max}]` : '—';
      };
      say(
        `${e.name.padEnd(13)} added p50 ${f('addedP50')} ms, CPU/1k ${f('cpuPer1k')} s, max ${f('maxRps')} req/s ` +
          `(${f('maxRpsPerCore')}/core), 220 KB ${f('largeRps')} req/s (${f('largePerCore')}/core), RSS ${f('rssIdle')}→${f('rssAfter')} MiB`,
      );
    }
    for (const [peer, r] of Object.entries(report.ratios)) {
      const f = (k: string) => (r[k] ? `${r[k]!.median} [${r[k]!.min}–${r[k]!.max}]` : '—');
      say(
        `infergate ÷ ${peer}: CPU/1k ${f('cpuPer1k')}, 220 KB per core ${f('largePerCore')}, RSS idle ${f('rssIdle')}`,
      );
    }
    if (result.failures.length) say(`failures: ${result.failures.join('; ')}`);
    say(`wrote ${path.join(values.out!, 'peers.json')} and peers.html in ${report.durationS} s`);
    ok = result.failures.length === 0;
    return ok ? 0 : 1;
  } finally {
    child?.kill('SIGKILL');
    const r = (await down()) as { code: number | null };
    say(`cluster down (${r.code === 0 ? 'ok' : 'FAILED'})`);
    if (ok && !values.keep) fs.rmSync(work, { recursive: true, force: true });
    else say(`kept ${work}`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
