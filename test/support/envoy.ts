// Starts real Envoy processes for integration tests and stops them afterwards.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findEnvoy } from '../../src/util/envoy';
import { httpOk, stopProcess, waitFor } from '../../src/util/wait';
import { tmpDir } from './tmp';

export { findEnvoy, tmpDir };

export { freePort } from '../../src/util/net';

/** `envoy --mode validate`: returns Envoy's verdict and output. */
export function envoyValidate(configYaml: string): { ok: boolean; output: string } {
  // Removed at once rather than at the end of the file: the golden suites validate dozens of bootstraps.
  const dir = tmpDir('validate');
  try {
    const file = path.join(dir, 'envoy.yaml');
    fs.writeFileSync(file, configYaml);
    const r = spawnSync(findEnvoy(), ['--mode', 'validate', '-c', file, '--log-level', 'error'], {
      encoding: 'utf8',
      timeout: 60000,
    });
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface RunningEnvoy {
  adminPort: number;
  process: ChildProcess;
  logs: () => string;
  stop: () => Promise<void>;
}

/** Runs Envoy on a bootstrap (whose admin port must be adminPort) and waits until it is ready. */
export async function startEnvoy(
  configYaml: string,
  adminPort: number,
  timeoutMs = 60000,
): Promise<RunningEnvoy> {
  const dir = tmpDir('envoy');
  const file = path.join(dir, 'envoy.yaml');
  fs.writeFileSync(file, configYaml);
  let logs = '';
  const child = spawn(
    findEnvoy(),
    ['-c', file, '--use-dynamic-base-id', '--log-level', 'warn', '--drain-time-s', '1'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  const stop = () => stopProcess(child);
  try {
    await waitFor('envoy /ready', () => httpOk(`http://127.0.0.1:${adminPort}/ready`), {
      timeoutMs,
      everyMs: 100,
      abortIf: () => (child.exitCode !== null ? `envoy exited with ${child.exitCode}` : undefined),
    });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}:\n${logs}`);
  }
  return { adminPort, process: child, logs: () => logs, stop };
}

/** Reads a counter or gauge from Envoy's admin /stats. */
export async function envoyStat(adminPort: number, name: string): Promise<number | undefined> {
  const text = await (
    await fetch(`http://127.0.0.1:${adminPort}/stats?filter=${encodeURIComponent('^' + name + '$')}`)
  ).text();
  const m = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}
