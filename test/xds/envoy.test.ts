// Live: `infergate serve`'s control plane (in-process) feeding two real Envoys of one Gateway, one on delta ADS
// (the bootstrap `compile --mode ads` prints) and one on SotW ADS. Route changes, endpoint-only changes, a NACK,
// a control-plane restart under traffic, and an Envoy restart.

process.env.INFERGATE_LOG_LEVEL ??= 'error';

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { startControlPlane, type ControlPlane } from '../../src/cli/serve';
import { RouteConfiguration } from '../../generated/envoy/config/route/v3/route';
import { XDS } from '../../src/xds/resource-types';
import { replaceTypes, resourcesOf, typeSnapshot } from '../../src/xds/snapshot';
import { startBackend, type Backend } from '../support/backend';
import { freePort, startEnvoy, tmpDir, type RunningEnvoy } from '../support/envoy';
import { GROUP, bootstrapYaml, gatewayYaml, sleep, waitFor, type Input } from './fixtures';

jest.setTimeout(60000);

/** One request on a fresh connection, so the kernel spreads requests over both Envoys (SO_REUSEPORT). */
function get(port: number, urlPath: string): Promise<{ status: number; backend?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: 30000 }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, backend: res.headers['x-backend'] as string }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function routeDump(envoy: RunningEnvoy): Promise<string> {
  return (
    await fetch(`http://127.0.0.1:${envoy.adminPort}/config_dump?resource=dynamic_route_configs`)
  ).text();
}

async function served(envoy: RunningEnvoy): Promise<number> {
  const text = await (
    await fetch(`http://127.0.0.1:${envoy.adminPort}/stats?filter=downstream_rq_completed`)
  ).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('http.') && !l.startsWith('http.admin.'))
    .reduce((n, l) => n + Number(l.split(': ')[1] ?? 0), 0);
}

