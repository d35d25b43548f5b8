// bench/kubernetes-scale: `infergate serve --kubernetes` at scale on the real test cluster (scripts/cluster). Brings
// a cluster up, runs inside.ts in its namespace (setup, then the measured apply, one more Pod, memory, CPU,
// status writes), writes bench/results/kubernetes-scale.json and brings the cluster down, on failure too.
// Run: npx ts-node --transpile-only bench/kubernetes-scale/main.ts [--pods 1000] [--pools 100] [--routes 1000]
//   [--extra-pods 5] [--timeout-s 900] [--settle-s 10] [--poll-ms 100] [--cpu-prof] [--provisioning] [--keep] [--out FILE]
// Sizes also come from INFERGATE_BENCH_PODS / _POOLS / _ROUTES / _EXTRA_PODS. Needs `make cluster-tools` and `make
// setup` (Envoy). The CLI it measures is built from the working tree into the run's own directory first.

import { spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Cluster, clusterToolsMissing } from '../../test/cluster/cluster';
import { projectRoot } from '../../src/util/envoy';
import { summarize } from './profile';

const ROOT = projectRoot();
const env = (k: string, d: string) => process.env[`INFERGATE_BENCH_${k}`] ?? d;
const { values } = parseArgs({
  options: {
    pods: { type: 'string', default: env('PODS', '1000') },
    pools: { type: 'string', default: env('POOLS', '100') },
    routes: { type: 'string', default: env('ROUTES', '1000') },
    'extra-pods': { type: 'string', default: env('EXTRA_PODS', '5') },
    'timeout-s': { type: 'string', default: '900' },
    'settle-s': { type: 'string', default: '10' },
    'poll-ms': { type: 'string', default: '100' },
    'cpu-prof': { type: 'boolean', default: false },
    provisioning: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(ROOT, 'bench/results/kubernetes-scale.json') },
  },
});
const say = (s: string) => console.log(`[kubernetes-scale] ${s}`);

/**
 * Builds the working tree into WORK/build (bin/, package.json, links to node_modules and .tools): dist/ is shared
 * with whoever rebuilds it next, and a run must measure one build, named by the commit it was made from.
 */
