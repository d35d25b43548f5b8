// `make fuzz`: part (a) ext_proc streams against a real `infergate epp`, part (b) resource YAML mutations; prints a
// summary table and writes bench/results/fuzz.json. FUZZ_N (ext_proc inputs, default 100,000), FUZZ_YAML_N
// (default 10,000), FUZZ_SEED (default 1). Exits 1 when any input broke a rule.
// Run: npx ts-node --transpile-only test/fuzz/main.ts

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../../src/util/envoy';
import { runExtProcFuzz, LABEL_VALUES_BOUND, type ExtProcFuzzReport } from './extproc-fuzz';
import { runYamlFuzz, type YamlFuzzReport } from './yaml-fuzz';

const envInt = (name: string, d: number) => {
  const v = process.env[name];
  const n = v === undefined || v === '' ? d : Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer (got ${v})`);
  return n;
};

const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;

/** The rules a run must keep; each broken one is a line. */
export function brokenRules(a: ExtProcFuzzReport, b: YamlFuzzReport): string[] {
  const out: string[] = [];
  if (a.hangs) out.push(`${a.hangs} ext_proc streams hung (no answer within the bound)`);
  for (const v of a.violations) out.push(`ext_proc ×${v.count}: ${v.class}`);
  if (a.healthFailures) out.push(`EPP health not SERVING in ${a.healthFailures}/${a.healthChecks} checks`);
  if (a.eppExited) out.push(`the EPP exited: ${a.eppExited.slice(0, 300)}`);
  if (a.runningRequestsAfter !== 0)
    out.push(`inference_objective_running_requests is ${a.runningRequestsAfter} after the run (baseline 0)`);
  for (const [label, n] of Object.entries(a.labelValues))
    if (n > LABEL_VALUES_BOUND)
      out.push(`metric label ${label} took ${n} values (bound ${LABEL_VALUES_BOUND})`);
  for (const f of b.failures) out.push(`yaml (${f.where}) ×${f.count}: ${f.class}`);
  return out;
}

function table(title: string, counts: Record<string, number>): string {
  const rows = Object.entries(counts).sort((x, y) => y[1] - x[1]);
  const w = Math.max(10, ...rows.map(([k]) => k.length));
  return [title, ...rows.map(([k, v]) => `  ${k.padEnd(w)} ${String(v).padStart(8)}`)].join('\n');
}

export async function main(): Promise<number> {
  const seed = envInt('FUZZ_SEED', 1);
  const n = envInt('FUZZ_N', 100_000);
  const yamlN = envInt('FUZZ_YAML_N', 10_000);
  const log = (s: string) => console.error(s);
  log(`fuzz: seed ${seed}, ${n} ext_proc inputs, ${yamlN} YAML mutations`);
  const a = await runExtProcFuzz({ n, seed, log });
  const b = await runYamlFuzz({ n: yamlN, seed, log, cliRuns: 10, serveRuns: 100 });
  const rss = a.rssKb.map((s) => s.kb);
  const broken = brokenRules(a, b);
  console.log(table(`(a) ext_proc: ${a.n} streams in ${(a.durationMs / 1000).toFixed(0)} s`, a.outcomes));
  console.log(
    `  hangs ${a.hangs}, longest stream ${a.maxCaseMs} ms, health failures ${a.healthFailures}/${a.healthChecks},` +
      ` running_requests after ${a.runningRequestsAfter}, series ${a.seriesBefore} → ${a.seriesAfter}, label values ${JSON.stringify(a.labelValues)}`,
  );
  console.log(`  EPP RSS: start ${mb(rss[0])}, peak ${mb(Math.max(...rss))}, end ${mb(rss[rss.length - 1])}`);
  console.log(table(`(b) YAML: ${b.n} mutations in process`, b.outcomes));
  console.log(table('    infergate validate runs', b.cli));
  console.log(table('    infergate serve, after each rewrite', b.serve));
  console.log(
    broken.length ? `BROKEN RULES (${broken.length}):\n  ${broken.join('\n  ')}` : 'every rule held',
  );
  const out = path.join(projectRoot(), 'bench', 'results', 'fuzz.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version };
  fs.writeFileSync(
    out,
    JSON.stringify({ when: new Date().toISOString(), machine, extproc: a, yaml: b, broken }, null, 1),
  );
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
  return broken.length ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(2);
    },
  );
}