describe('xDS server with real Envoys (delta + SotW in one group)', () => {
  const backends: Record<string, Backend> = {};
  const envoys: Record<string, RunningEnvoy> = {};
  const boot: Record<string, string> = {};
  const admin: Record<string, number> = {};
  let cp: ControlPlane;
  let input: Input;
  let file: string;
  let xdsPort: number;
  let cpAdminPort: number;

  const write = (i: Input) => {
    input = i;
    // Write then rename, like an editor, so the watcher never reads half a file.
    fs.writeFileSync(file + '.tmp', gatewayYaml(i));
    fs.renameSync(file + '.tmp', file);
  };
  const types = () => cp.cache.get(GROUP)!.types;
  /** Which backend currently serves a Service, per the input on disk. */
  const backendOf = (svc: string) =>
    Object.values(backends).find((b) => b.port === input.services[svc].port)!.name;
  const ackedAll = (c: ControlPlane, id: string) => {
    const n = c.clients.list().find((x) => x.id === id);
    const snap = c.cache.get(GROUP)!;
    const want = ['Cluster', 'ClusterLoadAssignment', 'Listener', 'RouteConfiguration'];
    return (
      n !== undefined &&
      want.every((t) => n.acked[t] === snap.types.get(XDS[t as keyof typeof XDS].typeUrl)!.version)
    );
  };

  beforeAll(async () => {
    backends.a = await startBackend('a', '127.0.0.1');
    backends.b = await startBackend('b', '127.0.0.1');
    backends.a2 = await startBackend('a2', '127.0.0.1');
    [xdsPort, cpAdminPort] = [await freePort(), await freePort()];
    const dir = tmpDir('xds');
    file = path.join(dir, 'gateway.yaml');
    write({
      listenPort: await freePort(),
      routes: { '/app': 'svc-a', '/b': 'svc-b' },
      services: {
        'svc-a': { address: '127.0.0.1', port: backends.a.port },
        'svc-b': { address: '127.0.0.1', port: backends.b.port },
      },
    });
    cp = await startControlPlane({
      paths: [dir],
      xdsPort,
      adminPort: cpAdminPort,
      listenAddress: '127.0.0.1',
    });
    for (const [id, protocol] of [
      ['delta', 'delta'],
      ['sotw', 'sotw'],
    ] as const) {
      admin[id] = await freePort();
      boot[id] = bootstrapYaml(xdsPort, admin[id], `envoy-${id}`, protocol);
    }
    [envoys.delta, envoys.sotw] = await Promise.all([
      startEnvoy(boot.delta, admin.delta),
      startEnvoy(boot.sotw, admin.sotw),
    ]);
  });

  afterAll(async () => {
    await Promise.all(Object.values(envoys).map((e) => e.stop()));
    await cp?.close();
    await Promise.all(Object.values(backends).map((b) => b.close()));
  });

  it('both Envoys get the compiled config and serve traffic to the backends', async () => {
    expect((await fetch(`http://127.0.0.1:${cpAdminPort}/readyz`)).status).toBe(200);
    await waitFor('both ACK everything', () => ackedAll(cp, 'envoy-delta') && ackedAll(cp, 'envoy-sotw'));
    for (let i = 0; i < 40; i++) {
      expect(await get(input.listenPort, '/app/x')).toEqual({ status: 200, backend: 'a' });
      expect(await get(input.listenPort, '/b')).toEqual({ status: 200, backend: 'b' });
    }
    expect(await served(envoys.delta)).toBeGreaterThan(0);
    expect(await served(envoys.sotw)).toBeGreaterThan(0);
    const clients = (await (await fetch(`http://127.0.0.1:${cpAdminPort}/debug/clients`)).json()) as {
      id: string;
      group: string;
      protocol: string;
    }[];
    expect(clients.map((c) => [c.id, c.group, c.protocol])).toEqual([
      ['envoy-delta', GROUP, 'delta'],
      ['envoy-sotw', GROUP, 'sotw'],
    ]);
    const config = (await (await fetch(`http://127.0.0.1:${cpAdminPort}/debug/config`)).json()) as Record<
      string,
      { types: Record<string, { resources: unknown[] }> }
    >;
    expect(config[GROUP].types.Listener.resources).toHaveLength(1);
  });

  it('a route change reaches every Envoy', async () => {
    const t0 = performance.now();
    write({ ...input, routes: { ...input.routes, '/moved': 'svc-b' } });
    const seen: Record<string, number> = {};
    await Promise.all(
      ['delta', 'sotw'].map((id) =>
        waitFor(`${id} has /moved`, async () => {
          if (!(await routeDump(envoys[id])).includes('/moved')) return undefined;
          return (seen[id] = performance.now() - t0);
        }),
      ),
    );
    console.log(
      `route change → active in every Envoy: delta ${seen.delta.toFixed(0)} ms, sotw ${seen.sotw.toFixed(0)} ms (incl. 100 ms debounce)`,
    );
    for (let i = 0; i < 20; i++)
      expect(await get(input.listenPort, '/moved')).toEqual({ status: 200, backend: 'b' });
  });

  it('an endpoint-only change leaves listener, route and cluster versions alone', async () => {
    await waitFor('converged', () => ackedAll(cp, 'envoy-delta') && ackedAll(cp, 'envoy-sotw'));
    const before = new Map([...types()].map(([t, ts]) => [t, ts.version]));
    const sentBefore = cp.clients.list().map((n) => ({ ...n.sent }));
    write({
      ...input,
      services: { ...input.services, 'svc-a': { address: '127.0.0.1', port: backends.a2.port } },
    });
    await waitFor(
      'new endpoints published',
      () =>
        types().get(XDS.ClusterLoadAssignment.typeUrl)!.version !==
        before.get(XDS.ClusterLoadAssignment.typeUrl),
    );
    expect(cp.pipeline.lastReport?.path).toBe('endpoints');
    for (const t of [XDS.Listener, XDS.RouteConfiguration, XDS.Cluster]) {
      expect(types().get(t.typeUrl)!.version).toBe(before.get(t.typeUrl));
    }
    await waitFor('converged', () => ackedAll(cp, 'envoy-delta') && ackedAll(cp, 'envoy-sotw'));
    // Nothing but endpoints went out to the Envoys.
    cp.clients.list().forEach((n, i) => {
      for (const t of ['Listener', 'RouteConfiguration', 'Cluster']) expect(n.sent[t]).toBe(sentBefore[i][t]);
    });
    for (let i = 0; i < 20; i++)
      expect(await get(input.listenPort, '/app')).toEqual({ status: 200, backend: 'a2' });
  });

  it('a config Envoy rejects keeps the last good one serving, is reported, and is not resent', async () => {
    const good = cp.cache.get(GROUP)!;
    // An RE2-invalid regex passes PGV (it is just a string) but Envoy rejects it.
    const routes = resourcesOf(good, XDS.RouteConfiguration).map((r) => {
      const bad = RouteConfiguration.decode(RouteConfiguration.encode(r).finish());
      bad.virtualHosts[0].routes[0].match!.pathSpecifier = { $case: 'safeRegex', value: { regex: '(?<=x)' } };
      return bad;
    });
    const pushes = async () =>
      (await cp.metrics.pushes.get()).values
        .filter((v) => v.labels.type === 'RouteConfiguration')
        .reduce((n, v) => n + v.value, 0);
    const nacks0 = cp.clients.list().map((n) => n.nacks);
    const pushes0 = await pushes();
    expect(cp.cache.set(replaceTypes(good, [typeSnapshot(XDS.RouteConfiguration, routes)])).published).toBe(
      true,
    );
    await waitFor('both NACK', () => cp.clients.list().every((n, i) => n.nacks > nacks0[i]));
    await sleep(1500);
    // One push per Envoy, no storm.
    expect((await pushes()) - pushes0).toBe(2);
    const clients = (await (await fetch(`http://127.0.0.1:${cpAdminPort}/debug/clients`)).json()) as {
      lastNack?: { type: string; errorDetail: { message: string } };
    }[];
    const status = (await (await fetch(`http://127.0.0.1:${cpAdminPort}/debug/status`)).json()) as {
      programmed: Record<string, { status: string; message: string }>;
    };
    expect(status.programmed[GROUP]).toMatchObject({
      status: 'False',
      message: expect.stringMatching(/rejected/),
    });
    for (const c of clients) {
      expect(c.lastNack?.type).toBe('RouteConfiguration');
      expect(c.lastNack?.errorDetail.message).toMatch(/regex|RE2|perl|\(\?<=/i);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${cpAdminPort}/metrics`)).text();
    expect(metrics).toMatch(
      /infergate_xds_nacks_total\{type="RouteConfiguration",group="default\/gw"\} [1-9]/,
    );
    for (let i = 0; i < 10; i++)
      expect(await get(input.listenPort, '/app')).toEqual({ status: 200, backend: backendOf('svc-a') });
    // The next good input replaces it.
    cp.reload();
    await waitFor('converged again', () => ackedAll(cp, 'envoy-delta') && ackedAll(cp, 'envoy-sotw'));
  });

  it('a broken edit keeps the last good snapshot and says why', async () => {
    const version = cp.cache.get(GROUP)!.version;
    fs.writeFileSync(file, gatewayYaml(input).replace('kind: HTTPRoute', 'kind: HTTPRoute\nspec: [oops'));
    await waitFor('failed compile reported', () => cp.pipeline.lastReport?.ok === false);
    expect(cp.cache.get(GROUP)!.version).toBe(version);
    const status = (await (await fetch(`http://127.0.0.1:${cpAdminPort}/debug/status`)).json()) as {
      inputs: { lastRun: { errors: string[] } };
    };
    expect(status.inputs.lastRun.errors.length).toBeGreaterThan(0);
    expect(await (await fetch(`http://127.0.0.1:${cpAdminPort}/metrics`)).text()).toMatch(
      /infergate_compile_last_ok 0/,
    );
    expect(await get(input.listenPort, '/app')).toEqual({ status: 200, backend: backendOf('svc-a') });
    write(input);
    await waitFor('recovered', () => cp.pipeline.lastReport?.ok === true);
  });

  it('the xDS server closed and restarted under traffic: no failed request, Envoys reconnect and converge', async () => {
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const traffic = (async () => {
      while (!stop) {
        try {
          const r = await get(input.listenPort, '/app');
          if (r.status === 200 && r.backend === backendOf('svc-a')) ok++;
          else failures.push(JSON.stringify(r));
        } catch (e) {
          failures.push(String(e));
        }
      }
    })();
    try {
      await restartUnderTraffic(() => ok + failures.length);
    } finally {
      stop = true;
      await traffic;
    }
    expect(failures).toEqual([]);
  });

  // Traffic is counted in answered requests, not seconds: some before the close, some while no control plane
  // runs, some after the restart, however fast the machine is.
  async function restartUnderTraffic(served: () => number) {
    const more = (n: number) => {
      const target = served() + n;
      return waitFor(`${n} more requests`, () => served() >= target || undefined, 30000);
    };
    await more(20);
    await cp.close();
    await more(20);
    const t0 = performance.now();
    cp = await startControlPlane({
      paths: [path.dirname(file)],
      xdsPort,
      adminPort: cpAdminPort,
      listenAddress: '127.0.0.1',
    });
    await waitFor(
      'reconnected and converged',
      () => ackedAll(cp, 'envoy-delta') && ackedAll(cp, 'envoy-sotw'),
      20000,
    );
    console.log(
      `xDS restart: Envoys reconnected and converged ${(performance.now() - t0).toFixed(0)} ms after restart`,
    );
    await more(20);
  }

  it('a restarted Envoy gets the current config', async () => {
    await envoys.sotw.stop();
    envoys.sotw = await startEnvoy(boot.sotw, admin.sotw);
    expect(await routeDump(envoys.sotw)).toContain('/moved');
    await waitFor('converged', () => ackedAll(cp, 'envoy-sotw'));
    const before = await served(envoys.sotw);
    for (let i = 0; i < 30; i++)
      expect(await get(input.listenPort, '/moved')).toEqual({ status: 200, backend: 'b' });
    expect(await served(envoys.sotw)).toBeGreaterThan(before);
  });
});
