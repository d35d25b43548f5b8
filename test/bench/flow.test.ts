// The flow-control benchmark's pure parts, from fixture points (the benchmark itself does not run): the goal checks
// and the HTML page, and that its flow-control EndpointPickerConfig is one the EPP accepts with the gate.

import { buildFromConfig } from '../../src/epp/config/build';
import { parseEndpointPickerConfig } from '../../src/epp/config/loader';
import {
  PLAIN_CONFIG,
  cpuBetween,
  flowConfig,
  flowGoals,
  queueBuckets,
  queueCell,
  queueWaitBetween,
  renderFlowHtml,
  type FlowPoint,
} from '../../bench/routing/flow';

function point(
  workload: string,
  mode: string,
  tenant: string,
  p90: number,
  statuses: Record<string, number>,
): FlowPoint {
  const requests = Object.values(statuses).reduce((a, b) => a + b, 0);
  const ok = statuses['200'] ?? 0;
  return {
    workload,
    mode,
    flowControl: mode.includes('flow control') && !mode.includes('no flow'),
    tenant,
    qps: 1.5,
    requests,
    succeeded: ok,
    successRate: ok / requests,
    ttftMs: { p50: p90 / 2, p90, p99: p90 * 1.2 },
    e2eP90Ms: p90 * 2,
    tpotP90Ms: 20,
    dispatchLagP99Ms: 1,
    dispatchLagMaxMs: 2,
    perPodMin: 0,
    perPodMax: requests,
    errors: {},
    statuses,
    cpuBusy: 0.5,
    cpuCores: { loadgen: 0.2 },
    loadAvg1m: 1.5,
  };
}

describe('flow bench', () => {
  test('EPP queue waits per flow from two metrics pages', () => {
    const name = 'inference_extension_flow_control_request_queue_duration_seconds_bucket';
    const page = (counts: number[], outcome = 'Dispatched') =>
      ['0.01', '0.05', '0.1', '0.25', '+Inf']
        .map(
          (le, i) =>
            `${name}{fairness_id="quiet",priority="0",outcome="${outcome}",inference_pool="sims",model_name="m",target_model_name="m",le="${le}"} ${counts[i]}`,
        )
        .join('\n');
    const before = queueBuckets(
      `# HELP x\n${page([1, 2, 2, 2, 2])}\n${page([0, 0, 0, 5, 9], 'RejectedCapacity')}`,
    );
    const after = queueBuckets(page([5, 9, 11, 12, 12]));
    expect([...before.keys()]).toEqual(['quiet/0']);
    const wait = queueWaitBetween(before.get('quiet/0'), after.get('quiet/0'));
    // 10 dispatched in between: 6 waited > 10 ms, 3 > 50 ms, 1 > 100 ms, none > 250 ms.
    expect(wait).toEqual({ dispatched: 10, over: { '10': 6, '50': 3, '100': 1, '250': 0 } });
    expect(queueCell(wait)).toBe('10, 3 / 1 / 0');
    expect(queueWaitBetween(undefined, undefined)).toBeUndefined();
  });

  test('goals: met and missed', () => {
    const pts = [
      point('fairness', 'quiet alone', 'quiet', 200, { 200: 30 }),
      point('fairness', 'both, flow control', 'quiet', 280, { 200: 30 }),
      point('priority', 'critical alone', 'critical', 200, { 200: 30 }),
      point('priority', 'both, flow control', 'critical', 400, { 200: 29, timeout: 1 }),
      point('priority', 'both, flow control', 'sheddable', 900, { 200: 50, 429: 300, 503: 40 }),
    ];
    expect(flowGoals(pts).map((g) => [g.name, g.pass])).toEqual([
      ['fairness: quiet TTFT p90 with flow control ≤ 1.5× alone', true],
      ['fairness: quiet success with flow control ≥ 99%', true],
      ['priority: critical TTFT p90 with flow control ≤ 1.5× unloaded', false],
      ['priority: sheddable overflow gets 429, not timeouts', false],
    ]);
    const html = renderFlowHtml({
      bench: 'flow',
      command: 'node dist/bench/routing/flow.js --quick',
      date: '2026-12-02T00:00:00Z',
      machine: { cpus: 2 },
      settings: {},
      points: pts,
      goals: flowGoals(pts),
    });
    expect(html).toContain('<svg class="chart"');
    expect(html.match(/<rect /g)).toHaveLength(pts.length);
    expect(html).toContain('MISS priority: critical TTFT p90');
  });

  test('goals: the baseline is the one measured on the flow-control fleet when both are there', () => {
    const plainAlone = { ...point('fairness', 'quiet alone', 'quiet', 100, { 200: 30 }), flowControl: false };
    const fcAlone = { ...point('fairness', 'quiet alone', 'quiet', 200, { 200: 30 }), flowControl: true };
    const both = point('fairness', 'both, flow control', 'quiet', 280, { 200: 30 });
    // 280 / 200 = 1.4 passes; against the plain fleet's 100 it would be 2.8
    expect(flowGoals([plainAlone, fcAlone, both])[0]).toMatchObject({
      pass: true,
      detail: '280 ms vs 200 ms alone = 1.4×',
    });
    expect(flowGoals([plainAlone, both])[0].pass).toBe(false);
  });

  test('cpuBetween: machine busy share and cores per process', () => {
    const a = { idle: 1000, total: 2000, self: 0, children: { envoy: 100, epp: 50 }, at: 0 };
    const b = {
      idle: 1150,
      total: 2400,
      self: 500_000,
      children: { envoy: 200, epp: 50, sims: 10 },
      at: 2000,
    };
    expect(cpuBetween(a, b)).toEqual({ cpuBusy: 0.625, cpuCores: { loadgen: 0.25, envoy: 0.5, epp: 0 } });
  });

  test('both EndpointPickerConfigs build; the flow one with the gate and its policies', () => {
    const deps = { random: Math.random, now: () => 0 };
    expect(buildFromConfig(parseEndpointPickerConfig(PLAIN_CONFIG, {}), deps).flowControl).toBeUndefined();
    const fc = buildFromConfig(parseEndpointPickerConfig(flowConfig(4), {}), deps);
    expect(fc.saturationDetector.type).toBe('concurrency-detector');
    expect(fc.flowControl?.bands.map((b) => [b.spec.priority, b.fairness.type, b.spec.maxRequests])).toEqual([
      [0, 'round-robin-fairness-policy', undefined],
      [-1, 'global-strict-fairness-policy', 10],
    ]);
    expect(fc.flowControl?.spec.defaultRequestTTLMs).toBe(2000);
  });
});
