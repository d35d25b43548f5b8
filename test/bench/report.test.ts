// The routing benchmark's HTML report, from fixture data (the benchmark itself does not run): headless Chromium
// loads the page offline, runs its inline script, and every chart has drawn one line with a point per QPS for each
// strategy. Also the goal checks and the workload generator's determinism.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkGoals } from '../../bench/routing/goals';
import {
  CHARTS,
  chartIds,
  renderHtml,
  type PointEntry,
  type RoutingReport,
} from '../../bench/routing/report';
import { DEFAULT_SHAPE, generateStep } from '../../bench/routing/workload';

const CHROMIUM = '/usr/bin/chromium';
const STRATEGIES = ['round-robin', 'infergate', 'infergate-no-prefix'];
const WORKLOADS = ['shared-prefix', 'low-sharing'];
const QPS = [4, 8, 12, 16];

function entry(workload: string, strategy: string, qps: number): PointEntry {
  const cacheAware = workload === 'shared-prefix' && strategy === 'infergate';
  const capacity = cacheAware ? 20 : 12;
  const load = qps / capacity;
  const ttft = (cacheAware ? 150 : 1300) * (load < 1 ? 1 / (1 - 0.8 * load) : 5 * load);
  return {
    workload,
    strategy,
    qps,
    achievedQps: qps,
    requests: qps * 15,
    succeeded: qps * 15,
    successRate: 1,
    ttftMs: { p50: ttft * 0.8, p90: ttft, p99: ttft * 1.5 },
    e2eP90Ms: ttft + 5000,
    tpotP90Ms: 20 + qps / 4,
    outputTokensPerSec: Math.min(qps, capacity) * 127,
    offeredTokensPerSec: qps * 127,
    prefixHitRate: cacheAware ? 0.9 : 0.1,
    dispatchLagP99Ms: 1,
    dispatchLagMaxMs: 2,
    perPodMin: qps,
    perPodMax: qps * 2,
    cpuBusy: 0.4,
    cpuCores: { loadgen: 0.05, envoy: 0.1 },
    errors: {},
  };
}

const entries = WORKLOADS.flatMap((w) => STRATEGIES.flatMap((s) => QPS.map((q) => entry(w, s, q))));
const report: RoutingReport = {
  bench: 'routing',
  command: 'node bin/infergate.js bench routing --fixture',
  date: '2026-01-01T00:00:00.000Z',
  machine: { cpus: 2, cpuModel: 'fixture <cpu>', memoryGb: 8, node: 'v20', os: 'Linux' },
  settings: {},
  entries,
  summary: checkGoals(entries),
};

describe('routing report', () => {
  const haveChromium = fs.existsSync(CHROMIUM);
  if (!haveChromium) {
    console.warn(
      `skipping the Chromium render check: ${CHROMIUM} is absent (Debian package "chromium"; add it to scripts/setup.sh)`,
    );
  }

  (haveChromium ? it : it.skip)(
    'renders offline in headless Chromium with every series drawn',
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-report-'));
      try {
        const html = renderHtml(report);
        // Self-contained: nothing fetched from anywhere.
        expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
        const page = path.join(dir, 'routing.html');
        fs.writeFileSync(page, html);
        const r = spawnSync(
          CHROMIUM,
          [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            `--user-data-dir=${path.join(dir, 'profile')}`,
            '--virtual-time-budget=5000',
            '--dump-dom',
            `file://${page}`,
          ],
          { encoding: 'utf8', timeout: 90000, maxBuffer: 16 << 20 },
        );
        expect(r.error).toBeUndefined();
        const dom = r.stdout;
        expect(dom).toContain(`data-drawn="${WORKLOADS.length * CHARTS.length}"`);
        const ids = chartIds(report);
        expect(ids).toHaveLength(WORKLOADS.length * CHARTS.length);
        for (const id of ids) {
          const start = dom.indexOf(`id="${id}"`);
          expect(start).toBeGreaterThan(0);
          const svg = dom.slice(start, dom.indexOf('</svg>', start));
          expect(svg).toContain(`data-series-count="${STRATEGIES.length}"`);
          for (const s of STRATEGIES) {
            const g = new RegExp(
              `<g class="series" data-series="${s}" data-points="(\\d+)">(.*?)</g>`,
              's',
            ).exec(svg);
            expect(g).not.toBeNull();
            expect(Number(g![1])).toBe(QPS.length);
            // One line through every point, each point a circle at finite coordinates.
            const d = /<path d="([^"]+)"/.exec(g![2])![1];
            expect(d.split(/[ML]/).filter(Boolean)).toHaveLength(QPS.length);
            expect(d).not.toMatch(/NaN|Infinity/);
            expect(g![2].match(/<circle /g)).toHaveLength(QPS.length);
          }
        }
        // The HTML-escaped machine text survived into the page as text, not markup.
        expect(dom).toContain('fixture &lt;cpu&gt;');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    120000,
  );
});

describe('routing goals', () => {
  it('finds round robin saturation and compares at ≥ 70% of it', () => {
    const s = checkGoals(entries);
    expect(s.saturationQps['shared-prefix']).toEqual({
      'round-robin': 12,
      infergate: 16,
      'infergate-no-prefix': 12,
    });
    const at = s.comparisons.filter((c) => c.workload === 'shared-prefix' && c.strategy === 'infergate');
    expect(at.map((c) => c.qps)).toEqual([12, 16]);
    expect(at.every((c) => c.ttftP90Ratio < 0.5 && c.tokensRatio >= 1)).toBe(true);
    expect(s.goals.map((g) => g.pass)).toEqual([true, true]);
  });
});

describe('routing workloads', () => {
  it('are deterministic, offer the nominal count, and share prefixes only in shared-prefix', () => {
    const a = generateStep('shared-prefix', DEFAULT_SHAPE, 7, 10, [2000, 5000], 's0');
    const b = generateStep('shared-prefix', DEFAULT_SHAPE, 7, 10, [2000, 5000], 's0');
    expect(a).toEqual(b);
    expect(a).toHaveLength(70);
    expect(a.filter((r) => r.atMs >= 2000)).toHaveLength(50);
    const groups = new Map<number, string[]>();
    for (const r of a) groups.set(r.group, [...(groups.get(r.group) ?? []), r.prompt]);
    const [p, q] = [...groups.values()].find((ps) => ps.length > 1)!;
    expect(p.slice(0, 7000)).toBe(q.slice(0, 7000));
    const low = generateStep('low-sharing', DEFAULT_SHAPE, 7, 10, [5000], 's0');
    expect(new Set(low.map((r) => r.prompt.slice(0, 64))).size).toBe(low.length);
    for (const r of [...a, ...low]) {
      expect(r.maxTokens).toBeGreaterThanOrEqual(DEFAULT_SHAPE.output.min);
      expect(r.maxTokens).toBeLessThanOrEqual(DEFAULT_SHAPE.output.max);
    }
  });
});
