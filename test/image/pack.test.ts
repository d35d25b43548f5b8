// What the image ships, proved without Docker: `npm pack` the project, unpack the tarball into an empty directory,
// install its production dependencies only (`npm ci --omit=dev` against the project's lockfile, the Dockerfile's
// runtime stage exactly), then run `infergate --version`, `epp`, `serve`, `bbr` and `sim` from that copy alone and
// stop each with SIGTERM, the signal a container runtime sends.
//
// The install reads npm's cache (filled by `make setup`'s `npm ci`): tests run in a network namespace with no
// route to the registry. Outside one, `--prefer-offline` falls back to the registry for anything not cached.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkHealth, ServingStatus } from '../../src/epp/server/health';
import { httpOk, stopProcess, waitFor } from '../../src/util/wait';
import { freePort } from '../../src/util/net';
import { tmpDir } from '../support/tmp';
import { ROOT } from '../support/cli';

interface PackedFile {
  path: string;
}

const children: ChildProcess[] = [];
let app: string;
let packed: string[];

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The installed copy's `bin/infergate.js`, run through its shebang as the image's `infergate` symlink runs it. */
const bin = () => path.join(app, 'bin', 'infergate.js');

function start(args: string[]): { child: ChildProcess; logs: () => string } {
  const child = spawn(bin(), args, {
    cwd: app,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, INFERGATE_LOG_LEVEL: 'warn' },
  });
  children.push(child);
  let logs = '';
  const keep = (d: Buffer) => (logs = (logs + d.toString()).slice(-10_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, logs: () => logs };
}

const exited = (c: ChildProcess, logs: () => string) => () =>
  c.exitCode !== null ? `exited with ${c.exitCode}:\n${logs()}` : undefined;

/** SIGTERM, and the exit it causes: status 0, no SIGKILL needed. */
async function terminate(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  await stopProcess(child, { signal: 'SIGTERM', killAfterMs: 15_000 });
  return { code: child.exitCode, signal: child.signalCode };
}

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js')))
    throw new Error('dist/ is not built: run `make build` (npx tsc -p tsconfig.build.json) first');
  const out = tmpDir('pack');
  const report = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', out], ROOT)) as {
    filename: string;
    files: PackedFile[];
  }[];
  packed = report[0].files.map((f) => f.path).sort();
  app = path.join(out, 'app');
  fs.mkdirSync(app);
  run('tar', ['xzf', path.join(out, report[0].filename), '-C', app, '--strip-components=1'], out);
  fs.copyFileSync(path.join(ROOT, 'package-lock.json'), path.join(app, 'package-lock.json'));
  run(
    'npm',
    [
      'ci',
      '--omit=dev',
      '--ignore-scripts',
      '--prefer-offline',
      '--fetch-retries=0',
      '--no-audit',
      '--no-fund',
    ],
    app,
  );
}, 300_000);

afterAll(async () => {
  await Promise.all(children.map((c) => stopProcess(c)));
});

describe('the packed infergate, installed with production dependencies only', () => {
  it('packs what runs and nothing else', () => {
    for (const f of [
      'bin/infergate.js',
      'dist/src/cli/main.js',
      'dist/src/epp/workers/worker.js',
      'package.json',
    ])
      expect(packed).toContain(f);
    expect(packed.some((f) => f.startsWith('dist/generated/envoy/'))).toBe(true);
    expect(packed).toContain('examples/quickstart/pool.yaml');
    const unwanted = packed.filter((f) =>
      /^(test|src|\.tools|node_modules|dist\/test|generated|proto|scripts|helm)\/|\.map$|\.tsbuildinfo/.test(
        f,
      ),
    );
    expect(unwanted).toEqual([]);
    console.log(`npm pack: ${packed.length} files`);
  });

  it('has no dev dependency installed (so nothing falls back to ts-node or the sources)', () => {
    const modules = fs.readdirSync(path.join(app, 'node_modules'));
    for (const dev of ['typescript', 'ts-node', 'ts-jest', 'jest', 'eslint', 'prettier', 'ts-proto'])
      expect(modules).not.toContain(dev);
    expect(modules).toContain('@grpc');
    expect(fs.existsSync(path.join(app, 'src'))).toBe(false);
  });

  it('infergate --version and infergate version print package.json version', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(run(bin(), ['--version'], app).trim()).toBe(version);
    expect(run(bin(), ['version'], app).trim()).toBe(version);
  });

  it('infergate epp on the quickstart pool (TLS, self-signed) reports SERVING, and exits 0 on SIGTERM', async () => {
    const [grpc, health, metrics] = [await freePort(), await freePort(), await freePort()];
    const { child, logs } = start([
      'epp',
      '--pool',
      'vllm-llama3-8b-instruct',
      '--pool-namespace',
      'default',
      '--address',
      '127.0.0.1',
      '--secure-serving',
      '--grpc-port',
      String(grpc),
      '--health-port',
      String(health),
      '--metrics-port',
      String(metrics),
      'examples/quickstart',
    ]);
    await waitFor(
      'the EPP to report SERVING',
      async () => (await checkHealth(`127.0.0.1:${health}`, 'readiness', 2000)) === ServingStatus.SERVING,
      { timeoutMs: 60_000, everyMs: 200, abortIf: exited(child, logs) },
    );
    expect(await httpOk(`http://127.0.0.1:${metrics}/metrics`)).toBe(true);
    expect(await terminate(child)).toEqual({ code: 0, signal: null });
  }, 90_000);

  it('infergate serve on the quickstart answers /readyz, and exits 0 on SIGTERM', async () => {
    const [xds, admin] = [await freePort(), await freePort()];
    const { child, logs } = start([
      'serve',
      'examples/quickstart',
      '--xds-port',
      String(xds),
      '--admin-port',
      String(admin),
    ]);
    await waitFor('serve /readyz', () => httpOk(`http://127.0.0.1:${admin}/readyz`), {
      timeoutMs: 60_000,
      everyMs: 200,
      abortIf: exited(child, logs),
    });
    const config = await (await fetch(`http://127.0.0.1:${admin}/debug/config`)).text();
    expect(config).toContain('vllm-llama3-8b-instruct');
    expect(await terminate(child)).toEqual({ code: 0, signal: null });
  }, 90_000);

  it('infergate bbr and infergate sim start from the same copy and stop on SIGTERM', async () => {
    const [grpc, health, simPort] = [await freePort(), await freePort(), await freePort()];
    const bbr = start([
      'bbr',
      '--address',
      '127.0.0.1',
      '--grpc-port',
      String(grpc),
      '--health-port',
      String(health),
    ]);
    const sim = start(['sim', '--address', '127.0.0.1', '--port', String(simPort), '--model', 'm']);
    await waitFor(
      'bbr to report SERVING',
      async () => (await checkHealth(`127.0.0.1:${health}`, '', 2000)) === ServingStatus.SERVING,
      { timeoutMs: 60_000, everyMs: 200, abortIf: exited(bbr.child, bbr.logs) },
    );
    await waitFor('sim /v1/models', () => httpOk(`http://127.0.0.1:${simPort}/v1/models`), {
      timeoutMs: 60_000,
      everyMs: 200,
      abortIf: exited(sim.child, sim.logs),
    });
    expect(await terminate(bbr.child)).toEqual({ code: 0, signal: null });
    expect(await terminate(sim.child)).toEqual({ code: 0, signal: null });
  }, 90_000);
});
