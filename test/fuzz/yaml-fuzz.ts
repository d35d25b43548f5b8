// Part (b) of the fuzz harness: mutated resource YAML through the loader and compiler in process (what `infergate
// validate` runs), through a few real `infergate validate` runs, and through a running `infergate serve` whose
// watched directory is rewritten with mutations. Every input must give a compile or named errors, never a throw,
// a crash or a dead control plane.

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseText } from '../../src/api/load';
import { compile } from '../../src/compiler';
import { projectRoot } from '../../src/util/envoy';
import { httpOk, sleep, stopProcess, waitFor } from '../../src/util/wait';
import { generateYaml, seedCorpus, type YamlInput } from './yaml-gen';
import { Rng } from './rng';
import { freePort } from '../../src/util/net';

export interface YamlFuzzOptions {
  n: number;
  seed: number;
  cliRuns?: number;
  serveRuns?: number;
  log?: (line: string) => void;
}

export interface YamlFailure {
  where: 'in-process' | 'cli' | 'serve';
  class: string;
  count: number;
  example: string;
}

export interface YamlFuzzReport {
  n: number;
  seed: number;
  durationMs: number;
  /** compiled | named-errors | uncaught (in process); per CLI exit code; serve alive/dead. */
  outcomes: Record<string, number>;
  cli: Record<string, number>;
  serve: Record<string, number>;
  failures: YamlFailure[];
  maxInputMs: number;
}

/** Exit codes `infergate validate` may end with: 0 valid, 1 problems listed. */
const CLI_OK = [0, 1];
const BIN = () => path.join(projectRoot(), 'bin', 'infergate.js');

function classify(text: string): { outcome: string; error?: string } {
  try {
    const loaded = parseText(text, 'fuzz.yaml');
    const result = compile(loaded.resources, { mode: 'static' });
    const problems = [...loaded.problems, ...result.problems].filter((p) => p.severity === 'error');
    const unnamed = problems.find((p) => !p.message || /undefined|\[object Object\]|NaN/.test(p.message));
    if (unnamed)
      return {
        outcome: 'unnamed-error',
        error: `problem without a clear message: ${JSON.stringify(unnamed)}`,
      };
    return { outcome: problems.length || result.violations.length ? 'named-errors' : 'compiled' };
  } catch (err) {
    const e = err as Error;
    return { outcome: 'uncaught', error: `${e.name}: ${e.message}`.slice(0, 200) };
  }
}

