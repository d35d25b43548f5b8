// `serve` with one input broken, observed the way an Envoy sees it: a real ADS (delta) client on the control
// plane's gRPC port, and /debug/status over HTTP. A syntax error in one file, a schema error in one document of a
// multi-document file and a previously good HTTPRoute broken each reject that resource alone: every other
// resource keeps publishing (endpoint changes on the fast path included), the broken one keeps its last good
// version, and the EPP datastore on the same files sees the same.

process.env.INFERGATE_LOG_LEVEL ??= 'error';

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startControlPlane, type ControlPlane } from '../../src/cli/serve';
import { Datastore } from '../../src/epp/datastore/datastore';
import { FilePoolSource } from '../../src/epp/datastore/source';
import type { RejectedReport } from '../../src/sources/pipeline';
import { waitFor } from '../../src/util/wait';
import { XDS } from '../../src/xds/resource-types';
import { GROUP, Mirror, TYPES, gateway, pod, pool, route } from './fixtures';

describe('serve with one input broken', () => {
  let dir: string;
  let cp: ControlPlane;
  let mirror: Mirror;
  let ds: Datastore;
  const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
  const rejected = async (): Promise<RejectedReport[]> => {
    const res = await fetch(`http://127.0.0.1:${cp.admin.port}/debug/status`);
    return ((await res.json()) as { inputs: { rejected: RejectedReport[] } }).inputs.rejected;
  };
  const typeVersions = () =>
    Object.fromEntries(TYPES.map((t) => [t.short, cp.cache.get(GROUP)!.types.get(t.typeUrl)!.version]));
  const podsA = (a0: string, a1 = '') => pod('a-0', 'pool-a', a0) + a1;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-serve-broken-'));
    write('gw.yaml', gateway);
    write('route-a.yaml', route('route-a', '/a', 'pool-a'));
    write('route-b.yaml', route('route-b', '/b', 'pool-b'));
    write('pool-a.yaml', pool('pool-a', podsA('10.1.0.1')));
    write('pool-b.yaml', pool('pool-b', pod('b-0', 'pool-b', '10.2.0.1')));
    cp = await startControlPlane({ paths: [dir], xdsPort: 0, adminPort: 0, debounceMs: 20 });
    mirror = new Mirror(cp.xds.port);
    ds = new Datastore({ name: 'pool-a', namespace: 'default' });
    await ds.attach(new FilePoolSource([dir], { debounceMs: 20 }));
  });
  afterAll(async () => {
    mirror.close();
    ds.close();
    await cp.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts with everything published', async () => {
    expect(cp.pipeline.lastReport).toMatchObject({ ok: true, rejected: [] });
    // ADS sends routes after endpoints: wait for both, or a busy machine sees EDS without RDS yet.
    await waitFor(
      'mirror has both pools and both routes',
      () => mirror.endpoints('inferencepool/default/pool-b').length === 1 && mirror.routes().length === 2,
    );
    expect(mirror.endpoints('inferencepool/default/pool-a')).toEqual(['10.1.0.1']);
    expect(mirror.routes()).toEqual(['/a', '/b']);
  });

  it('a syntax error in one file: its pool stays at its last good version, the other pool’s EDS change is pushed', async () => {
    // The error is in the pool's document: only that document is lost (the file's other documents still parse).
    write(
      'pool-b.yaml',
      pool('pool-b', pod('b-0', 'pool-b', '10.2.0.1')).replace('targetPorts: [', 'targetPorts: [[{'),
    );
    await waitFor('rejection reported', async () => (await rejected()).length === 1);
    expect(await rejected()).toEqual([
      expect.objectContaining({
        file: path.join(dir, 'pool-b.yaml'),
        document: 0,
        problems: [expect.stringMatching(/pool-b\.yaml doc 0: YAML syntax error at line 6:/)],
        keptLastGood: ['InferencePool default/pool-b'],
      }),
    ]);
    const versions = typeVersions();
    const pushes = new Map(mirror.pushes);

    write('pool-a.yaml', pool('pool-a', podsA('10.1.0.1', pod('a-1', 'pool-a', '10.1.0.2'))));
    await waitFor('EDS push for pool-a', () => mirror.endpoints('inferencepool/default/pool-a').length === 2);
    expect(mirror.endpoints('inferencepool/default/pool-a')).toEqual(['10.1.0.1', '10.1.0.2']);
    expect(mirror.endpoints('inferencepool/default/pool-b')).toEqual(['10.2.0.1']);
    expect(cp.pipeline.lastReport).toMatchObject({ ok: false, path: 'endpoints' });
    // The endpoint fast path: only ClusterLoadAssignments moved, nothing else was pushed.
    expect(typeVersions()).toEqual({ ...versions, ClusterLoadAssignment: expect.any(String) });
    expect(typeVersions().ClusterLoadAssignment).not.toBe(versions.ClusterLoadAssignment);
    for (const t of [XDS.Cluster, XDS.Listener, XDS.RouteConfiguration])
      expect(mirror.pushes.get(t.typeUrl)).toBe(pushes.get(t.typeUrl));
    await waitFor('EPP sees the new pod', () => ds.endpoints().length === 2);
    expect((await rejected()).map((r) => r.file)).toEqual([path.join(dir, 'pool-b.yaml')]);
  });

  it('a schema error in one document of a multi-document file rejects that document alone', async () => {
    // a-0 moves; a-1 breaks (a condition's status must be a string) and keeps its last good address.
    write('pool-a.yaml', pool('pool-a', podsA('10.1.0.11', pod('a-1', 'pool-a', '10.1.0.12', '[1]'))));
    await waitFor('a-0 moved', () => mirror.endpoints('inferencepool/default/pool-a').includes('10.1.0.11'));
    expect(mirror.endpoints('inferencepool/default/pool-a')).toEqual(['10.1.0.11', '10.1.0.2']);
    expect(await rejected()).toContainEqual({
      resource: 'Pod default/a-1',
      file: path.join(dir, 'pool-a.yaml'),
      document: 3,
      problems: [
        expect.stringMatching(/pool-a\.yaml doc 3: Pod default\/a-1: status\.conditions\[0\]\.status: /),
      ],
      keptLastGood: ['Pod default/a-1'],
    });
    await waitFor('EPP sees the move', () => ds.endpoint('10.1.0.11:8000'));
    expect(ds.endpoints().map((e) => e.endpoint.key)).toEqual(['10.1.0.11:8000', '10.1.0.2:8000']);
    expect(ds.rejected().map((r) => r.resource)).toEqual(['Pod default/a-1', undefined]);
  });

  it('a previously good HTTPRoute broken keeps its last good version while another route changes', async () => {
    write('route-a.yaml', route('route-a', '/aa', 'pool-a', '"eighty"'));
    await waitFor('route-a rejected', async () =>
      (await rejected()).some((r) => r.resource === 'HTTPRoute default/route-a'),
    );
    write('route-b.yaml', route('route-b', '/bb', 'pool-b'));
    await waitFor('RDS push with /bb', () => mirror.routes().includes('/bb'));
    expect(mirror.routes()).toEqual(['/a', '/bb']);
    expect(await rejected()).toContainEqual({
      resource: 'HTTPRoute default/route-a',
      file: path.join(dir, 'route-a.yaml'),
      document: 0,
      problems: [
        expect.stringMatching(/HTTPRoute default\/route-a: spec\.rules\[0\]\.backendRefs\[0\]\.port: /),
      ],
      keptLastGood: ['HTTPRoute default/route-a'],
    });
    // A route that never loaded is simply absent.
    write('route-c.yaml', route('route-c', '/c', 'pool-a', '"eighty"'));
    await waitFor('route-c rejected', async () =>
      (await rejected()).some((r) => r.resource === 'HTTPRoute default/route-c'),
    );
    expect((await rejected()).find((r) => r.resource === 'HTTPRoute default/route-c')?.keptLastGood).toEqual(
      [],
    );
    expect(mirror.routes()).toEqual(['/a', '/bb']);
  });

  it('fixing every input publishes it all and clears the rejections', async () => {
    write('route-a.yaml', route('route-a', '/aa', 'pool-a'));
    write('route-c.yaml', route('route-c', '/c', 'pool-a'));
    write('pool-a.yaml', pool('pool-a', podsA('10.1.0.11', pod('a-1', 'pool-a', '10.1.0.12'))));
    write('pool-b.yaml', pool('pool-b', pod('b-0', 'pool-b', '10.2.0.2')));
    await waitFor('all good', () => cp.pipeline.lastReport?.ok === true);
    expect(await rejected()).toEqual([]);
    await waitFor('mirror converged', () => mirror.routes().join() === '/aa,/bb,/c');
    await waitFor(
      'pool-b moved',
      () => mirror.endpoints('inferencepool/default/pool-b').join() === '10.2.0.2',
    );
    expect(mirror.endpoints('inferencepool/default/pool-a')).toEqual(['10.1.0.11', '10.1.0.12']);
    await waitFor('EPP clean', () => ds.rejected().length === 0);
  });
});
