// bench/routing/bursts.ts and bursts-report.ts, the pure parts: the burst's prompts, the summaries over repetitions, the derived tuned
// config (a valid EndpointPickerConfig) and the self-contained HTML.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { burstRequests, tunedConfig, type BurstSettings } from '../../bench/routing/bursts';
import {
  renderBurstsHtml,
  summarizeBursts,
  type BurstPoint,
  type BurstsReport,
} from '../../bench/routing/bursts-report';
import { BURST_SAFE_CONFIG_FILE } from '../../bench/routing/fleet';
import { buildFromConfig } from '../../src/epp/config/build';
import { parseEndpointPickerConfig } from '../../src/epp/config/loader';
import { INFLIGHT_LOAD } from '../../src/epp/plugins/inflight-load-producer';
import { TokenLoadScorer } from '../../src/epp/plugins/token-load-scorer';
import { seededRandom } from '../../src/epp/scheduling/random';

const S: BurstSettings = {
  reps: 2,
  burst: 16,
  promptTokens: 100,
  sharedPrefixTokens: 500,
  questionTokens: 10,
  maxTokens: 8,
  idleMs: 0,
  timeoutS: 1,
  seed: 1,
  configs: ['default', 'inflight'],
  workloads: ['unique', 'shared-prefix'],
  out: '/nonexistent',
};

const point = (over: Partial<BurstPoint>): BurstPoint => ({
  config: 'default',
  workload: 'unique',
  rep: 0,
  requests: 64,
  succeeded: 64,
  perPod: [8, 8, 8, 8, 8, 8, 8, 8],
  perPodMax: 8,
  perPodMin: 8,
  ttftMs: { p50: 100, p90: 200, p99: 300 },
  e2eP90Ms: 900,
  makespanMs: 1000,
  ...over,
});

describe('bursts bench (pure parts)', () => {
  it('unique prompts differ from the first block; shared-prefix ones share the system prompt; fresh per rep', () => {
    const unique = burstRequests(S, 'unique', 0);
    expect(unique).toHaveLength(16);
    expect(unique.every((r) => r.atMs === 0 && r.maxTokens === 8)).toBe(true);
    expect(new Set(unique.map((r) => r.prompt.slice(0, 64))).size).toBe(16);
    const shared = burstRequests(S, 'shared-prefix', 0);
    const head = shared[0].prompt.slice(0, 2000);
    expect(shared.every((r) => r.prompt.startsWith(head))).toBe(true);
    expect(new Set(shared.map((r) => r.prompt)).size).toBe(16);
    expect(burstRequests(S, 'shared-prefix', 1)[0].prompt.slice(0, 64)).not.toBe(head.slice(0, 64));
    expect(burstRequests(S, 'unique', 0)).toEqual(unique); // seeded
  });

  it('summaries: median (nearest rank) and range per config × workload', () => {
    const s = summarizeBursts([
      point({ perPodMax: 12, perPodMin: 4, ttftMs: { p50: 1, p90: 1300, p99: 1500 } }),
      point({ perPodMax: 15, perPodMin: 3, ttftMs: { p50: 2, p90: 2500, p99: 2700 } }),
      point({ perPodMax: 11, perPodMin: 5, ttftMs: { p50: 3, p90: 400, p99: 1600 } }),
      point({ config: 'inflight' }),
    ]);
    expect(s).toHaveLength(2);
    expect(s[0]).toMatchObject({
      config: 'default',
      workload: 'unique',
      reps: 3,
      perPodMax: { median: 12, min: 11, max: 15 },
      perPodMin: { median: 4, min: 3, max: 5 },
      ttftP90Ms: { median: 1300, min: 400, max: 2500 },
      ttftP99Ms: { median: 1600, min: 1500, max: 2700 },
    });
    expect(s[1]).toMatchObject({ config: 'inflight', reps: 1, perPodMax: { median: 8, min: 8, max: 8 } });
  });

  it("the tuned config is the shipped one with a fixed 16,000-token threshold instead of each pod's KV capacity", () => {
    const shipped = fs.readFileSync(path.join(__dirname, '..', '..', BURST_SAFE_CONFIG_FILE), 'utf8');
    const built = buildFromConfig(parseEndpointPickerConfig(tunedConfig(shipped)), {
      random: seededRandom(1),
      now: () => 0,
    });
    const tokenLoad = built.plugins.get('token-load-scorer') as TokenLoadScorer;
    expect([tokenLoad.queueThresholdTokens, tokenLoad.thresholdFromKvCapacity]).toEqual([16000, false]);
    const shippedBuilt = buildFromConfig(parseEndpointPickerConfig(shipped), {
      random: seededRandom(1),
      now: () => 0,
    });
    expect((shippedBuilt.plugins.get('token-load-scorer') as TokenLoadScorer).thresholdFromKvCapacity).toBe(
      true,
    );
    expect(built.scheduler.profiles[0].scorers.map((w) => [w.scorer.name, w.weight])).toEqual([
      ['queue-scorer', 2],
      ['kv-cache-utilization-scorer', 2],
      ['prefix-cache-scorer', 3],
      ['active-request-scorer', 2],
      ['token-load-scorer', 2],
    ]);
    expect(built.byKind(INFLIGHT_LOAD)).toHaveLength(1);
    expect(() => tunedConfig('plugins: []')).toThrow(/changed shape/);
  });

  it('the HTML is self-contained: two charts with one series per config × workload × statistic, every burst in the table', () => {
    const report: BurstsReport = {
      bench: 'routing-bursts',
      command: 'node dist/bench/routing/bursts.js --quick',
      date: '2026-12-02T00:00:00Z',
      machine: { cpus: 2, cpuModel: 'x<y>', memoryGb: 24, node: 'v20', os: 'Linux' },
      settings: { burst: 64, inflightConfig: BURST_SAFE_CONFIG_FILE, sharedPrefixTokens: 2000 },
      points: [
        point({}),
        point({ rep: 1 }),
        point({ workload: 'shared-prefix' }),
        point({ config: 'inflight' }),
        point({ config: 'inflight', workload: 'shared-prefix', perPod: [64, 0, 0, 0, 0, 0, 0, 0] }),
      ],
      summary: [],
    };
    const html = renderBurstsHtml(report);
    expect(html).not.toMatch(/<script|https?:\/\//);
    expect(html.match(/<svg class="chart"/g)).toHaveLength(2);
    expect(html.match(/<g class="series"/g)).toHaveLength(2 * 4 * 2);
    expect(html).toContain('data-series="default: busiest" data-points="2"');
    expect(html.match(/<tr><td/g)).toHaveLength(5);
    expect(html).toContain('64 / 0 / 0 / 0 / 0 / 0 / 0 / 0');
    expect(html).toContain('x&#60;y&#62;');
  });
});
