// The peers benchmark's report from fixture data (no peers, no cluster): summaries and infergate ÷ peer ratios paired
// by repetition, the EPP rotation, the upstream-style Envoy bootstrap, and the HTML page opened offline in headless
// Chromium with every bar chart and routing curve drawn.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { EPP_NAMES, launch, rotation, type EppName } from '../../bench/peers/epps';
import { upstreamBootstrap } from '../../bench/peers/envoy';
import {
  METRICS,
  finish,
  range,
  renderHtml,
  type Machine,
  type PeersReport,
  type RepFigures,
  type RoutingPoint,
} from '../../bench/peers/report';

const CHROMIUM = '/usr/bin/chromium';
const REPS = 3;
const QPS = [4, 8, 12];

/** A repetition whose figures scale with `k` (so medians and ratios are known exactly). */
function rep(rep: number, k: number): RepFigures {
  return {
    rep,
    position: rep % 3,
    startupMs: 1000 * k,
    idleCores: 0.05 * k,
    rssIdleMiB: 60 * k,
    rssAfterMiB: 80 * k,
    rssPeakMiB: 90 * k,
    small: {
      rate: 200,
      rps: 200,
      successRate: 1,
      addedP50Ms: 1.5 * k,
      addedP99Ms: 4 * k,
      directP50Ms: 2,
      directP99Ms: 10,
      eppCpuSecondsPer1k: 1.6 * k,
    },
    ladder: [
      { rate: 400, rps: 400, successRate: 1, addedP99Ms: 3, eppCores: 0.5 * k, served: true, ok: true },
    ],
    best: { rate: 400, rps: 400, eppCores: 0.5 * k, rpsPerEppCore: 800 / k, addedP99Ms: 3 },
    served: { rate: 400, rps: 400, eppCores: 0.5 * k, rpsPerEppCore: 800 / k, addedP99Ms: 3 },
    large: {
      concurrency: 16,
      rps: 140 / k,
      p50Ms: 100 * k,
      p99Ms: 200 * k,
      successRate: 1,
      eppCores: 0.4,
      rpsPerEppCore: 350 / k,
    },
  };
}

function routing(name: EppName): RoutingPoint[] {
  return ['shared-prefix', 'low-sharing'].flatMap((workload) =>
    QPS.map((qps) => ({
      workload,
      qps,
      achievedQps: qps,
      successRate: 1,
      ttftP50Ms: 100 * qps,
      ttftP90Ms: (name === 'infergate' ? 150 : 200) * qps,
      outputTokensPerSec: 127 * qps,
      offeredTokensPerSec: 127 * qps,
      prefixHitRate: 0.9,
      eppCores: 0.1,
    })),
  );
}

const machine: Machine = {
  cpus: 2,
  cpuModel: 'fixture <cpu>',
  memoryGb: 8,
  node: 'v20',
  os: 'Linux',
  envoy: '1.40.0',
  loadAvgStart: 3,
  loadAvgEnd: 4,
};
// infergate k = 1 in every repetition; GIE k = 2 except one repetition at 4; llm-d k = 1.25.
const scale: Record<EppName, (r: number) => number> = {
  infergate: () => 1,
  'gie-v1.5.0': (r) => (r === 1 ? 4 : 2),
  'llm-d-v0.7.1': () => 1.25,
};
const report: PeersReport = finish({
  bench: 'peers',
  command: 'node bin/infergate.js bench peers --fixture',
  date: '2026-01-01T00:00:00.000Z',
  durationS: 1,
  machine,
  settings: {},
  entries: EPP_NAMES.map((name) => ({
    name,
    version: `${name} fixture`,
    machine,
    settings: {},
    command: 'fixture',
    repetitions: Array.from({ length: REPS }, (_, r) => rep(r, scale[name](r))),
    summary: {},
    routing: routing(name),
  })),
  load: [{ epp: 'infergate', rep: 0, step: 'idle', loadAvg1: 3.5, machineBusy: 0.4, eppCores: 0.05 }],
});

