// The file source with real files and the real watcher, and the EPP datastore on it: a syntax error in one
// file, a schema error in one document of a multi-document file, a previously good resource broken, a missing
// path, a deleted file. Every other resource keeps flowing.

process.env.INFERGATE_LOG_LEVEL ??= 'error';

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Datastore } from '../../src/epp/datastore/datastore';
import { FilePoolSource } from '../../src/epp/datastore/source';
import { FileSource } from '../../src/sources/file-source';
import type { SourceState } from '../../src/sources/source';
import { waitFor } from '../../src/util/wait';

const POOL = (selector = 'vllm') => `---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool, namespace: default}
spec:
  selector: {matchLabels: {app: ${selector}}}
  targetPorts: [{number: 8000}]
  endpointPickerRef: {name: epp, port: {number: 9002}}
`;
const pod = (name: string, ip: string, ready = '"True"') => `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default, labels: {app: vllm}}
status: {podIP: ${ip}, conditions: [{type: Ready, status: ${ready}}]}
`;
const ips = (s: SourceState) => s.resources.pods.map((p) => `${p.metadata.name}=${p.status?.podIP}`);

describe('FileSource', () => {
  let dir: string;
  let source: FileSource | undefined;
  const file = (name: string) => path.join(dir, name);
  const write = (name: string, text: string) => fs.writeFileSync(file(name), text);

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-file-source-'));
  });
  afterEach(() => {
    source?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a watched source; `next(probe)` waits for a delivered state the probe accepts. */
  async function watched() {
    const states: SourceState[] = [];
    source = new FileSource([dir], { debounceMs: 20 });
    await source.start((s) => states.push(s));
    return (what: string, probe: (s: SourceState) => boolean) =>
      waitFor(what, () => states.length > 0 && probe(states[states.length - 1]) && states[states.length - 1]);
  }

  it('a schema error in one document of a file rejects that document alone; the file’s other changes apply', async () => {
    write('pods.yaml', pod('a', '10.0.0.1') + pod('b', '10.0.0.2'));
    write('pool.yaml', POOL());
    const next = await watched();
    await next('first state', (s) => ips(s).length === 2);

    // b breaks (Ready must be a string), a moves: a's move is served, b stays at its last good version.
    write('pods.yaml', pod('a', '10.0.0.11') + pod('b', '10.0.0.12', '[1]'));
    const s = await next('a moved', (st) => ips(st).includes('a=10.0.0.11'));
    expect(ips(s)).toEqual(['a=10.0.0.11', 'b=10.0.0.2']);
    expect(s.rejected).toEqual([
      expect.objectContaining({
        resource: 'Pod default/b',
        file: file('pods.yaml'),
        document: 1,
        problems: [expect.objectContaining({ path: 'status.conditions[0].status', severity: 'error' })],
        kept: ['Pod default/b'],
      }),
    ]);
    // Only a changed: b (kept) and the untouched pool file are not changes.
    expect(s.changes.map((c) => `${c.type} ${c.id.name}`)).toEqual(['update a']);

    write('pods.yaml', pod('a', '10.0.0.11') + pod('b', '10.0.0.12'));
    const fixed = await next('b fixed', (st) => st.rejected.length === 0);
    expect(ips(fixed)).toEqual(['a=10.0.0.11', 'b=10.0.0.12']);
  });

  it('a syntax error keeps the file’s resources at their last good versions while other files change', async () => {
    write('pods.yaml', pod('a', '10.0.0.1'));
    write('pool.yaml', POOL());
    const next = await watched();
    await next('first state', (s) => s.resources.inferencePools.length === 1);
    const poolBefore = (await next('pool', () => true)).resources.inferencePools[0];

    write('pool.yaml', POOL('other').replace('targetPorts: [', 'targetPorts: [[{'));
    await next('syntax error reported', (s) => s.rejected.length === 1);
    write('pods.yaml', pod('a', '10.0.0.1') + pod('c', '10.0.0.3'));
    const s = await next('new pod', (st) => ips(st).length === 2);
    expect(s.resources.inferencePools).toEqual([poolBefore]);
    expect(s.rejected).toEqual([
      expect.objectContaining({
        file: file('pool.yaml'),
        id: undefined,
        problems: [
          expect.objectContaining({ message: expect.stringMatching(/YAML syntax error at line \d+/) }),
        ],
        kept: ['InferencePool default/pool'],
      }),
    ]);

    // A file deleted from a watched directory takes its resources with it, broken or not.
    fs.unlinkSync(file('pool.yaml'));
    const gone = await next('pool gone', (st) => st.resources.inferencePools.length === 0);
    expect(gone.rejected).toEqual([]);
    expect(gone.changes.map((c) => `${c.type} ${c.id.kind}`)).toEqual(['delete InferencePool']);
  });

  it('a named path that disappears is reported and keeps what it contributed', async () => {
    write('pods.yaml', pod('a', '10.0.0.1'));
    source = new FileSource([file('pods.yaml')], { watch: false });
    await source.start(() => undefined);
    fs.unlinkSync(file('pods.yaml'));
    const s = source.refresh();
    expect(ips(s)).toEqual(['a=10.0.0.1']);
    expect(s.rejected).toEqual([
      expect.objectContaining({
        file: file('pods.yaml'),
        problems: [expect.objectContaining({ message: 'cannot read: ENOENT' })],
        kept: ['Pod default/a'],
      }),
    ]);
  });
});

describe('EPP datastore on the shared source', () => {
  let dir: string;
  let ds: Datastore | undefined;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-epp-source-'));
  });
  afterEach(() => {
    ds?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a broken InferencePool keeps its last good version; endpoint changes still apply', async () => {
    fs.writeFileSync(path.join(dir, 'pool.yaml'), POOL());
    fs.writeFileSync(path.join(dir, 'pods.yaml'), pod('a', '10.0.0.1'));
    ds = new Datastore({ name: 'pool', namespace: 'default' });
    await ds.attach(new FilePoolSource([dir], { debounceMs: 20 }));
    expect(ds.synced).toBe(true);
    expect(ds.endpoints().map((e) => e.endpoint.key)).toEqual(['10.0.0.1:8000']);

    // The pool's targetPorts made invalid: rejected, the old pool still selects the pods.
    fs.writeFileSync(path.join(dir, 'pool.yaml'), POOL().replace('number: 8000', 'number: 0'));
    await waitFor('pool rejected', () => ds!.rejected().length === 1);
    expect(ds.rejected()[0]).toMatchObject({
      resource: 'InferencePool default/pool',
      document: 0,
      problems: [expect.objectContaining({ path: 'spec.targetPorts[0].number' })],
      kept: ['InferencePool default/pool'],
    });
    expect(ds.synced).toBe(true);

    fs.writeFileSync(path.join(dir, 'pods.yaml'), pod('a', '10.0.0.1') + pod('b', '10.0.0.2'));
    await waitFor('new endpoint', () => ds!.endpoints().length === 2);
    expect(ds.endpoints().map((e) => e.endpoint.key)).toEqual(['10.0.0.1:8000', '10.0.0.2:8000']);
    expect(ds.pool()?.spec.targetPorts).toEqual([{ number: 8000 }]);
    expect(ds.rejected()).toHaveLength(1);
  });
});