export async function runYamlFuzz(o: YamlFuzzOptions): Promise<YamlFuzzReport> {
  const log = o.log ?? (() => undefined);
  const t0 = Date.now();
  const corpus = seedCorpus(projectRoot());
  const r = new Rng(o.seed ^ 0x5bd1e995);
  const outcomes: Record<string, number> = {};
  const failures = new Map<string, YamlFailure>();
  const fail = (where: YamlFailure['where'], cls: string, example: string) => {
    const key = `${where}|${cls}`;
    const f = failures.get(key);
    if (f) f.count++;
    else failures.set(key, { where, class: cls, count: 1, example: example.slice(0, 600) });
  };
  const inputs: YamlInput[] = [];
  let maxInputMs = 0;
  for (let i = 0; i < o.n; i++) {
    const input = generateYaml(r, corpus);
    const t = Date.now();
    const c = classify(input.text);
    maxInputMs = Math.max(maxInputMs, Date.now() - t);
    outcomes[c.outcome] = (outcomes[c.outcome] ?? 0) + 1;
    if (c.error) fail('in-process', c.error.replace(/\d+/g, 'N'), input.text);
    if (inputs.length < 200) inputs.push(input);
    if (i % 5000 === 4999) log(`  yaml ${i + 1}/${o.n}`);
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-fuzz-yaml-'));
  const cli: Record<string, number> = {};
  const serve: Record<string, number> = {};
  try {
    for (let i = 0; i < Math.min(o.cliRuns ?? 5, inputs.length); i++) {
      const file = path.join(dir, `cli-${i}.yaml`);
      fs.writeFileSync(file, inputs[i].text);
      const p = spawnSync(process.execPath, [BIN(), 'validate', file], { encoding: 'utf8', timeout: 60_000 });
      const key = p.status === null ? `signal-${p.signal}` : `exit-${p.status}`;
      cli[key] = (cli[key] ?? 0) + 1;
      const trace = /\n\s+at .+:\d+:\d+/.test(p.stderr ?? '');
      if (!CLI_OK.includes(p.status ?? -1) || trace)
        fail('cli', `${key}${trace ? ' with a stack trace' : ''}`, p.stderr);
    }
    await serveRuns(dir, inputs.slice(0, o.serveRuns ?? 20), serve, fail);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return {
    n: o.n,
    seed: o.seed,
    durationMs: Date.now() - t0,
    outcomes,
    cli,
    serve,
    failures: [...failures.values()].sort((a, b) => b.count - a.count),
    maxInputMs,
  };
}

/** `infergate serve` on a directory: a good file stays, a second file is rewritten with each mutation. */
async function serveRuns(
  dir: string,
  inputs: YamlInput[],
  serve: Record<string, number>,
  fail: (where: 'serve', cls: string, example: string) => void,
): Promise<void> {
  if (inputs.length === 0) return;
  const watched = path.join(dir, 'serve');
  fs.mkdirSync(watched);
  fs.copyFileSync(
    path.join(projectRoot(), 'examples/quickstart/gateway.yaml'),
    path.join(watched, 'gateway.yaml'),
  );
  const [xds, admin] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [BIN(), 'serve', watched, '--xds-port', String(xds), '--admin-port', String(admin)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, INFERGATE_LOG_LEVEL: 'error' },
    },
  );
  let logs = '';
  child.stdout!.on('data', (d: Buffer) => (logs = (logs + d).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (logs = (logs + d).slice(-20_000)));
  const dead = () =>
    child.exitCode !== null || child.signalCode !== null ? `serve exited:\n${logs}` : undefined;
  const healthz = `http://127.0.0.1:${admin}/healthz`;
  try {
    await waitFor('serve /healthz', () => httpOk(healthz), {
      timeoutMs: 60_000,
      everyMs: 100,
      abortIf: dead,
    });
    for (const input of inputs) {
      fs.writeFileSync(path.join(watched, 'mutated.yaml'), input.text);
      await sleep(150);
      const alive = !dead() && (await httpOk(healthz).catch(() => false));
      serve[alive ? 'alive' : 'dead'] = (serve[alive ? 'alive' : 'dead'] ?? 0) + 1;
      if (!alive) {
        fail(
          'serve',
          'control plane died or stopped answering /healthz',
          `${input.text}\n--- logs:\n${logs}`,
        );
        break;
      }
    }
    // One broken file must not freeze the rest: a Gateway added beside it (port 8181) gets published.
    fs.writeFileSync(path.join(watched, 'mutated.yaml'), 'kind: [unclosed\n');
    fs.writeFileSync(
      path.join(watched, 'added.yaml'),
      'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: added, namespace: default}\n' +
        'spec: {gatewayClassName: infergate, listeners: [{name: http, protocol: HTTP, port: 8181}]}\n',
    );
    const published = () =>
      fetch(`http://127.0.0.1:${admin}/debug/config`)
        .then((r) => r.text())
        .then((t) => t.includes('8181'));
    const kept = await waitFor('the good resources to stay published', published, {
      timeoutMs: 10_000,
    }).catch(() => false);
    serve[kept ? 'published-beside-broken' : 'frozen-beside-broken'] = 1;
    if (!kept) fail('serve', 'a broken file stopped a new good resource from being published', logs);
    const status = await fetch(`http://127.0.0.1:${admin}/debug/status`).catch(() => undefined);
    serve[`debug-status-${status?.status ?? 'none'}`] = 1;
  } catch (err) {
    fail('serve', `did not start: ${(err as Error).message.slice(0, 100)}`, logs);
  } finally {
    await stopProcess(child);
  }
}
