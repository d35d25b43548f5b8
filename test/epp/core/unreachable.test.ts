// Endpoints that stop answering scrapes (a killed model server whose Pod still reads Ready) leave the candidate
// set after N consecutive failures, fail open when none would be left, and come back on the next good scrape.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { emptyResourceSet } from '../../../src/api/types';
import { loadEndpointPickerConfig, parseEndpointPickerConfig } from '../../../src/epp/config/loader';
import {
  Datastore,
  DEFAULT_UNREACHABLE_AFTER_FAILURES,
  isUnreachable,
  reachable,
} from '../../../src/epp/datastore/datastore';
import { createDirector, type EppDirector } from '../../../src/epp/director';
import { EppMetrics } from '../../../src/epp/observability/metrics';
import { MetricsScraper } from '../../../src/epp/scrape/scraper';
import { seededRandom } from '../../../src/epp/scheduling/random';
import type { Decision } from '../../../src/epp/types';
import { TESTING_FILTER_CONFIG, datastoreWith, input, metrics, pod, pool, state } from './fixtures';

const NOW = 1_000_000;
const routed = (dec: Decision) => {
  if (dec.kind !== 'route') throw new Error(`expected route, got ${JSON.stringify(dec)}`);
  return dec;
};
const fail = (ds: Datastore, key: string, times: number, at = NOW) => {
  for (let i = 0; i < times; i++) ds.recordScrape(key, false, at + i * 50);
};

describe('unreachable endpoints (pure)', () => {
  it('the datastore counts consecutive failures from the first of a run; a success clears them', () => {
    const ds = datastoreWith(2);
    const key = '10.0.0.1:8000';
    fail(ds, key, 2);
    expect(ds.endpoint(key)).toMatchObject({ scrapeFailures: 2, unreachableSince: NOW });
    expect(isUnreachable(ds.endpoint(key)!)).toBe(false);
    fail(ds, key, 1, NOW + 100);
    expect(ds.endpoint(key)).toMatchObject({ scrapeFailures: 3, unreachableSince: NOW });
    expect(isUnreachable(ds.endpoint(key)!)).toBe(true);
    expect(isUnreachable(ds.endpoint(key)!, 4)).toBe(false);
    expect(isUnreachable(ds.endpoint(key)!, 0)).toBe(false); // ≤ 0: never
    ds.recordScrape(key, true, NOW + 200);
    expect(ds.endpoint(key)).toMatchObject({ scrapeFailures: 0, unreachableSince: undefined });
    ds.recordScrape('10.9.9.9:8000', false, NOW); // unknown keys are ignored
  });

  it('failure state survives a relabelling of the pod (a new EndpointState)', () => {
    const rs = emptyResourceSet();
    rs.inferencePools.push(pool());
    rs.pods.push(pod('pod-1', '10.0.0.1'));
    const ds = new Datastore({ name: 'pool', namespace: 'default' });
    ds.apply(rs);
    fail(ds, '10.0.0.1:8000', 3);
    rs.pods[0] = pod('pod-1', '10.0.0.1', { labels: { app: 'vllm', v: '2' } });
    ds.apply(rs);
    expect(ds.endpoint('10.0.0.1:8000')).toMatchObject({ scrapeFailures: 3, unreachableSince: NOW });
  });

  it('reachable() drops unreachable endpoints, returns the same array when none is, and fails open', () => {
    const eps = [state(1), state(2), state(3)];
    expect(reachable(eps)).toBe(eps);
    eps[1].scrapeFailures = DEFAULT_UNREACHABLE_AFTER_FAILURES;
    expect(reachable(eps).map((e) => e.endpoint.address)).toEqual(['10.0.0.1', '10.0.0.3']);
    eps[0].scrapeFailures = eps[2].scrapeFailures = 7;
    expect(reachable(eps)).toBe(eps); // every endpoint failing: keep them all
  });
});

