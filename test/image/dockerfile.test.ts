// The Dockerfile cannot be built on this project's machines (no Docker daemon, no buildah), so its contract with
// the rest of the project is checked statically: the runtime stage installs the `npm pack` tarball with production
// dependencies only (what pack.test.ts runs), as a numeric non-root user the control-plane chart also runs as, with
// `infergate` as an exec-form entrypoint (the charts and the test node agent pass only the subcommand's args).

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { ROOT } from '../support/cli';

const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
/** Instructions with continuation lines joined and comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .filter((l) => l.trim() && !l.trimStart().startsWith('#'));
const stages = instructions.reduce<string[][]>((acc, l) => {
  if (/^FROM\s/i.test(l)) acc.push([]);
  acc[acc.length - 1]?.push(l);
  return acc;
}, []);

describe('Dockerfile', () => {
  it('has a build stage and a runtime stage', () => {
    expect(stages.length).toBe(2);
    expect(stages[0][0]).toMatch(/ AS build$/);
    expect(stages[0].join('\n')).toMatch(/npm ci .*\n.*tsc -p tsconfig\.build\.json .*npm pack/s);
  });

  it('runtime: the packed tarball, production dependencies only, from the lockfile', () => {
    const runtime = stages[1].join('\n');
    expect(runtime).toContain('COPY --from=build /out/');
    expect(runtime).toMatch(/tar xzf \/tmp\/pack\/infergate-\*\.tgz/);
    expect(runtime).toMatch(/npm ci --omit=dev/);
    expect(runtime).not.toMatch(/COPY \. /);
    expect(runtime).toMatch(/openssl/); // the EPP's self-signed certificate (src/epp/server/tls.ts)
  });

  it('runs as a numeric non-root user, the one helm/infergate sets', () => {
    const user = stages[1].find((l) => l.startsWith('USER '))!;
    const [uid, gid] = user.slice(5).trim().split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    const values = YAML.parse(
      fs.readFileSync(path.join(ROOT, 'helm', 'infergate', 'values.yaml'), 'utf8'),
    ) as {
      podSecurityContext: { runAsUser: number; runAsGroup: number };
    };
    expect([uid, gid]).toEqual([values.podSecurityContext.runAsUser, values.podSecurityContext.runAsGroup]);
  });

  it('has `infergate` as an exec-form entrypoint (node is PID 1 and gets SIGTERM)', () => {
    const entry = stages[1].find((l) => l.startsWith('ENTRYPOINT '))!;
    expect(JSON.parse(entry.slice('ENTRYPOINT '.length))).toEqual(['infergate']);
    expect(stages[1].join('\n')).toContain('ln -s /app/bin/infergate.js /usr/local/bin/infergate');
  });

  it('.dockerignore keeps host builds and installs out of the build context', () => {
    const ignored = fs
      .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'));
    for (const p of ['node_modules', 'dist', '.tools', '.git']) expect(ignored).toContain(p);
    // The build compiles src, generated and bench (bench/kubernetes-scale imports test/cluster).
    for (const p of ['src', 'generated', 'bench', 'test', 'bin', 'examples'])
      expect(ignored).not.toContain(p);
  });
});
