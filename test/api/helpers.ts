import { join } from 'node:path';
import type { Problem } from '../../src/api';

export const TESTDATA = join('test', 'testdata', 'api');

export function fixture(name: string): string {
  return join(TESTDATA, name);
}

/** What a test asserts about a problem: where it is and (part of) what it says. */
export interface Expected {
  document: number;
  path?: string;
  message: string;
  severity?: 'error' | 'warning';
  resource?: string;
}

/** Problems as comparable rows; `message` is matched as a substring. */
export function expectProblems(actual: Problem[], file: string, expected: Expected[]): void {
  // The resource name is compared only where a case names it, to keep the tables short.
  const rows = actual.map((p, i) => ({
    file: p.file,
    document: p.document,
    path: p.path,
    severity: p.severity,
    message: p.message,
    ...(expected[i]?.resource !== undefined ? { resource: p.resource } : {}),
  }));
  expect(rows).toEqual(
    expected.map((e) => ({
      file,
      document: e.document,
      path: e.path,
      severity: e.severity ?? 'error',
      message: expect.stringContaining(e.message),
      ...(e.resource !== undefined ? { resource: e.resource } : {}),
    })),
  );
}
