// How fast a change to a pool's Pods reaches Envoy's EDS and the EPP's candidates, measured inside the test
// cluster's namespace. Watches the Pods (the API server's watch stream, via kubectl get --raw) and polls Envoy's
// admin /clusters and the EPP's /metrics every 20 ms; prints one JSON line with, in ms since it started, when the
// API first showed WANT ready pods, when EDS did and when the EPP did, then exits (or after TIMEOUT ms).
//   node -r ts-node/register/transpile-only test/kubernetes/tools/propagation.ts \
//     NAMESPACE LABEL_SELECTOR WANT ENVOY_ADMIN_URL EPP_METRICS_URL PORT [TIMEOUT_MS]

import { execFileSync, spawn } from 'node:child_process';

const [namespace, selector, wantText, envoyAdmin, eppMetrics, port, timeoutText] = process.argv.slice(2);
const want = Number(wantText);
const start = Date.now();
const seen: { api?: number; eds?: number; epp?: number } = {};
const ready = new Map<string, boolean>();

interface PodEvent {
  type: string;
  object: {
    metadata: { name: string; deletionTimestamp?: string };
    status?: { conditions?: { type: string; status: string }[] };
  };
}

interface PodList {
  metadata: { resourceVersion: string };
  items: PodEvent['object'][];
}

// As an endpoint: Ready and not terminating (what EDS and the EPP count).
const isReady = (o: PodEvent['object']) =>
  !o.metadata.deletionTimestamp &&
  (o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false);
const base = `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`;

// List first, then watch from the list's resourceVersion: the watch then carries changes only (a bare watch starts
// with one ADDED event per existing pod, whose running count would pass through WANT before anything changed).
const list = JSON.parse(execFileSync('kubectl', ['get', '--raw', base], { encoding: 'utf8' })) as PodList;
for (const p of list.items) ready.set(p.metadata.name, isReady(p));
const watch = spawn('kubectl', [
  'get',
  '--raw',
  `${base}&watch=1&resourceVersion=${list.metadata.resourceVersion}`,
]);
let buf = '';
watch.stdout.on('data', (d: Buffer) => {
  buf += d.toString();
  for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    if (!line.trim()) continue;
    const ev = JSON.parse(line) as PodEvent;
    if (ev.type === 'DELETED') ready.delete(ev.object.metadata.name);
    else ready.set(ev.object.metadata.name, isReady(ev.object));
    const n = [...ready.values()].filter(Boolean).length;
    if (n === want && seen.api === undefined) seen.api = Date.now() - start;
  }
});

async function text(url: string): Promise<string> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return await r.text();
  } catch {
    return '';
  }
}

// Two independent loops: a slow answer from one side never delays the other's timestamp.
async function pollEnvoy(): Promise<void> {
  const clusters = await text(`${envoyAdmin}/clusters`);
  const eds = new Set<string>();
  for (const m of clusters.matchAll(
    new RegExp(`::(10\\.244\\.\\d+\\.\\d+:${port})::health_flags::healthy`, 'g'),
  ))
    eds.add(m[1]);
  if (clusters && eds.size === want && seen.eds === undefined) seen.eds = Date.now() - start;
}

async function pollEpp(): Promise<void> {
  const m = /^inference_pool_ready_pods\{[^}]*\} (\d+)/m.exec(await text(eppMetrics));
  if (m && Number(m[1]) === want && seen.epp === undefined) seen.epp = Date.now() - start;
}

const timeout = Number(timeoutText ?? 30_000);
const loop = async (poll: () => Promise<void>, done: () => boolean) => {
  while (Date.now() - start < timeout && !done()) {
    await poll();
    await new Promise((r) => setTimeout(r, 20));
  }
};
console.log('watching');
void Promise.all([
  loop(pollEnvoy, () => seen.eds !== undefined),
  loop(pollEpp, () => seen.epp !== undefined),
]).then(async () => {
  while (seen.api === undefined && Date.now() - start < timeout) await new Promise((r) => setTimeout(r, 20));
  watch.kill();
  console.log(JSON.stringify(seen));
  process.exit(0);
});
