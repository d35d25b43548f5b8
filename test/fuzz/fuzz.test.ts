// A short seeded run of both fuzzers (the full runs are `make fuzz`): ext_proc streams against a real `infergate
// epp` child with simulators as its pods, and resource YAML mutations in process, through `infergate validate` and
// through a running `infergate serve`. Every stream ends within its bound with an answer the protocol allows, the
// EPP stays SERVING and its accounting returns to baseline; every YAML input compiles or gets named errors.

import { brokenRules } from './main';
import { runExtProcFuzz, type ExtProcFuzzReport } from './extproc-fuzz';
import { runYamlFuzz, type YamlFuzzReport } from './yaml-fuzz';

jest.setTimeout(240_000);

const SEED = Number(process.env.FUZZ_SEED ?? 7);

describe('fuzz (short seeded run)', () => {
  let a: ExtProcFuzzReport;
  let b: YamlFuzzReport;

  beforeAll(async () => {
    a = await runExtProcFuzz({ n: 1500, seed: SEED, concurrency: 16 });
    b = await runYamlFuzz({ n: 500, seed: SEED, cliRuns: 2, serveRuns: 10 });
  });

  it('covers the input classes (the generator reached every kind and both modes)', () => {
    const kinds = Object.keys(a.byKind);
    for (const k of [
      'completion',
      'chat',
      'wrongModel',
      'deepMessages',
      'notJson',
      'invalidUtf8',
      'headersOnly',
    ])
      expect(kinds).toContain(k);
    expect(a.outcomes.routed).toBeGreaterThan(100);
    expect(a.outcomes['immediate-400']).toBeGreaterThan(50);
    expect(a.outcomes.cancelled).toBeGreaterThan(10);
    expect(b.outcomes.compiled).toBeGreaterThan(0);
    expect(b.outcomes['named-errors']).toBeGreaterThan(0);
  });

  it('ext_proc: no hang, every answer allowed and as due, EPP healthy, accounting back to baseline', () => {
    expect({ hangs: a.hangs, violations: a.violations.map((v) => `${v.count}× ${v.class}`) }).toEqual({
      hangs: 0,
      violations: [],
    });
    expect(a.eppExited).toBeUndefined();
    expect(a.healthFailures).toBe(0);
    expect(a.runningRequestsAfter).toBe(0);
  });

  it('YAML: every mutation compiles or gets named errors; the control plane stays up', () => {
    expect(b.failures.map((f) => `${f.where} ${f.count}× ${f.class}`)).toEqual([]);
    expect(b.outcomes.uncaught).toBeUndefined();
    expect(b.serve.dead).toBeUndefined();
    expect(b.serve.alive).toBe(10);
    expect(b.serve['published-beside-broken']).toBe(1);
  });

  it('no broken rule overall (metric label cardinality included)', () => {
    expect(brokenRules(a, b)).toEqual([]);
  });
});
