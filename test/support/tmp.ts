// Temp directories for tests: unique (mkdtemp) and removed when the test file ends (test/support/cleanup.ts), so a
// test needs no cleanup code of its own and no run leaves files behind.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const made: string[] = [];

/** A fresh directory `$TMPDIR/infergate-<prefix>-XXXXXX`, removed after the current test file. */
export function tmpDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `infergate-${prefix}-`));
  made.push(dir);
  return dir;
}

/** Removes every directory tmpDir made so far. */
export function removeTmpDirs(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}