function privateBuild(work: string): {
  cli: string;
  buildMs: number;
  revision: string;
  changedFiles: number;
} {
  const dir = path.join(work, 'build');
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'bin/infergate.js'), path.join(dir, 'bin/infergate.js'));
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  if (fs.existsSync(path.join(ROOT, '.tools')))
    fs.symlinkSync(path.join(ROOT, '.tools'), path.join(dir, '.tools'));
  const git = (...a: string[]) => spawnSync('git', a, { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  const revision = git('rev-parse', '--short', 'HEAD');
  const changedFiles = git('status', '--porcelain', '--', 'src', 'generated')
    .split('\n')
    .filter(Boolean).length;
  const t = performance.now();
  // Type errors in files being edited by others do not stop the emit; a missing main.js does.
  const r = spawnSync(
    'nice',
    [
      'npx',
      'tsc',
      '-p',
      'tsconfig.build.json',
      '--outDir',
      path.join(dir, 'dist'),
      '--tsBuildInfoFile',
      path.join(dir, 'tsbuildinfo'),
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  const cli = path.join(dir, 'bin/infergate.js');
  if (!fs.existsSync(path.join(dir, 'dist/src/cli/main.js')))
    throw new Error(`build failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return { cli, buildMs: Math.round(performance.now() - t), revision, changedFiles };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
  });
}

async function main(): Promise<number> {
  const missing = clusterToolsMissing();
  if (missing) {
    console.error(`kubernetes-scale needs the cluster tools (make cluster-tools):\n${missing}`);
    return 2;
  }
  for (const k of ['pods', 'pools', 'routes', 'extra-pods'] as const)
    if (!(Number(values[k]) >= (k === 'extra-pods' ? 0 : 1)))
      throw new Error(`--${k}: not a count: ${values[k]}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-kscale-'));
  const cluster = new Cluster(path.join(work, 'cluster'));
  let inside: ChildProcess | undefined;
  let downing: Promise<unknown> | undefined;
  const down = () => (downing ??= cluster.down());
  const onSignal = (sig: NodeJS.Signals) => {
    say(`${sig}: stopping, bringing the cluster down`);
    inside?.kill('SIGKILL');
    void down().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let ok = false;
  try {
    say('building the working tree (npx tsc -p tsconfig.build.json --outDir in the run directory)');
    const build = privateBuild(work);
    say(
      `built ${build.revision} (+${build.changedFiles} changed files under src/, generated/) in ${build.buildMs} ms`,
    );
    let t = performance.now();
    say(`cluster up in ${work}`);
    await cluster.up();
    const clusterUpMs = Math.round(performance.now() - t);
    const resultFile = path.join(work, 'result.json');
    const args = [
      ...['--pods', values.pods!, '--pools', values.pools!, '--routes', values.routes!],
      ...['--extra-pods', values['extra-pods']!, '--timeout-s', values['timeout-s']!],
      ...['--settle-s', values['settle-s']!, '--poll-ms', values['poll-ms']!],
      ...(values['cpu-prof'] ? ['--cpu-prof'] : []),
      ...(values.provisioning ? ['--provisioning'] : []),
      ...['--work', work, '--result', resultFile, '--cli', build.cli],
    ];
    t = performance.now();
    inside = cluster.spawn([
      'node',
      '-r',
      'ts-node/register/transpile-only',
      'bench/kubernetes-scale/inside.ts',
      ...args,
    ]);
    inside.stdout!.pipe(process.stdout);
    inside.stderr!.pipe(process.stderr);
    // The driver has its own convergence timeout; this one bounds setup and everything else.
    const limit = setTimeout(() => inside?.kill('SIGKILL'), (Number(values['timeout-s']) + 900) * 1000);
    const code = await exited(inside);
    clearTimeout(limit);
    if (code !== 0) throw new Error(`inside.ts exited ${code} (logs in ${work}: serve.log, envoy.log)`);
    const result = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as Record<string, unknown>;
    const profDir = path.join(work, 'prof');
    const profiles = fs.existsSync(profDir)
      ? fs.readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'))
      : [];
    let cpuProfile: unknown;
    if (profiles.length) {
      const src = path.join(profDir, profiles[0]);
      cpuProfile = summarize(src, 25);
      fs.copyFileSync(src, values.out!.replace(/\.json$/, '') + '.cpuprofile');
    }
    const report = {
      bench: 'kubernetes-scale',
      command:
        `npx ts-node --transpile-only bench/kubernetes-scale/main.ts ${process.argv.slice(2).join(' ')}`.trim(),
      date: new Date().toISOString(),
      // The commit the build was made from, and how many files under src/ and generated/ differed from it then
      // (others edit the same tree).
      revision: build.revision,
      uncommittedFilesInBuild: build.changedFiles,
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        memGiB: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        loadAvgAtEnd: os.loadavg().map((x) => Math.round(x * 10) / 10),
      },
      ...result,
      setupMs: { build: build.buildMs, clusterUp: clusterUpMs, ...(result.setupMs as object) },
      driverTotalMs: Math.round(performance.now() - t),
      cpuProfile,
    };
    fs.mkdirSync(path.dirname(values.out!), { recursive: true });
    fs.writeFileSync(values.out!, JSON.stringify(report, null, 2) + '\n');
    printSummary(report as unknown as Summary);
    say(`report: ${path.relative(process.cwd(), values.out!)}`);
    ok = true;
    return 0;
  } finally {
    inside?.kill('SIGKILL');
    const r = await down();
    say(`cluster down (${(r as { code: number | null }).code === 0 ? 'ok' : 'FAILED'})`);
    // A failed run keeps its logs (serve.log, envoy.log, the cluster's logs/).
    if (ok && !values.keep) fs.rmSync(work, { recursive: true, force: true });
    else say(`kept ${work}`);
  }
}

interface Summary {
  sizes: { pods: number; pools: number; routes: number };
  apply: {
    objects: number;
    marksMs: Record<string, number>;
    serveAtConvergence: { rssMiB: number; hwmMiB: number; cpuSecondsSinceApply: number };
    statusWritesAtConvergence: Record<string, number>;
    statusWritesAfterSettle: Record<string, number>;
  };
  extraPods: { edsMs: number }[];
  serveFinal: { rssMiB: number; hwmMiB: number; cpuSeconds: number };
  restart: {
    marksMs: Record<string, number>;
    serveAtConvergence: { rssMiB: number; hwmMiB: number; cpuSeconds: number };
    statusWrites: Record<string, number>;
    statusReads: Record<string, number>;
  };
}

function printSummary(r: Summary) {
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const total = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  const a = r.apply;
  const mk = a.marksMs;
  const lines = [
    `${r.sizes.pods} Pods, ${r.sizes.pools} InferencePools, ${r.sizes.routes} HTTPRoutes; ${a.objects} objects applied`,
    `kubectl apply returned            ${mk.kubectlApplyReturned} ms`,
    `Envoy has every pool endpoint     ${mk.envoyEndpoints} ms`,
    `Envoy has every route             ${mk.envoyRoutes} ms`,
    `every HTTPRoute Accepted (ours)   ${mk.allAccepted} ms`,
    `every InferencePool Accepted      ${mk.poolsAccepted ?? 'not within 30 s more'} ms`,
    `one more Pod Ready → Envoy EDS     median ${med(r.extraPods.map((x) => x.edsMs))} ms of ${r.extraPods.map((x) => x.edsMs).join(', ')}`,
    `serve at convergence              RSS ${a.serveAtConvergence.rssMiB.toFixed(0)} MiB, peak ${a.serveAtConvergence.hwmMiB.toFixed(0)} MiB, CPU ${a.serveAtConvergence.cpuSecondsSinceApply.toFixed(1)} s since the apply`,
    `serve at the end                  RSS ${r.serveFinal.rssMiB.toFixed(0)} MiB, peak ${r.serveFinal.hwmMiB.toFixed(0)} MiB, CPU ${r.serveFinal.cpuSeconds.toFixed(1)} s in all`,
    `status writes until convergence   ${total(a.statusWritesAtConvergence)} ${JSON.stringify(a.statusWritesAtConvergence)}`,
    `status writes incl. settle        ${total(a.statusWritesAfterSettle)}`,
    `restart: serve healthy            ${r.restart.marksMs.serveHealthy} ms after its start`,
    `restart: fresh Envoy has it all   ${Math.max(r.restart.marksMs.envoyRoutes, r.restart.marksMs.envoyEndpoints)} ms after serve's start (Envoy started at ${r.restart.marksMs.envoyStarted} ms)`,
    `restart: serve at convergence     RSS ${r.restart.serveAtConvergence.rssMiB.toFixed(0)} MiB, peak ${r.restart.serveAtConvergence.hwmMiB.toFixed(0)} MiB, CPU ${r.restart.serveAtConvergence.cpuSeconds.toFixed(1)} s`,
    `restart: status writes            ${total(r.restart.statusWrites)} (status GETs ${total(r.restart.statusReads)})`,
  ];
  for (const l of lines) say(l);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`[kubernetes-scale] ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
