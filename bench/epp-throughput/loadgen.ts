// The load generator of bench/epp-throughput. It runs in a child process of its own (so its CPU is not the EPP's
// or Envoy's): plain JavaScript, handed to `node -e`, configured by the BENCH_LOAD environment variable, and it
// prints one JSON line (LoadResult) on stdout.

export interface LoadConfig {
  url: string;
  /** Extra request headers (the route selector). */
  headers: Record<string, string>;
  /** Prompt size in bytes; `prefixes` distinct shared prefixes of half of it, a per-request tail for the rest. */
  promptBytes: number;
  prefixes: number;
  model: string;
  durationMs: number;
  /** Open loop: requests per second, started on schedule whatever the latency. */
  rate?: number;
  /** Closed loop: this many requests in flight at all times. */
  concurrency?: number;
  /** Open loop gives up on a step with this many requests in flight. */
  maxInFlight: number;
}

export interface LoadResult {
  sent: number;
  ok: number;
  errors: number;
  dropped: number;
  statuses: Record<string, number>;
  seconds: number;
  rps: number;
  /** Milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

export const LOADGEN_JS = String.raw`
'use strict';
const http = require('node:http');
const cfg = JSON.parse(process.env.BENCH_LOAD);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
const url = new URL(cfg.url);
const half = Math.floor(cfg.promptBytes / 2);
const prefixes = [];
for (let i = 0; i < cfg.prefixes; i++) {
  const unit = 'System prompt ' + i + ': you are a careful assistant for tenant ' + i + '. ';
  prefixes.push(unit.repeat(Math.ceil(half / unit.length) + 1).slice(0, half));
}
const tailUnit = 'question about the weather and the gateway ';
const tail = tailUnit.repeat(Math.ceil((cfg.promptBytes - half) / tailUnit.length) + 1);
let n = 0;
function body() {
  const i = n++;
  const suffix = ' #' + i + ' ';
  const t = suffix + tail.slice(0, Math.max(0, cfg.promptBytes - half - suffix.length));
  return Buffer.from(JSON.stringify({ model: cfg.model, prompt: prefixes[i % prefixes.length] + t, max_tokens: 1 }));
}
const lat = [];
const statuses = {};
let sent = 0, ok = 0, errors = 0, dropped = 0, inFlight = 0;
let stopping = false;
const t0 = performance.now();
function one(done) {
  const b = body();
  const start = performance.now();
  sent++;
  inFlight++;
  const req = http.request({
    agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST',
    headers: Object.assign({ 'content-type': 'application/json', 'content-length': b.length }, cfg.headers),
  }, (res) => {
    res.on('data', () => {});
    res.on('end', () => {
      inFlight--;
      statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1;
      if (res.statusCode === 200) { ok++; lat.push(performance.now() - start); } else errors++;
      done();
    });
  });
  req.on('error', () => { inFlight--; errors++; statuses.error = (statuses.error || 0) + 1; done(); });
  req.end(b);
}
function finish() {
  const seconds = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : NaN);
  const mean = lat.length ? lat.reduce((a, b) => a + b, 0) / lat.length : NaN;
  process.stdout.write(JSON.stringify({ sent, ok, errors, dropped, statuses, seconds, rps: ok / seconds,
    p50: q(0.5), p90: q(0.9), p99: q(0.99), mean }) + '\n');
  agent.destroy();
  process.exit(0);
}
const noop = () => {};
if (cfg.rate) {
  const timer = setInterval(() => {
    const elapsed = performance.now() - t0;
    if (elapsed >= cfg.durationMs) {
      clearInterval(timer);
      stopping = true;
      const wait = setInterval(() => { if (inFlight === 0) { clearInterval(wait); finish(); } }, 5);
      setTimeout(() => { clearInterval(wait); finish(); }, 5000);
      return;
    }
    const due = Math.floor((elapsed * cfg.rate) / 1000) - sent - dropped;
    for (let i = 0; i < due; i++) {
      if (inFlight >= cfg.maxInFlight) { dropped++; continue; }
      one(noop);
    }
  }, 1);
} else {
  const loop = () => { if (!stopping) one(loop); };
  for (let i = 0; i < cfg.concurrency; i++) loop();
  setTimeout(() => {
    stopping = true;
    const wait = setInterval(() => { if (inFlight === 0) { clearInterval(wait); finish(); } }, 5);
    setTimeout(() => { clearInterval(wait); finish(); }, 5000);
  }, cfg.durationMs);
}
`;