describe('peers report: summaries and ratios', () => {
  it('takes the median and min–max of the repetitions', () => {
    expect(range([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
    expect(range([4, 1, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4, n: 4 });
    expect(range([undefined, NaN])).toBeUndefined();
    const gie = report.entries.find((e) => e.name === 'gie-v1.5.0')!;
    expect(gie.summary.cpuPer1k).toEqual({ median: 3.2, min: 3.2, max: 6.4, n: 3 });
    expect(gie.summary.rssIdle).toEqual({ median: 120, min: 120, max: 240, n: 3 });
  });

  it('pairs infergate ÷ peer by repetition and reports the spread of those ratios', () => {
    // CPU per 1k: infergate 1.6 vs GIE 3.2, 6.4, 3.2 → 0.5, 0.25, 0.5.
    expect(report.ratios['gie-v1.5.0'].cpuPer1k).toEqual({ median: 0.5, min: 0.25, max: 0.5, n: 3 });
    // 220 KB req/s per core: 350 vs 280 → 1.25 every time.
    expect(report.ratios['llm-d-v0.7.1'].largePerCore).toEqual({ median: 1.25, min: 1.25, max: 1.25, n: 3 });
    expect(Object.keys(report.ratios['gie-v1.5.0']).sort()).toEqual(METRICS.map((m) => m.key).sort());
  });

  it('leaves a repetition the peer did not finish out of the ratios', () => {
    const reps = report.entries.map((e) => ({
      ...e,
      repetitions: e.name === 'gie-v1.5.0' ? e.repetitions.slice(1) : e.repetitions,
    }));
    const r = finish({ ...report, entries: reps });
    expect(r.ratios['gie-v1.5.0'].cpuPer1k?.n).toBe(2);
    expect(r.entries.find((e) => e.name === 'gie-v1.5.0')!.summary.cpuPer1k?.n).toBe(2);
  });
});

describe('peers harness: rotation, launches and the Envoy bootstrap', () => {
  it('rotates the EPP order so each runs in every position', () => {
    expect(rotation(EPP_NAMES, 0)).toEqual(['infergate', 'gie-v1.5.0', 'llm-d-v0.7.1']);
    expect(rotation(EPP_NAMES, 1)).toEqual(['gie-v1.5.0', 'llm-d-v0.7.1', 'infergate']);
    expect(rotation(EPP_NAMES, 2)).toEqual(['llm-d-v0.7.1', 'infergate', 'gie-v1.5.0']);
    expect(rotation(EPP_NAMES, 3)).toEqual(rotation(EPP_NAMES, 0));
  });

  it('starts the Go EPPs on h2c against the API server, with tracing pointed nowhere', () => {
    const ctx = {
      cli: '/x/bin/infergate.js',
      gieBin: '/c/gie/epp',
      llmdBin: '/c/llmd/epp',
      kubeconfig: '/k/kubeconfig',
      pool: 'sims',
      namespace: 'default',
      resources: '/w/resources.yaml',
    };
    const ports = { grpc: 9002, health: 9003, metrics: 9090 };
    const gie = launch('gie-v1.5.0', ctx, ports);
    expect(gie.command).toBe('/c/gie/epp');
    expect(gie.args).toEqual(expect.arrayContaining(['--secure-serving=false', '--pool-name', 'sims']));
    expect(gie.env.KUBECONFIG).toBe('/k/kubeconfig');
    expect(gie.env.OTEL_TRACES_SAMPLER_ARG).toBe('0');
    expect(launch('llm-d-v0.7.1', ctx, ports).command).toBe('/c/llmd/epp');
    const ours = launch('infergate', ctx, ports);
    expect(ours.args.slice(0, 2)).toEqual(['/x/bin/infergate.js', 'epp']);
    expect(ours.args[ours.args.length - 1]).toBe('/w/resources.yaml');
  });

  it('writes a GIE-style bootstrap: ORIGINAL_DST by header, full duplex over h2c, no connection rotation', () => {
    const pods = [1, 2].map((i) => ({ ip: `127.0.2.${i}`, port: 8000 }));
    const b = parse(upstreamBootstrap({ listen: 18080, admin: 18081, epp: 9002 }, pods));
    const clusters = b.static_resources.clusters as { name: string; [k: string]: unknown }[];
    const od = clusters.find((c) => c.name === 'original_destination_cluster')!;
    expect(od.type).toBe('ORIGINAL_DST');
    expect(od.original_dst_lb_config).toEqual({
      use_http_header: true,
      http_header_name: 'x-gateway-destination-endpoint',
    });
    const ext = clusters.find((c) => c.name === 'ext_proc')!;
    expect(ext.transport_socket).toBeUndefined();
    expect(JSON.stringify(ext)).not.toContain('max_requests_per_connection');
    const direct = clusters.find((c) => c.name === 'direct') as unknown as {
      load_assignment: { endpoints: { lb_endpoints: unknown[] }[] };
    };
    expect(direct.load_assignment.endpoints[0].lb_endpoints).toHaveLength(2);
    const hcm = b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    const mode = hcm.http_filters[0].typed_config.processing_mode;
    expect(mode.request_body_mode).toBe('FULL_DUPLEX_STREAMED');
    expect(mode.response_body_mode).toBe('FULL_DUPLEX_STREAMED');
    const routes = hcm.route_config.virtual_hosts[0].routes;
    expect(routes[0].typed_per_filter_config['envoy.filters.http.ext_proc'].disabled).toBe(true);
    expect(routes[1].route.cluster).toBe('original_destination_cluster');
  });
});

describe('peers report: HTML', () => {
  const html = renderHtml(report);

  it('is self-contained and escapes what it prints', () => {
    expect(html).not.toMatch(/<script|<link[^>]+href=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).toContain('fixture &#60;cpu&#62;');
    expect(html).toContain('infergate ÷ gie-v1.5.0');
    expect(html).toContain('infergate ÷ llm-d-v0.7.1');
  });

  const haveChromium = fs.existsSync(CHROMIUM);
  if (!haveChromium) console.warn(`skipping the Chromium render check: ${CHROMIUM} is absent`);
  (haveChromium ? it : it.skip)(
    'renders offline in headless Chromium with a bar per EPP and a curve per EPP and workload',
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-peers-report-'));
      try {
        const page = path.join(dir, 'peers.html');
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
            '--virtual-time-budget=3000',
            '--dump-dom',
            `file://${page}`,
          ],
          { encoding: 'utf8', timeout: 90000, maxBuffer: 16 << 20 },
        );
        expect(r.error).toBeUndefined();
        const dom = r.stdout;
        for (const m of METRICS) {
          const start = dom.indexOf(`id="bar-${m.key}"`);
          expect(start).toBeGreaterThan(0);
          const svg = dom.slice(start, dom.indexOf('</svg>', start));
          for (const name of EPP_NAMES) {
            const g = new RegExp(`<g class="bar" data-epp="${name}" data-reps="(\\d+)">(.*?)</g>`, 's').exec(
              svg,
            );
            expect(g).not.toBeNull();
            expect(Number(g![1])).toBe(REPS);
            expect(g![2].match(/<rect /g)).toHaveLength(1);
            expect(g![2].match(/<circle /g)).toHaveLength(REPS);
            expect(g![2]).not.toMatch(/NaN|Infinity/);
          }
        }
        for (const w of ['shared-prefix', 'low-sharing']) {
          for (const metric of ['ttftP90Ms', 'outputTokensPerSec']) {
            const start = dom.indexOf(`id="line-${w}-${metric}"`);
            expect(start).toBeGreaterThan(0);
            const svg = dom.slice(start, dom.indexOf('</svg>', start));
            expect(svg).toContain(`data-series-count="${EPP_NAMES.length}"`);
            for (const name of EPP_NAMES) {
              const g = new RegExp(
                `<g class="series" data-series="${name}" data-points="(\\d+)">(.*?)</g>`,
                's',
              ).exec(svg);
              expect(Number(g![1])).toBe(QPS.length);
              const d = /<path d="([^"]+)"/.exec(g![2])![1];
              expect(d.split(/[ML]/).filter(Boolean)).toHaveLength(QPS.length);
              expect(d).not.toMatch(/NaN|Infinity/);
            }
          }
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    120000,
  );
});
