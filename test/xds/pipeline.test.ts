// The input pipeline without Envoy: full compile, the endpoint fast path, a broken file (its resources keep their
// last good versions), a vanished Gateway.

process.env.INFERGATE_LOG_LEVEL ??= 'error';

import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileSource } from '../../src/sources/file-source';
import { ConfigPipeline } from '../../src/sources/pipeline';
import { watchFiles } from '../../src/sources/files';
import { SnapshotCache } from '../../src/xds/cache';
import { XdsMetrics } from '../../src/xds/metrics';
import { XDS } from '../../src/xds/resource-types';
import { tmpDir } from '../support/envoy';
import { GROUP, gatewayYaml, waitFor, type Input } from './fixtures';

const input: Input = {
  listenPort: 10080,
  routes: { '/a': 'svc-a' },
  services: { 'svc-a': { address: '127.0.0.1', port: 9001 } },
};

describe('ConfigPipeline', () => {
  let dir: string;
  let cache: SnapshotCache;
  let metrics: XdsMetrics;
  let pipeline: ConfigPipeline;
  let source: FileSource;
  const write = (text: string) => fs.writeFileSync(path.join(dir, 'gw.yaml'), text);
  const run = () => pipeline.run(source.refresh());

  beforeEach(() => {
    dir = tmpDir('pipeline');
    cache = new SnapshotCache();
    metrics = new XdsMetrics();
    source = new FileSource([dir], { watch: false });
    pipeline = new ConfigPipeline({ cache, metrics });
  });
  afterEach(() => {
    pipeline.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('publishes, takes the endpoint fast path, keeps a broken file at its last good, empties a vanished Gateway', async () => {
    write(gatewayYaml(input));
    expect(run()).toMatchObject({ ok: true, path: 'full' });
    const first = cache.get(GROUP)!;

    write(gatewayYaml({ ...input, services: { 'svc-a': { address: '127.0.0.2', port: 9001 } } }));
    expect(run()).toMatchObject({ ok: true, path: 'endpoints' });
    const second = cache.get(GROUP)!;
    for (const t of [XDS.Listener, XDS.RouteConfiguration, XDS.Cluster]) {
      // The very same type snapshot: nothing re-encoded, same version.
      expect(second.types.get(t.typeUrl)).toBe(first.types.get(t.typeUrl));
    }
    expect(second.types.get(XDS.ClusterLoadAssignment.typeUrl)!.version).not.toBe(
      first.types.get(XDS.ClusterLoadAssignment.typeUrl)!.version,
    );

    // A syntax error hides which resources the file meant: all it contributed stays at its last good version.
    write('kind: [');
    const broken = run();
    expect(broken.ok).toBe(false);
    expect(broken.rejected).toEqual([
      expect.objectContaining({
        file: path.join(dir, 'gw.yaml'),
        document: 0,
        problems: [expect.stringMatching(/gw.yaml doc 0: YAML syntax error at line 2/)],
        keptLastGood: expect.arrayContaining(['Gateway default/gw', 'HTTPRoute default/routes']),
      }),
    ]);
    expect(broken.errors.join()).toMatch(/gw.yaml/);
    expect(cache.get(GROUP)!.version).toBe(second.version);
    expect(await metrics.registry.getSingleMetricAsString('infergate_compile_last_ok')).toMatch(/ 0$/);
    expect(pipeline.status()).toMatchObject({ rejected: broken.rejected });

    write(
      gatewayYaml(input).replace(
        'name: gw, namespace: default}\nspec:',
        'name: other, namespace: default}\nspec:',
      ),
    );
    expect(run().ok).toBe(true);
    expect(cache.get(GROUP)!.types.get(XDS.Listener.typeUrl)!.resources.size).toBe(0);
    expect(cache.groups()).toEqual(['default/gw', 'default/other']);
  });

  it('the watcher reloads once per burst of writes', async () => {
    write(gatewayYaml(input));
    let reloads = 0;
    const w = watchFiles([dir], () => reloads++, 100);
    try {
      for (let i = 0; i < 5; i++) write(gatewayYaml({ ...input, listenPort: 10081 + i }));
      await waitFor('reload', () => reloads > 0);
      await new Promise((r) => setTimeout(r, 300));
      expect(reloads).toBe(1);
      fs.writeFileSync(path.join(dir, '.swap'), 'x');
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'x');
      await new Promise((r) => setTimeout(r, 300));
      expect(reloads).toBe(1);
    } finally {
      w.close();
    }
  });
});
