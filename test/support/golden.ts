// Golden-file helpers: compare text with a checked-in file, or rewrite it when UPDATE_GOLDEN=1.

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

/** Returns the golden text (after rewriting it in update mode). */
export function golden(file: string, actual: string): string {
  if (UPDATE || !fs.existsSync(file)) {
    fs.writeFileSync(file, actual);
    return actual;
  }
  return fs.readFileSync(file, 'utf8');
}
