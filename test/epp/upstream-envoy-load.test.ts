// Sustained load through an Envoy configured the way upstream configures it (one HTTP/2 connection to the EPP,
// no max_requests_per_connection, FULL_DUPLEX_STREAMED, TLS: test/testdata/epp/upstream-style-envoy.yaml) and a
// real `infergate epp` process. Envoy resets every ext_proc stream when its request completes; without the
// reset shield (src/epp/server/reset-shield.ts) nghttp2 GOAWAYs the connection after ~1,000 resets and the
// streams in flight fail with 500. Asserts counts only: every request 200, and Envoy saw no GOAWAY, no refused
// stream and no failed ext_proc stream, with thousands of resets on its EPP connection. Twice: over TLS with 16
// requests in flight, and over h2c (as the peers' side-by-side Envoy reaches the EPP) with 64 in flight, so
// frames of many streams share each read and the shield's batched writes carry many streams' frames.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DOC, inferencePool, readyPod } from '../../src/util/manifests';
import { httpOk, stopProcess, waitFor } from '../../src/util/wait';
import { startBackend, type Backend } from '../support/backend';
import { envoyStat, freePort, startEnvoy, tmpDir, type RunningEnvoy } from '../support/envoy';

const PODS = ['127.0.0.91', '127.0.0.92', '127.0.0.93'];
/** Well past nghttp2's burst of 1,000 resets plus its refill of 33/s for as long as this takes on a slow machine. */
const REQUESTS = 3000;

/** The template's TLS transport socket removed: the EPP cluster speaks h2c. */
const h2c = (yaml: string) => {
  const out = yaml.replace(/ {4}transport_socket:\n(?: {6}.*\n)+?(?= {4}load_assignment:)/, '');
  if (out === yaml) throw new Error('upstream-style-envoy.yaml: no transport_socket to remove');
  return out;
};

describe.each([
  { transport: 'TLS', tls: true, IN_FLIGHT: 16 },
  { transport: 'h2c', tls: false, IN_FLIGHT: 64 },
])('infergate epp under sustained load behind an upstream-style Envoy ($transport)', ({ tls, IN_FLIGHT }) => {
  const backends: Backend[] = [];
  let epp: ChildProcess | undefined;
  let envoy: RunningEnvoy | undefined;
  let base: string;
  let adminPort: number;
  let logs = () => '';

  beforeAll(async () => {
    backends.push(await startBackend('pod0', PODS[0]));
    for (let i = 1; i < PODS.length; i++)
      backends.push(await startBackend(`pod${i}`, PODS[i], backends[0].port));
    const dir = tmpDir('upstream-load');
    fs.writeFileSync(
      path.join(dir, 'pool.yaml'),
      [
        inferencePool('pool', { app: 'model', targetPorts: [backends[0].port] }),
        ...PODS.map((ip, i) => readyPod(`model-${i}`, 'model', ip)),
      ].join(DOC),
    );
    const [eppPort, metricsPort, listenPort] = [await freePort(), await freePort(), await freePort()];
    adminPort = await freePort();
    const bin = path.join(__dirname, '..', '..', 'bin', 'infergate.js');
    const args = ['epp', '--pool', 'pool', '--address', '127.0.0.1', ...(tls ? ['--secure-serving'] : [])];
    args.push('--grpc-port', String(eppPort), '--metrics-port', String(metricsPort), dir);
    let eppLogs = '';
    logs = () => eppLogs;
    const child = spawn(process.execPath, [bin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, INFERGATE_LOG_LEVEL: 'warn' },
    });
    epp = child;
    child.stdout!.on('data', (d: Buffer) => (eppLogs = (eppLogs + d.toString()).slice(-10_000)));
    child.stderr!.on('data', (d: Buffer) => (eppLogs = (eppLogs + d.toString()).slice(-10_000)));
    await waitFor('the EPP to serve', () => httpOk(`http://127.0.0.1:${metricsPort}/metrics`), {
      timeoutMs: 60_000,
      everyMs: 200,
      abortIf: () => (child.exitCode !== null ? `infergate epp exited:\n${eppLogs}` : undefined),
    });
    const file = fs.readFileSync(
      path.join(__dirname, '..', 'testdata', 'epp', 'upstream-style-envoy.yaml'),
      'utf8',
    );
    const template = tls ? file : h2c(file);
    envoy = await startEnvoy(
      template
        .replace('${ADMIN_PORT}', String(adminPort))
        .replace('${LISTEN_PORT}', String(listenPort))
        .replace('${EPP_PORT}', String(eppPort)),
      adminPort,
    );
    base = `http://127.0.0.1:${listenPort}`;
  }, 90_000);

  afterAll(async () => {
    await envoy?.stop();
    if (epp) await stopProcess(epp);
    await Promise.all(backends.map((b) => b.close()));
  });

  const stat = async (name: string) => (await envoyStat(adminPort, name)) ?? 0;

  it(`${REQUESTS} requests, ${IN_FLIGHT} at a time, over one EPP connection: all 200, no GOAWAY`, async () => {
    const statuses: Record<string, number> = {};
    let next = 0;
    const prompt = 'Tell me about the gateway. '.repeat(38); // ~1 KB
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < REQUESTS) {
          const n = next++;
          let status: string;
          try {
            const res = await fetch(`${base}/v1/completions`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ model: 'm', prompt: `${prompt} #${n}`, max_tokens: 1 }),
            });
            await res.arrayBuffer();
            status = String(res.status);
          } catch (err) {
            status = (err as Error).message;
          }
          statuses[status] = (statuses[status] ?? 0) + 1;
        }
      }),
    );
    const c = 'cluster.ext_proc.';
    const seen = {
      streams: await stat(`${c}upstream_rq_total`),
      connections: await stat(`${c}upstream_cx_total`),
      resetsSent: await stat(`${c}http2.tx_reset`),
      goaways: await stat(`${c}upstream_cx_close_notify`),
      protocolErrors: await stat(`${c}upstream_cx_protocol_error`),
      destroyedWithActive: await stat(`${c}upstream_cx_destroy_remote_with_active_rq`),
      remoteResets: await stat(`${c}upstream_rq_rx_reset`),
      refused: await stat(`${c}upstream_rq_5xx`),
      failedStreams: await stat('http.http.ext_proc.streams_failed'),
    };
    // Statuses with Envoy's counters, so a failure shows both (and the EPP's last warnings).
    const failed = Object.keys(statuses).length > 1;
    const logTails = failed ? { epp: logs(), envoy: envoy!.logs().slice(-4000) } : {};
    expect({ statuses, seen, logTails }).toMatchObject({
      statuses: { 200: REQUESTS },
    });
    expect(Object.keys(statuses)).toEqual(['200']);
    // The load really went through the guard: thousands of Envoy resets on (at most) a couple of connections.
    expect(seen.streams).toBeGreaterThanOrEqual(REQUESTS);
    expect(seen.resetsSent).toBeGreaterThan(2000);
    expect(seen.connections).toBeLessThanOrEqual(2);
    expect(seen).toMatchObject({
      goaways: 0,
      protocolErrors: 0,
      destroyedWithActive: 0,
      remoteResets: 0,
      refused: 0,
      failedStreams: 0,
    });
  }, 300_000);
});
