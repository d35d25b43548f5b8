// A real `infergate serve` process with one file broken from the start and another broken later: the process
// serves the good resources, pushes an endpoint change for another pool over ADS while the broken files stay
// broken, and /debug/status names each rejected resource with file, document and field path.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RejectedReport } from '../../src/sources/pipeline';
import { projectRoot } from '../../src/util/envoy';
import { httpOk, stopProcess, waitFor } from '../../src/util/wait';
import { freePort } from '../support/envoy';
import { Mirror, gateway, pod, pool, route } from './fixtures';

describe('infergate serve (process) with broken inputs', () => {
  let dir: string;
  let child: ChildProcess;
  let mirror: Mirror | undefined;
  let admin: number;
  let stderr = '';
  const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
  const status = async () =>
    (
      (await (await fetch(`http://127.0.0.1:${admin}/debug/status`)).json()) as {
        inputs: { rejected: RejectedReport[] };
      }
    ).inputs.rejected;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-serve-process-'));
    write('gw.yaml', gateway);
    write('route-a.yaml', route('route-a', '/a', 'pool-a'));
    write('route-b.yaml', route('route-b', '/b', 'pool-b'));
    // Broken before the first load: never good, so simply absent.
    write('route-c.yaml', route('route-c', '/c', 'pool-a', '"eighty"'));
    write('pool-a.yaml', pool('pool-a', pod('a-0', 'pool-a', '10.1.0.1')));
    write('pool-b.yaml', pool('pool-b', pod('b-0', 'pool-b', '10.2.0.1')));
    const xds = await freePort();
    admin = await freePort();
    child = spawn(
      process.execPath,
      [
        path.join(projectRoot(), 'bin', 'infergate.js'),
        'serve',
        dir,
        '--xds-port',
        `${xds}`,
        '--admin-port',
        `${admin}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, INFERGATE_LOG_LEVEL: 'warn' } },
    );
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor('serve ready', () => httpOk(`http://127.0.0.1:${admin}/readyz`), {
      timeoutMs: 60_000,
      abortIf: () => (child.exitCode !== null ? `serve exited: ${stderr}` : undefined),
    });
    mirror = new Mirror(xds);
  });
  afterAll(async () => {
    mirror?.close();
    if (child) await stopProcess(child);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves everything else, pushes another pool’s endpoint change, and names the rejected resources', async () => {
    await waitFor('pool-a endpoints', () => mirror!.endpoints('inferencepool/default/pool-a').length === 1, {
      timeoutMs: 30_000,
    });
    expect(mirror!.routes()).toEqual(['/a', '/b']);
    expect(await status()).toEqual([
      expect.objectContaining({
        resource: 'HTTPRoute default/route-c',
        file: path.join(dir, 'route-c.yaml'),
        document: 0,
        problems: [expect.stringMatching(/spec\.rules\[0\]\.backendRefs\[0\]\.port: /)],
        keptLastGood: [],
      }),
    ]);

    // A syntax error in another file: pool-a's InferencePool keeps its last good version.
    write('pool-a.yaml', 'kind: [\n' + pod('a-0', 'pool-a', '10.1.0.1'));
    await waitFor('second rejection', async () => (await status()).length === 2, { timeoutMs: 30_000 });
    write('pool-b.yaml', pool('pool-b', pod('b-0', 'pool-b', '10.2.0.1') + pod('b-1', 'pool-b', '10.2.0.2')));
    await waitFor(
      'EDS push for pool-b',
      () => mirror!.endpoints('inferencepool/default/pool-b').length === 2,
      {
        timeoutMs: 30_000,
      },
    );
    expect(mirror!.endpoints('inferencepool/default/pool-a')).toEqual(['10.1.0.1']);
    expect(await status()).toContainEqual(
      expect.objectContaining({
        file: path.join(dir, 'pool-a.yaml'),
        document: 0,
        problems: [expect.stringMatching(/pool-a\.yaml doc 0: YAML syntax error at line/)],
        keptLastGood: ['InferencePool default/pool-a', 'Service default/pool-a-epp'],
      }),
    );
    expect(stderr).toMatch(/resource rejected/);
  });
});
