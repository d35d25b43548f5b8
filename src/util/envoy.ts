// Finds the Envoy binary: $ENVOY_BIN, then the project's .tools/bin/envoy (installed by `make setup`), then PATH.

import * as fs from 'node:fs';
import * as path from 'node:path';

export function projectRoot(): string {
  // src/util (ts-node) or dist/src/util (compiled): walk up to the folder holding package.json.
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

export function findEnvoy(): string {
  const fromEnv = process.env.ENVOY_BIN;
  if (fromEnv) return fromEnv;
  const local = path.join(projectRoot(), '.tools', 'bin', 'envoy');
  if (fs.existsSync(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'envoy');
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  throw new Error('envoy not found: run `make setup` (installs it into .tools/bin/envoy) or set ENVOY_BIN');
}
