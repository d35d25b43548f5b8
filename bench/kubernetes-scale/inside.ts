// The kubernetes-scale bench's driver, run by main.ts inside the test cluster's namespace (every address it talks
// to is there). Setup (not measured): Pods created and made Ready through the API, `serve --kubernetes` and a real
// Envoy started. Measured: one `kubectl apply --server-side` of every other object, until Envoy has every route
// and every pool endpoint and every HTTPRoute carries our Accepted parent; then one more Pod made Ready until it is
// in Envoy's EDS; the control plane's memory, CPU and status writes throughout.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { findEnvoy, projectRoot } from '../../src/util/envoy';
import { httpOk, sleep, stopProcess, waitFor } from '../../src/util/wait';
import { Api, apiRequestCounts, diffCounts, forEachLimit } from './api';
import * as m from './manifests';
import { envoyPoolEndpoints, envoyRoutes, envoyStats, processUsage, promSamples, sum } from './probes';

const ROOT = projectRoot();
const ENVOY_ADMIN = 'http://127.0.0.1:19000';
const SERVE_ADMIN = 'http://127.0.0.1:9091';
const { values } = parseArgs({
  options: {
    pods: { type: 'string' },
    pools: { type: 'string' },
    routes: { type: 'string' },
    'extra-pods': { type: 'string' },
    'timeout-s': { type: 'string' },
    'settle-s': { type: 'string' },
    'poll-ms': { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    provisioning: { type: 'boolean', default: false },
    work: { type: 'string' },
    result: { type: 'string' },
    cli: { type: 'string' },
  },
});
const sizes: m.Sizes = {
  pods: Number(values.pods),
  pools: Number(values.pools),
  routes: Number(values.routes),
};
const extraPods = Number(values['extra-pods']);
const timeoutMs = Number(values['timeout-s']) * 1000;
const settleMs = Number(values['settle-s']) * 1000;
const pollMs = Number(values['poll-ms']);
const work = values.work!;
// The CLI as main.ts built it for this run (bin/infergate.js of a private copy).
const cli = values.cli ?? path.join(ROOT, 'bin/infergate.js');
const api = new Api(process.env.KUBECONFIG!);
const children: ChildProcess[] = [];
const say = (s: string) => console.log(`[kubernetes-scale] ${s}`);
const since = (t0: number) => Math.round(performance.now() - t0);
const ns = `/api/v1/namespaces/${m.NS}`;

function start(cmd: string, args: string[], log: string): ChildProcess {
  const out = fs.openSync(path.join(work, log), 'w');
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', out, out] });
  children.push(child);
  return child;
}

async function createPods(): Promise<Record<string, number>> {
  const all = Array.from({ length: sizes.pods + extraPods }, (_, i) => i);
  let t = performance.now();
  await forEachLimit(all, 16, async (i) => {
    const name = i < sizes.pods ? m.podName(i) : `extra-${i - sizes.pods}`;
    await api.ok('POST', `${ns}/pods`, m.pod(name, m.poolOfPod(i, sizes.pools)));
  });
  const createMs = since(t);
  t = performance.now();
  // Only the first N become Ready now; the extra ones stay unready until phase 2 makes them Ready one by one.
  await forEachLimit(all, 16, async (i) => {
    const ready = i < sizes.pods;
    const name = ready ? m.podName(i) : `extra-${i - sizes.pods}`;
    await api.ok(
      'PATCH',
      `${ns}/pods/${name}/status`,
      m.podStatus(m.podIP(i), ready),
      'application/merge-patch+json',
    );
  });
  return { podsCreateMs: createMs, podsStatusMs: since(t) };
}

async function startServe(log: string, profile: boolean): Promise<{ child: ChildProcess; startMs: number }> {
  const t = performance.now();
  const prof = profile ? ['--cpu-prof', '--cpu-prof-dir', path.join(work, 'prof')] : [];
  // The bench's Envoy is the fleet (a user running their own); a managed Envoy Pod would never run here anyway
  // (nothing schedules or runs it), so provisioning is off unless asked for.
  const flags = values.provisioning ? [] : ['--disable-envoy-provisioning'];
  const child = start('node', [...prof, cli, 'serve', '--kubernetes', ...flags], log);
  await waitFor('serve /healthz', () => httpOk(`${SERVE_ADMIN}/healthz`), {
    timeoutMs: 120_000,
    everyMs: 100,
    abortIf: () => (child.exitCode !== null ? `serve exited ${child.exitCode} (see ${log})` : undefined),
  });
  return { child, startMs: since(t) };
}

async function startEnvoy(log: string): Promise<ChildProcess> {
  const gw = path.join(work, 'gateway.yaml');
  fs.writeFileSync(gw, m.toMultiDoc(m.gatewayDocs()));
  const boot = spawnSync(
    'node',
    [cli, 'compile', '--mode', 'ads', '--gateway', `${m.NS}/${m.GATEWAY}`, '--admin-port', '19000', gw],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (boot.status !== 0) throw new Error(`compile --mode ads failed: ${boot.stderr}`);
  const file = path.join(work, 'envoy.yaml');
  fs.writeFileSync(file, boot.stdout);
  const args = ['-c', file, '--base-id', '9', '-l', 'warning', '--disable-hot-restart'];
  const child = start(findEnvoy(), args, log);
  await waitFor('envoy admin', () => httpOk(`${ENVOY_ADMIN}/server_info`), {
    timeoutMs: 60_000,
    everyMs: 100,
    abortIf: () => (child.exitCode !== null ? `envoy exited ${child.exitCode} (see ${log})` : undefined),
  });
  return child;
}

interface Item {
  metadata: { name: string };
  status?: { parents?: { controllerName?: string; conditions?: { type: string; status: string }[] }[] };
}

/** How many objects of a list have one of our parents with condition `type` True. */
async function countOurs(listPath: string, type: string): Promise<number> {
  const list = await api.json<{ items: Item[] }>(listPath);
  return list.items.filter((i) =>
    (i.status?.parents ?? []).some(
      (p) =>
        (p.controllerName === undefined || p.controllerName === m.CONTROLLER) &&
        (p.conditions ?? []).some((c) => c.type === type && c.status === 'True'),
    ),
  ).length;
}

async function serveMetrics(): Promise<Record<string, number>> {
  const text = await (await fetch(`${SERVE_ADMIN}/metrics`)).text();
  const one = (name: string) => sum(promSamples(text, name));
  return {
    compiles: one('infergate_compile_duration_seconds_count'),
    compileSeconds: one('infergate_compile_duration_seconds_sum'),
    xdsPushes: one('infergate_xds_pushes_total'),
    nacks: one('infergate_xds_nacks_total'),
  };
}

/** The status writes serve's log reports ("status written" lines, each with how many objects it wrote). */
function loggedStatusWrites(): { passes: number; written: number; lastAt?: string } {
  let passes = 0;
  let written = 0;
  let lastAt: string | undefined;
  for (const line of fs.readFileSync(path.join(work, 'serve.log'), 'utf8').split('\n')) {
    if (!line.includes('"status written"')) continue;
    const o = JSON.parse(line) as { written: number; time: string };
    passes++;
    written += o.written;
    lastAt = o.time;
  }
  return { passes, written, lastAt };
}

// Status writes of the kinds serve writes (the bench's own Pod status patches and the scheduler's are not counted).
const STATUS_KINDS =
  /^PATCH (gatewayclasses|gateways|httproutes|inferencepools|inferenceobjectives|inferencemodelrewrites)\/status$/;
const statusWrites = (d: Record<string, number>) =>
  Object.fromEntries(Object.entries(d).filter(([k]) => STATUS_KINDS.test(k)));

interface Seen {
  endpoints: number;
  poolClusters: number;
  routes: number;
}

/**
 * Polls Envoy until it has `want.pools` pool clusters with `want.pods` hosts in all (marks envoyEndpoints) and a
 * route of each of `want.routes` HTTPRoutes (marks envoyRoutes), or the timeout. The route dump is read only when
 * an RDS update arrived since the last look.
 */
async function envoyConverged(
  t0: number,
  mark: (k: string) => void,
  want: m.Sizes,
  seen: Seen,
): Promise<void> {
  let lastRds = -1;
  let endpoints = false;
  let routes = false;
  while (!(endpoints && routes)) {
    if (since(t0) > timeoutMs) return;
    const s = await envoyStats(ENVOY_ADMIN).catch(() => undefined);
    if (s) {
      seen.endpoints = sum(s.poolHosts);
      seen.poolClusters = s.poolHosts.size;
      if (!endpoints && seen.poolClusters >= want.pools && seen.endpoints >= want.pods) {
        endpoints = true;
        mark('envoyEndpoints');
      }
      if (!routes && s.rdsUpdates !== lastRds) {
        lastRds = s.rdsUpdates;
        seen.routes = (await envoyRoutes(ENVOY_ADMIN)).size;
        if (seen.routes >= want.routes) {
          routes = true;
          mark('envoyRoutes');
        }
      }
    }
    await sleep(pollMs);
  }
}

async function measureApply(serve: ChildProcess) {
  const file = path.join(work, 'applied.yaml');
  const docs = m.appliedDocs(sizes);
  fs.writeFileSync(file, m.toMultiDoc(docs));
  const apiBefore = await apiRequestCounts(api);
  const cpuBefore = processUsage(serve.pid!).cpuSeconds;
  const marks: Record<string, number> = {};
  const timeline: Record<string, number>[] = [];
  const seen = { endpoints: 0, poolClusters: 0, routes: 0, accepted: 0, pools: 0 };
  say(`applying ${docs.length} objects (${sizes.pools} pools + EPP Services/slices, ${sizes.routes} routes)`);
  const t0 = performance.now();
  const mark = (k: string) => (marks[k] ??= since(t0));
  const apply = spawn('kubectl', ['apply', '--server-side', '-f', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let applyErr = '';
  apply.stderr!.on('data', (d: Buffer) => (applyErr += d.toString()));
  const applied = new Promise<number | null>((r) => apply.on('close', r)).then((code) => {
    mark('kubectlApplyReturned');
    if (code !== 0) throw new Error(`kubectl apply exited ${code}: ${applyErr}`);
  });
  const done = () => ['envoyRoutes', 'envoyEndpoints', 'allAccepted'].every((k) => marks[k] !== undefined);
  const envoyLoop = () => envoyConverged(t0, mark, { ...sizes }, seen);
  const statusLoop = async () => {
    // Until every route is Accepted and every pool has our parent (or 30 s more for the pools: a figure, not a gate).
    while (
      marks.allAccepted === undefined ||
      (marks.poolsAccepted === undefined && since(t0) < marks.allAccepted + 30_000)
    ) {
      if (since(t0) > timeoutMs) return;
      seen.accepted = await countOurs(
        '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes',
        'Accepted',
      );
      if (seen.accepted >= sizes.routes) mark('allAccepted');
      seen.pools = await countOurs(
        '/apis/inference.networking.k8s.io/v1/namespaces/default/inferencepools',
        'Accepted',
      );
      if (seen.pools >= sizes.pools) mark('poolsAccepted');
      timeline.push({ t: since(t0), ...seen });
      await sleep(1000);
    }
  };
  await Promise.all([applied, envoyLoop(), statusLoop()]);
  const convergedAt = since(t0);
  if (!done()) throw new Error(`not converged after ${timeoutMs} ms: ${JSON.stringify(seen)}`);
  const usage = processUsage(serve.pid!);
  const apiAtConvergence = diffCounts(apiBefore, await apiRequestCounts(api));
  const metricsAtConvergence = await serveMetrics();
  say(`converged in ${convergedAt} ms: ${JSON.stringify(marks)}`);
  // Quiet period: what the control plane still does (and writes) once everything is in place.
  await sleep(settleMs);
  const apiAfterSettle = diffCounts(apiBefore, await apiRequestCounts(api));
  return {
    objects: docs.length,
    marksMs: marks,
    timeline,
    serveAtConvergence: { ...usage, cpuSecondsSinceApply: usage.cpuSeconds - cpuBefore },
    serveMetricsAtConvergence: metricsAtConvergence,
    statusWritesAtConvergence: statusWrites(apiAtConvergence),
    statusWritesAfterSettle: statusWrites(apiAfterSettle),
    apiRequestsByServeAndBenchAfterSettle: apiAfterSettle,
  };
}

/** Phase 2: each extra Pod made Ready, until its pool cluster in Envoy has one more host. */
async function measureExtraPods() {
  const rows: { pod: string; patchMs: number; edsMs: number }[] = [];
  for (let k = 0; k < extraPods; k++) {
    const i = sizes.pods + k;
    const cluster = `inferencepool/${m.NS}/${m.poolName(m.poolOfPod(i, sizes.pools))}`;
    const before = (await envoyStats(ENVOY_ADMIN)).poolHosts.get(cluster) ?? 0;
    const t0 = performance.now();
    await api.ok(
      'PATCH',
      `${ns}/pods/extra-${k}/status`,
      m.podStatus(m.podIP(i), true),
      'application/merge-patch+json',
    );
    const patchMs = since(t0);
    await waitFor(
      `extra-${k} in ${cluster}`,
      async () => ((await envoyStats(ENVOY_ADMIN)).poolHosts.get(cluster) ?? 0) > before,
      { timeoutMs: 60_000, everyMs: 20 },
    );
    rows.push({ pod: `extra-${k}`, patchMs, edsMs: since(t0) });
    say(`extra-${k} Ready → in Envoy EDS: ${since(t0)} ms (status PATCH ${patchMs} ms)`);
    await sleep(2000);
  }
  return rows;
}

/** What one admin read costs Envoy at this size (the probes poll these; they share Envoy's main thread with xDS). */
async function probeCost() {
  const time = async (f: () => Promise<unknown>) => {
    const t = performance.now();
    await f();
    return since(t);
  };
  return {
    statsFilterMs: await time(() => envoyStats(ENVOY_ADMIN)),
    routeDumpMs: await time(() => envoyRoutes(ENVOY_ADMIN)),
    clustersMs: await time(() => envoyPoolEndpoints(ENVOY_ADMIN)),
  };
}

/**
 * Phase 3: the control plane restarted with everything already in the cluster, and a fresh Envoy: from the new
 * process's start to Envoy having it all (the informers' first lists at scale, one compile), its memory without
 * the apply's churn, and what its status writer does with statuses that are already right (it should write none).
 */
async function measureRestart(oldServe: ChildProcess, oldEnvoy: ChildProcess) {
  await stopProcess(oldServe, { killAfterMs: 20_000 });
  await stopProcess(oldEnvoy);
  const apiBefore = await apiRequestCounts(api);
  const marks: Record<string, number> = {};
  const seen = { endpoints: 0, poolClusters: 0, routes: 0 };
  const t0 = performance.now();
  const mark = (k: string) => (marks[k] ??= since(t0));
  // Envoy starts once serve is healthy (xDS serves only after the first lists): else Envoy's own reconnect
  // backoff would be in the figure.
  const { child: serve } = await startServe('serve-restarted.log', false);
  mark('serveHealthy');
  const envoy = await startEnvoy('envoy-restarted.log');
  mark('envoyStarted');
  await envoyConverged(t0, mark, { ...sizes, pods: sizes.pods + extraPods }, seen);
  if (marks.envoyEndpoints === undefined || marks.envoyRoutes === undefined)
    throw new Error(`restart: not converged after ${timeoutMs} ms: ${JSON.stringify(seen)}`);
  const usage = processUsage(serve.pid!);
  say(`restarted serve + fresh Envoy converged: ${JSON.stringify(marks)}`);
  // The new process takes the Lease once the old one released it, then writes what differs (nothing, here).
  await sleep(Math.max(settleMs, 10_000));
  const d = diffCounts(apiBefore, await apiRequestCounts(api));
  const statusReads = Object.fromEntries(
    Object.entries(d).filter(([k]) => /^GET (gatewayclasses|gateways|httproutes|inferencepools)$/.test(k)),
  );
  return {
    marksMs: marks,
    serveAtConvergence: usage,
    serveAfterSettle: processUsage(serve.pid!),
    serveMetrics: await serveMetrics(),
    statusWrites: statusWrites(d),
    statusReads,
    serve,
    envoy,
  };
}

async function main() {
  const setup: Record<string, number> = {};
  say(`setup: ${sizes.pods} Ready Pods (+${extraPods} unready) in ${sizes.pools} pools`);
  Object.assign(setup, await createPods());
  const { child: serve, startMs } = await startServe('serve.log', !!values['cpu-prof']);
  setup.serveStartToHealthyMs = startMs;
  const envoy = await startEnvoy('envoy.log');
  say(`setup done: ${JSON.stringify(setup)}`);
  const apiStart = await apiRequestCounts(api);
  const apply = await measureApply(serve);
  const extra = await measureExtraPods();
  const apiEnd = diffCounts(apiStart, await apiRequestCounts(api));
  const expected = new Set<string>();
  for (let i = 0; i < sizes.pods + extraPods; i++)
    expected.add(
      `inferencepool/${m.NS}/${m.poolName(m.poolOfPod(i, sizes.pools))} ${m.podIP(i)}:${m.TARGET_PORT}`,
    );
  const got = await envoyPoolEndpoints(ENVOY_ADMIN);
  const missing = [...expected].filter((e) => !got.has(e));
  const unexpected = [...got].filter((e) => !expected.has(e));
  const first = {
    sizes,
    setupMs: setup,
    apply,
    extraPods: extra,
    envoyEndpointCheck: {
      expected: expected.size,
      got: got.size,
      missing: missing.length,
      unexpected: unexpected.length,
    },
    envoyAdminProbeCost: await probeCost(),
    serveFinal: processUsage(serve.pid!),
    serveMetricsFinal: await serveMetrics(),
    statusWritesLogged: loggedStatusWrites(),
    statusWritesFinal: statusWrites(apiEnd),
    apiRequestsFinal: apiEnd,
    envoyFinal: processUsage(envoy.pid!),
  };
  const { serve: serve2, envoy: envoy2, ...restart } = await measureRestart(serve, envoy);
  await stopProcess(serve2, { killAfterMs: 20_000 });
  await stopProcess(envoy2);
  fs.writeFileSync(values.result!, JSON.stringify({ ...first, restart }, null, 2));
}

main()
  .catch((err) => {
    console.error(`[kubernetes-scale] failed: ${(err as Error).stack ?? err}`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    api.close();
  });
