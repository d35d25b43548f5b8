// The golden helper must be able to fail: a missing golden is an error outside update mode, never a silent write.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { golden } from './golden';

describe('golden', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-golden-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('fails on a missing golden, says how to create it, and writes nothing', () => {
    const file = path.join(dir, 'case.xds.yaml');
    expect(() => golden(file, 'actual\n', false)).toThrow(
      /missing golden .*case\.xds\.yaml.*UPDATE_GOLDEN=1/,
    );
    expect(fs.existsSync(file)).toBe(false);
  });

  it('returns the checked-in text, so a differing output fails the comparison', () => {
    const file = path.join(dir, 'case.xds.yaml');
    fs.writeFileSync(file, 'expected\n');
    expect(golden(file, 'actual\n', false)).toBe('expected\n');
    expect(fs.readFileSync(file, 'utf8')).toBe('expected\n');
  });

  it('writes the golden in update mode', () => {
    const file = path.join(dir, 'case.xds.yaml');
    expect(golden(file, 'actual\n', true)).toBe('actual\n');
    expect(fs.readFileSync(file, 'utf8')).toBe('actual\n');
  });
});
