// bench/epp-decision: microseconds per request for the whole EPP decision (body parse, prefix hashing, scoring,
// pick) with 8/100/500 endpoints and 1 KB/16 KB/220 KB prompts, inline vs the worker parser; plus the parse-only
// inline vs worker round trip by body size, which sets the worker threshold. Writes bench/results/epp-decision.json.
// Run: npx ts-node --transpile-only -e "require('./bench/epp-decision/run').main([])"  [--iters N]

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { emptyResourceSet } from '../../src/api/types';
import { parseEndpointPickerConfig, DEFAULT_CONFIG_YAML } from '../../src/epp/config/loader';
import { Datastore } from '../../src/epp/datastore/datastore';
import { createDirector } from '../../src/epp/director';
import { parseRequestBody } from '../../src/epp/extproc/parse';
import type { ParseOutcome } from '../../src/epp/extproc/parser';
import { EppMetrics } from '../../src/epp/observability/metrics';
import { WorkerParser } from '../../src/epp/workers/pool';

const SIZES = { '1KB': 1024, '16KB': 16 * 1024, '220KB': 220 * 1024 };
const PODS = [8, 100, 500];

function body(bytes: number, i: number): Buffer {
  // A shared system-prompt prefix (for prefix affinity) and a per-request tail.
  const prefix = 'You are a helpful assistant. '.repeat(Math.ceil(bytes / 58)).slice(0, bytes / 2);
  const tail = `request ${i} `.repeat(Math.ceil(bytes / 20)).slice(0, bytes / 2);
  return Buffer.from(JSON.stringify({ model: 'llama', prompt: prefix + tail, max_tokens: 16 }));
}

function datastore(n: number): Datastore {
  const rs = emptyResourceSet();
  rs.inferencePools.push({
    apiVersion: 'inference.networking.k8s.io/v1',
    kind: 'InferencePool',
    metadata: { name: 'pool', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'vllm' } }, targetPorts: [{ number: 8000 }] },
  });
  for (let i = 0; i < n; i++) {
    rs.pods.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `pod-${i}`, namespace: 'default', labels: { app: 'vllm' } },
      status: {
        podIP: `10.${i >> 16}.${(i >> 8) & 255}.${(i & 255) + 1}`,
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    });
  }
  const ds = new Datastore({ name: 'pool', namespace: 'default' });
  ds.apply(rs);
  for (const [k, e] of ds.endpoints().entries()) {
    ds.updateMetrics(e.endpoint.key, {
      waitingQueueSize: k % 7,
      runningRequestsSize: k % 5,
      kvCacheUsagePercent: (k % 10) / 20,
      activeModels: [],
      waitingModels: [],
      maxActiveModels: 4,
      updateTime: Date.now() + 3_600_000,
    });
  }
  return ds;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function timeIt(
  iters: number,
  f: (i: number) => Promise<unknown>,
): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < Math.min(50, iters); i++) await f(i);
  const xs: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t = performance.now();
    await f(i);
    xs.push((performance.now() - t) * 1000);
  }
  return { p50: Math.round(pct(xs, 50)), p99: Math.round(pct(xs, 99)) };
}

export async function main(args: string[]): Promise<number> {
  const iters = Number(args[args.indexOf('--iters') + 1]) || 400;
  const workers = new WorkerParser({ threads: 1, thresholdBytes: 0 });
  await workers.warm();
  const parseRows: Record<string, unknown>[] = [];
  for (const kb of [1, 4, 16, 32, 64, 128, 220, 1024]) {
    const bodies = Array.from({ length: 16 }, (_, i) => body(kb * 1024, i));
    const inline = await timeIt(iters, async (i) => parseRequestBody('/v1/completions', bodies[i % 16]));
    const worker = await timeIt(iters, (i) => workers.parse('/v1/completions', bodies[i % 16]));
    parseRows.push({
      bodyKB: kb,
      inlineP50us: inline.p50,
      inlineP99us: inline.p99,
      workerP50us: worker.p50,
      workerP99us: worker.p99,
    });
  }
  console.table(parseRows);

  const config = parseEndpointPickerConfig(DEFAULT_CONFIG_YAML);
  const hashing = new WorkerParser({
    threads: 1,
    thresholdBytes: 0,
    hash: () => ({ blockChars: 64, maxBlocks: 256 }),
  });
  await hashing.warm();
  const rows: Record<string, unknown>[] = [];
  for (const n of PODS) {
    const ds = datastore(n);
    const director = createDirector({ datastore: ds, config, metrics: new EppMetrics() });
    for (const [label, bytes] of Object.entries(SIZES)) {
      const bodies = Array.from({ length: 32 }, (_, i) => body(bytes, i));
      for (const mode of ['inline', 'workers'] as const) {
        const r = await timeIt(iters, async (i) => {
          const b = bodies[i % 32];
          const out: ParseOutcome =
            mode === 'inline'
              ? parseRequestBody('/v1/completions', b)
              : await hashing.parse('/v1/completions', b);
          if (!out.ok) throw new Error(out.message);
          const stream = {};
          const d = await director.decide({
            stream,
            requestId: String(i),
            headers: {},
            path: '/v1/completions',
            parsed: out.parsed,
            prefixHashes: out.prefixHashes,
            prefixHashesModel: out.prefixHashesModel,
            prefixHashesParams: out.prefixHashesParams,
          });
          if (d.kind === 'route')
            director.complete({
              stream,
              requestId: String(i),
              status: 200,
              durationSeconds: 0,
              streaming: false,
            });
        });
        rows.push({ endpoints: n, prompt: label, mode, p50us: r.p50, p99us: r.p99 });
      }
    }
    director.close();
  }
  console.table(rows);
  await workers.close();
  await hashing.close();
  const out = path.join(__dirname, '..', 'results');
  fs.mkdirSync(out, { recursive: true });
  const report = {
    bench: 'epp-decision',
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    node: process.version,
    iters,
    parse: parseRows,
    decision: rows,
  };
  fs.writeFileSync(path.join(out, 'epp-decision.json'), JSON.stringify(report, null, 2));
  return 0;
}

if (require.main === module) void main(process.argv.slice(2)).then((c) => (process.exitCode = c));
