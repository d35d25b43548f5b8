import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Datastore } from '../../../src/epp/datastore/datastore';
import { FilePoolSource } from '../../../src/epp/datastore/source';
import { metrics } from './fixtures';

const POOL = `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool, namespace: default}
spec:
  selector: {matchLabels: {app: vllm}}
  targetPorts: [{number: 8000}, {number: 8001}]
  endpointPickerRef: {name: epp, port: {number: 9002}}
`;
const podYaml = (
  name: string,
  ip: string,
  extra: { ready?: string; annotations?: string; deleting?: boolean; app?: string } = {},
) => `---
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: default
  labels: {app: ${extra.app ?? 'vllm'}}
${extra.annotations ? `  annotations: {${extra.annotations}}\n` : ''}${extra.deleting ? '  deletionTimestamp: "2025-01-01T00:00:00Z"\n' : ''}status:
  podIP: ${ip}
  conditions: [{type: Ready, status: "${extra.ready ?? 'True'}"}]
`;
const MORE = `---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: critical, namespace: default}
spec: {priority: 10, poolRef: {name: pool}}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: elsewhere, namespace: default}
spec: {priority: 10, poolRef: {name: other-pool}}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModel
metadata: {name: legacy, namespace: default}
spec: {modelName: food, criticality: Sheddable, poolRef: {name: pool}}
`;

describe('datastore from files', () => {
  let dir: string;
  let ds: Datastore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'epp-ds-'));
  });
  afterEach(() => {
    ds?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('endpoints are Ready pods × targetPorts, honouring active-ports; unready and deleting pods are left out', async () => {
    writeFileSync(
      join(dir, 'pool.yaml'),
      POOL +
        podYaml('a', '10.0.0.1') +
        podYaml('b', '10.0.0.2', { annotations: '"inference.networking.k8s.io/active-ports": "8001"' }) +
        podYaml('c', '10.0.0.3', { ready: 'False' }) +
        podYaml('d', '10.0.0.4', { deleting: true }) +
        podYaml('e', '10.0.0.5', { app: 'other' }) +
        MORE,
    );
    ds = new Datastore({ name: 'pool', namespace: 'default' });
    await ds.attach(new FilePoolSource([dir]));
    expect(ds.synced).toBe(true);
    expect(ds.endpoints().map((e) => [e.endpoint.name, e.endpoint.key])).toEqual([
      ['a-rank-0', '10.0.0.1:8000'],
      ['a-rank-1', '10.0.0.1:8001'],
      ['b-rank-1', '10.0.0.2:8001'],
    ]);
    expect([...ds.objectives().keys()]).toEqual(['critical']);
    expect(ds.models().get('food')?.spec.criticality).toBe('Sheddable');
  });

  it('applies file changes without a restart, keeping scraped metrics of surviving endpoints', async () => {
    const file = join(dir, 'pool.yaml');
    writeFileSync(file, POOL + podYaml('a', '10.0.0.1'));
    ds = new Datastore({ name: 'pool', namespace: 'default' });
    await ds.attach(new FilePoolSource([file], { debounceMs: 20 }));
    ds.updateMetrics('10.0.0.1:8000', metrics({ waitingQueueSize: 7 }));
    const changed = new Promise<string[]>((resolve) =>
      ds.once('change', (eps) => resolve(eps.map((e) => e.endpoint.key))),
    );
    writeFileSync(file, POOL + podYaml('a', '10.0.0.1') + podYaml('b', '10.0.0.2'));
    expect(await changed).toEqual(['10.0.0.1:8000', '10.0.0.1:8001', '10.0.0.2:8000', '10.0.0.2:8001']);
    expect(ds.endpoint('10.0.0.1:8000')?.metrics?.waitingQueueSize).toBe(7);
  });

  it('is not synced while the pool is missing', async () => {
    writeFileSync(join(dir, 'pods.yaml'), podYaml('a', '10.0.0.1'));
    ds = new Datastore({ name: 'pool', namespace: 'default' });
    await ds.attach(new FilePoolSource([dir]));
    expect(ds.synced).toBe(false);
    expect(ds.endpoints()).toEqual([]);
  });
});