describe('the director leaves unreachable endpoints out', () => {
  function setup(
    n: number,
    unreachableAfterFailures?: number,
    config = loadEndpointPickerConfig(),
  ): { ds: Datastore; d: EppDirector } {
    const ds = datastoreWith(n);
    for (const e of ds.endpoints()) e.metrics = metrics({ updateTime: NOW });
    const d = createDirector({
      datastore: ds,
      config,
      metrics: new EppMetrics(),
      random: seededRandom(5),
      now: () => NOW,
      unreachableAfterFailures,
    });
    return { ds, d };
  }
  const picks = async (d: EppDirector, n = 40, over: Parameters<typeof input>[1] = {}) => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++)
      seen.add(routed(await d.decide(input('m', over, `prompt ${i}`))).endpoints[0]);
    return [...seen].sort();
  };

  it('after N failures (default 3) and not before; back after one good scrape', async () => {
    const { ds, d } = setup(2);
    fail(ds, '10.0.0.2:8000', 2);
    expect(await picks(d)).toEqual(['10.0.0.1:8000', '10.0.0.2:8000']);
    fail(ds, '10.0.0.2:8000', 1);
    expect(await picks(d)).toEqual(['10.0.0.1:8000']);
    ds.recordScrape('10.0.0.2:8000', true, NOW);
    expect(await picks(d)).toEqual(['10.0.0.1:8000', '10.0.0.2:8000']);
    d.close();
  });

  it('N is configurable; 0 disables the exclusion', async () => {
    const one = setup(2, 1);
    fail(one.ds, '10.0.0.1:8000', 1);
    expect(await picks(one.d)).toEqual(['10.0.0.2:8000']);
    const off = setup(2, 0);
    fail(off.ds, '10.0.0.1:8000', 10);
    expect(await picks(off.d)).toEqual(['10.0.0.1:8000', '10.0.0.2:8000']);
  });

  it('fails open when every candidate is unreachable, also within a subset hint', async () => {
    const { ds, d } = setup(3);
    for (const e of ds.endpoints()) fail(ds, e.endpoint.key, 5);
    expect(await picks(d)).toHaveLength(3);
    ds.recordScrape('10.0.0.3:8000', true, NOW);
    expect(await picks(d)).toEqual(['10.0.0.3:8000']);
    // The subset hint picks first; the exclusion applies within it, failing open there too.
    expect(await picks(d, 10, { subset: ['10.0.0.1:8000'] })).toEqual(['10.0.0.1:8000']);
    expect(await picks(d, 20, { subset: ['10.0.0.1:8000', '10.0.0.3:8000'] })).toEqual(['10.0.0.3:8000']);
  });

  it('the test header (when configured) and headers-only requests see the reachable set', async () => {
    const { ds, d } = setup(3, undefined, parseEndpointPickerConfig(TESTING_FILTER_CONFIG));
    fail(ds, '10.0.0.2:8000', 3);
    const h = (v: string) => ({ headers: { 'test-epp-endpoint-selection': v } });
    expect(await picks(d, 10, h('10.0.0.2:8000,10.0.0.3:8000'))).toEqual(['10.0.0.3:8000']);
    expect((await d.decide(input('m', h('10.0.0.2:8000')))).kind).toBe('reject');
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++)
      seen.add(routed(await d.decide(input('', { headersOnly: true }))).endpoints[0]);
    expect([...seen].sort()).toEqual(['10.0.0.1:8000', '10.0.0.3:8000']);
  });

  it('exposes inference_pool_unreachable_endpoints', async () => {
    const ds = datastoreWith(3);
    const m = new EppMetrics({ poolName: () => 'pool', endpoints: () => ds.endpoints() });
    fail(ds, '10.0.0.1:8000', 3);
    fail(ds, '10.0.0.2:8000', 2);
    expect(await m.registry.getSingleMetricAsString('inference_pool_unreachable_endpoints')).toContain(
      'inference_pool_unreachable_endpoints{name="pool"} 1',
    );
  });
});

describe('a model server that dies and comes back (real HTTP servers, real scraper)', () => {
  const PAGE = 'vllm:num_requests_running 0\nvllm:num_requests_waiting 0\nvllm:kv_cache_usage_perc 0.1\n';
  const INTERVAL = 50;
  const listen = async (port = 0): Promise<Server> => {
    const s = createServer((_req, res) => res.end(PAGE));
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', resolve);
    });
    return s;
  };
  const close = (s: Server) =>
    new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections(); // the scraper's keep-alive socket dies with the process
    });
  const waitFor = async (cond: () => Promise<boolean> | boolean, ms = 30000) => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  let live: Server;
  let victim: Server | undefined;
  let ds: Datastore;
  let scraper: MetricsScraper;
  let d: EppDirector;
  afterAll(async () => {
    scraper?.stop();
    d?.close();
    await close(live);
    if (victim) await close(victim);
  });

  it('leaves the candidate set within ~N intervals of the kill and returns after a restart', async () => {
    live = await listen();
    victim = await listen();
    const livePort = (live.address() as AddressInfo).port;
    const victimPort = (victim.address() as AddressInfo).port;
    const rs = emptyResourceSet();
    rs.inferencePools.push(pool('pool', [livePort, victimPort]));
    rs.pods.push(pod('pod-1', '127.0.0.1'));
    ds = new Datastore({ name: 'pool', namespace: 'default' });
    ds.apply(rs);
    const victimKey = `127.0.0.1:${victimPort}`;
    scraper = new MetricsScraper(ds, { intervalMs: INTERVAL, timeoutMs: 1000 });
    scraper.start();
    d = createDirector({
      datastore: ds,
      config: loadEndpointPickerConfig(),
      metrics: new EppMetrics(),
      random: seededRandom(9),
    });
    let i = 0;
    const picked = async () => {
      const seen = new Set<string>();
      for (let k = 0; k < 30; k++) seen.add(routed(await d.decide(input('m', {}, `p${i++}`))).endpoints[0]);
      return seen;
    };
    await waitFor(() => ds.endpoints().every((e) => e.metrics !== undefined));
    await waitFor(async () => (await picked()).has(victimKey));

    const killedAt = Date.now();
    await close(victim);
    victim = undefined;
    await waitFor(async () => !(await picked()).has(victimKey));
    const excludedMs = Date.now() - killedAt;
    const s = ds.endpoint(victimKey)!;
    expect(s.scrapeFailures).toBeGreaterThanOrEqual(DEFAULT_UNREACHABLE_AFTER_FAILURES);
    expect(s.unreachableSince).toBeGreaterThanOrEqual(killedAt);
    // Nominally one interval until the first failed scrape, then N − 1 fast retries (10 ms apart): printed below,
    // not asserted, since a busy machine stretches every timer.
    // Stays out while dead.
    await new Promise((r) => setTimeout(r, 3 * INTERVAL));
    expect((await picked()).has(victimKey)).toBe(false);

    const restartedAt = Date.now();
    victim = await listen(victimPort);
    await waitFor(async () => (await picked()).has(victimKey));
    const backMs = Date.now() - restartedAt;
    expect(ds.endpoint(victimKey)).toMatchObject({ scrapeFailures: 0, unreachableSince: undefined });
    console.log(
      `unreachable: left the candidates ${excludedMs} ms after the kill, back ${backMs} ms after restart`,
    );
  });
});
