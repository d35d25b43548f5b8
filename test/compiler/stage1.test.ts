// Golden tests for compiler stage 1: every test/testdata/compiler/<case>.in.yaml is loaded, compiled with
// buildIR, and `{problems, statuses, ir}` is compared with <case>.out.yaml. UPDATE_GOLDEN=1 rewrites them.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseText } from '../../src/api/load';
import { buildIR } from '../../src/compiler/gatewayapi';

const DIR = join(__dirname, '..', 'testdata', 'compiler');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const cases = readdirSync(DIR)
  .filter((f) => f.endsWith('.in.yaml'))
  .map((f) => f.slice(0, -'.in.yaml'.length))
  .sort();

function render(name: string): string {
  const file = `${name}.in.yaml`;
  const loaded = parseText(readFileSync(join(DIR, file), 'utf8'), file);
  const { ir, statuses, problems } = buildIR(loaded.resources);
  // Loader problems mean the case's input is not what it claims to be; show them so a golden review sees it.
  const out = {
    ...(loaded.problems.length > 0 ? { loadProblems: loaded.problems } : {}),
    problems,
    statuses,
    ir,
  };
  return stringify(out, { aliasDuplicateObjects: false, lineWidth: 0 });
}

describe('compiler stage 1 goldens', () => {
  it('has cases', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  it.each(cases)('%s', (name) => {
    const got = render(name);
    const golden = join(DIR, `${name}.out.yaml`);
    if (UPDATE) writeFileSync(golden, got);
    if (!existsSync(golden))
      throw new Error(`no golden ${name}.out.yaml: run UPDATE_GOLDEN=1 npx jest test/compiler/stage1`);
    expect(got).toEqual(readFileSync(golden, 'utf8'));
  });

  it.each(cases)('%s is deterministic and does not mutate its input', (name) => {
    const file = `${name}.in.yaml`;
    const loaded = parseText(readFileSync(join(DIR, file), 'utf8'), file);
    const before = JSON.stringify(loaded.resources);
    const a = buildIR(loaded.resources);
    const b = buildIR(loaded.resources);
    expect(JSON.stringify(loaded.resources)).toEqual(before);
    expect(JSON.stringify(a)).toEqual(JSON.stringify(b));
  });
});
