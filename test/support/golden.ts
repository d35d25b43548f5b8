// Golden-file helpers: compare text with a checked-in file, or rewrite it when UPDATE_GOLDEN=1.
// Outside update mode a missing golden fails (in CI and locally alike): writing it would make the test pass
// without anyone having reviewed the output.

import * as fs from 'node:fs';
import * as path from 'node:path';

export const UPDATE = process.env.UPDATE_GOLDEN === '1';
export const COMPILER_CASES = path.join(__dirname, '..', 'testdata', 'compiler');

export function caseNames(dir: string, suffix = '.in.yaml'): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .map((f) => f.slice(0, -suffix.length))
    .sort();
}

/** Returns the golden text; in update mode it first rewrites the file with `actual`. Throws if it is missing. */
export function golden(file: string, actual: string, update = UPDATE): string {
  if (update) {
    fs.writeFileSync(file, actual);
    return actual;
  }
  if (!fs.existsSync(file)) {
    const rel = path.relative(process.cwd(), file);
    throw new Error(
      `missing golden ${rel}: create it with UPDATE_GOLDEN=1 npx jest <test file>, then review it`,
    );
  }
  return fs.readFileSync(file, 'utf8');
}
