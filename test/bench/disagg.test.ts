// The P/D benchmark's pure parts (the benchmark itself does not run here): its EPP configs build, the long-prompt
// workload is seeded and unique per request, ITL and the disaggregated share come from the raw results, and the page
// has one series per mode with a point per QPS.

import { buildFromConfig } from '../../src/epp/config/build';
import { parseEndpointPickerConfig } from '../../src/epp/config/loader';
import { seededRandom } from '../../src/epp/scheduling/random';
import {
  PROMPT_TOKENS,
  itlSummary,
  longPromptStep,
  pdConfig,
  renderDisaggHtml,
  type DisaggPoint,
  type DisaggReport,
} from '../../bench/routing/disagg';
import type { RequestResult } from '../../bench/routing/client';

describe('disagg bench', () => {
  it.each([['always' as const], [0], [8192]])('pdConfig(%s) builds a pd-profile-handler', (t) => {
    const built = buildFromConfig(parseEndpointPickerConfig(pdConfig(t)), {
      random: seededRandom(1),
      now: () => 0,
    });
    expect(built.scheduler.handler.type).toBe('pd-profile-handler');
    expect(built.scheduler.profiles.map((p) => p.name)).toEqual(['prefill', 'decode']);
  });

  it('long prompts: exact count per window, 4–16k tokens, seeded, no shared first block', () => {
    const a = longPromptStep(1, 4, [2000, 5000], 's');
    expect(a).toHaveLength(8 + 20);
    expect(longPromptStep(1, 4, [2000, 5000], 's')).toEqual(a);
    for (const r of a) {
      expect(r.prompt.length).toBeGreaterThanOrEqual(PROMPT_TOKENS.min * 4);
      expect(r.prompt.length).toBeLessThanOrEqual(PROMPT_TOKENS.max * 4);
    }
    expect(new Set(a.map((r) => r.prompt.slice(0, 64))).size).toBe(a.length);
  });

  it('ITL percentiles over every token gap of successful requests; share prefilled remotely', () => {
    const r = (ok: boolean, gaps: number[], prefilledBy?: string): RequestResult => ({
      scheduledMs: 0,
      sentMs: 0,
      status: ok ? 200 : 500,
      ok,
      outputTokens: gaps.length + 1,
      tokenGapsMs: gaps,
      ...(prefilledBy ? { prefilledBy } : {}),
    });
    const s = itlSummary([
      r(true, [10, 10, 10, 10, 10, 10, 10, 10, 100], 'p1'),
      r(true, [20]),
      r(false, [999, 999], 'p2'),
    ]);
    expect(s.itlMs).toEqual({ p50: 10, p90: 20, p99: 100 }); // nearest rank over 10 gaps
    expect(s.disaggregatedShare).toBe(0.5);
  });

  it('the page draws one series per mode with a point per QPS, and the threshold sweep', () => {
    const point = (
      section: DisaggPoint['section'],
      mode: string,
      qps: number,
      threshold?: number,
    ): DisaggPoint => ({
      section,
      mode,
      qps,
      ...(threshold !== undefined ? { threshold } : {}),
      requests: 10,
      successRate: 1,
      ttftMs: { p50: 500, p90: 800, p99: 900 },
      itlMs: { p50: 20, p90: mode.startsWith('P/D') ? 25 : 45, p99: 100 },
      tpotP90Ms: 25,
      e2eP90Ms: 3000,
      outputTokensPerSec: 100 * qps,
      disaggregatedShare: threshold ? 0.4 : 1,
      fallbacks: 0,
      cpuBusy: 0.5,
      cpuCores: {},
    });
    const report: DisaggReport = {
      bench: 'disagg',
      command: 'node dist/bench/routing/disagg.js --quick',
      date: '2026-12-02T00:00:00Z',
      machine: { cpus: 2, cpuModel: 'x', node: 'v20' },
      settings: {},
      points: [
        ...[2, 4, 6].flatMap((q) => [point('qps', 'aggregated (8)', q), point('qps', 'P/D 4+4 always', q)]),
        point('threshold', 'P/D ≥2048', 4, 2048),
        point('threshold', 'P/D ≥8192', 4, 8192),
      ],
    };
    const html = renderDisaggHtml(report);
    const itl = html.slice(html.indexOf('id="qps:itlP90"'), html.indexOf('id="threshold:ttftP90"'));
    expect(itl.match(/data-series="[^"]+" data-points="3"/g)).toEqual([
      'data-series="aggregated (8)" data-points="3"',
      'data-series="P/D 4+4 always" data-points="3"',
    ]);
    expect(html).toContain('data-series="disaggregated %" data-points="2"');
    expect(html.match(/<tr><td/g)).toHaveLength(8);
    expect(html).not.toContain('NaN');
  });
});
