// bench/compile: time and peak memory to load (parse + validate) and compile (stage 1 + stage 2 + Envoy rule
// validation) generated inputs of 100, 1,000 and 10,000 HTTPRoutes with 100 InferencePools. Each size runs in
// its own process so peak RSS belongs to that size; each is repeated and the median reported.
// Run: make bench  (or: node bin/infergate.js bench compile [--repeat 5])

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseText } from '../../src/api/load';
import { compile } from '../../src/compiler';
import { projectRoot } from '../../src/util/envoy';
import { generateInput } from './inputs';

interface Sample {
  routes: number;
  pools: number;
  loadMs: number;
  compileMs: number;
  totalMs: number;
  peakRssMb: number;
  resources: number;
  violations: number;
}

function measureOnce(routes: number, pools: number, repeat: number): Sample {
  const text = generateInput(routes, pools);
  const runs: { load: number; comp: number; resources: number; violations: number }[] = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = process.hrtime.bigint();
    const loaded = parseText(text, 'bench.yaml');
    const t1 = process.hrtime.bigint();
    const result = compile(loaded.resources, { mode: 'ads' });
    const t2 = process.hrtime.bigint();
    const r = result.gateways[0]?.resources;
    if (loaded.problems.some((p) => p.severity === 'error')) throw new Error('bench input has errors');
    runs.push({
      load: Number(t1 - t0) / 1e6,
      comp: Number(t2 - t1) / 1e6,
      resources: r ? r.listeners.length + r.routes.length + r.clusters.length + r.endpoints.length : 0,
      violations: result.violations.length,
    });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const load = median(runs.map((r) => r.load));
  const comp = median(runs.map((r) => r.comp));
  return {
    routes,
    pools,
    loadMs: round(load),
    compileMs: round(comp),
    totalMs: round(median(runs.map((r) => r.load + r.comp))),
    peakRssMb: round(process.resourceUsage().maxRSS / 1024),
    resources: runs[0].resources,
    violations: runs[0].violations,
  };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

export async function main(args: string[]): Promise<void> {
  const child = args.indexOf('--child');
  const repeatIdx = args.indexOf('--repeat');
  const repeat = repeatIdx >= 0 ? Number(args[repeatIdx + 1]) : 5;
  if (child >= 0) {
    const [routes, pools] = args[child + 1].split(',').map(Number);
    process.stdout.write(JSON.stringify(measureOnce(routes, pools, repeat)));
    return;
  }
  const sizes: [number, number][] = [
    [100, 100],
    [1000, 100],
    [10000, 100],
  ];
  const entry = process.argv[1];
  const samples: Sample[] = [];
  for (const [routes, pools] of sizes) {
    const out = execFileSync(
      process.execPath,
      [entry, 'bench', 'compile', '--child', `${routes},${pools}`, '--repeat', String(repeat)],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      },
    );
    const s = JSON.parse(out) as Sample;
    samples.push(s);
    console.log(
      `${String(routes).padStart(6)} routes, ${pools} pools: load ${s.loadMs} ms + compile ${s.compileMs} ms = ${s.totalMs} ms (median of ${repeat}); peak RSS ${s.peakRssMb} MB; ${s.resources} xDS resources; ${s.violations} rule violations`,
    );
  }
  const report = {
    bench: 'compile',
    command: 'node bin/infergate.js bench compile --repeat ' + repeat,
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGb: round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
    samples,
  };
  const dir = path.join(projectRoot(), 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'compile.json'), JSON.stringify(report, null, 2) + '\n');
  console.log(`wrote ${path.join('bench', 'results', 'compile.json')}`);
}
