// `infergate crds`: the CRDs generated from src/api/crds. Hermetic: the YAML parses, is structural, carries what the
// spec needs, and the schema and the decoder agree on samples built from the schema itself (valid ones at the
// limits, and one mutation per constraint). On a real API server: the CRDs become Established, the same samples
// (plus the repository's examples) are accepted or rejected by the API server exactly as by the decoder, stored
// objects decode to what their input decoded to (the defaults agree), and serve / the EPP watch the kinds.

import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CORE_SCHEMA, dump, loadAll } from 'js-yaml';
import { CRD_KINDS, crdName, crdsYaml, type CrdKind, type Field, type Json } from '../../src/api/crds';
import { parseFile, parseObject } from '../../src/api/load';
import { Cluster, clusterToolsMissing } from '../cluster/cluster';
import { infergate } from '../support/cli';
import { tmpDir } from '../support/tmp';
import { POOL, pod, pool, setPodStatus, until } from './fixtures';

const ROOT = path.resolve(__dirname, '../..');
const OURS = new Set(CRD_KINDS.map((k) => k.kind));

const decoded = (obj: unknown) => parseObject(obj, 'sample');
const errorsOf = (obj: unknown) => decoded(obj).problems.filter((p) => p.severity === 'error');

// ---------------------------------------------------------------- samples built from the schema

interface Sample {
  what: string;
  object: Json;
  valid: boolean;
}

interface Mutation {
  what: string;
  /** The field path both the decoder and the API server name in their error. */
  path: string;
  object: Json;
}

type Key = string | number;
const DELETE = Symbol('delete');

const wrap = (k: CrdKind, name: string, spec: unknown): Json => ({
  apiVersion: `${k.group}/${k.version}`,
  kind: k.kind,
  metadata: { name, namespace: 'default' },
  spec,
});

/** A valid value: only what is required at the lower limits, or every field at the upper limits. */
function valueOf(f: Field, full: boolean): unknown {
  switch (f.type) {
    case 'string':
      if (f.enum) return full ? f.enum.at(-1) : f.enum[0];
      return 'a'.repeat(full && f.maxLength ? f.maxLength : Math.max(f.minLength ?? 1, 1));
    case 'integer':
      return full ? (f.maximum ?? 2 ** 31) : (f.minimum ?? -7);
    case 'object':
      return Object.fromEntries(
        Object.entries(f.properties)
          .filter(([, p]) => full || p.required)
          .map(([k, p]) => [k, valueOf(p, full)]),
      );
    case 'array':
      return Array.from({ length: full ? (f.maxItems ?? 2) : (f.minItems ?? 0) }, () =>
        valueOf(f.items, full),
      );
  }
}

const kindTag = (k: CrdKind) => k.shortNames[0];

function crdSamples(k: CrdKind): Sample[] {
  return [
    {
      what: `${k.kind}: required fields only`,
      object: wrap(k, `${kindTag(k)}-min`, valueOf(k.spec, false)),
      valid: true,
    },
    {
      what: `${k.kind}: every field at its limits`,
      object: wrap(k, `${kindTag(k)}-max`, valueOf(k.spec, true)),
      valid: true,
    },
  ];
}

const pathOf = (keys: Key[]) =>
  keys.map((x, i) => (typeof x === 'number' ? `[${x}]` : i ? `.${x}` : x)).join('');

/** One change per constraint of the schema, applied to the every-field sample. */
function crdMutations(k: CrdKind): Mutation[] {
  const base = valueOf(k.spec, true);
  const out: Mutation[] = [];
  const add = (keys: Key[], what: string, value: unknown) => {
    const spec = structuredClone(base) as Json;
    const root: Json = { spec };
    let at: Json = root;
    for (const key of keys.slice(0, -1)) at = at[key] as Json;
    const last = keys.at(-1)!;
    if (value === DELETE) delete at[last];
    else at[last] = value;
    const p = pathOf(keys);
    out.push({
      what: `${k.kind} ${p}: ${what}`,
      path: p,
      object: wrap(k, `${kindTag(k)}-bad-${out.length}`, root.spec),
    });
  };
  const walk = (f: Field, keys: Key[]) => {
    if (f.required) add(keys, 'required field missing', DELETE);
    add(
      keys,
      `wrong type (${f.type === 'string' ? 'a number' : 'a string'})`,
      f.type === 'string' ? 42 : 'x',
    );
    switch (f.type) {
      case 'string':
        if (f.enum) add(keys, 'value outside the enum', 'NotInTheEnum');
        if (f.minLength) add(keys, `shorter than ${f.minLength}`, 'a'.repeat(f.minLength - 1));
        if (f.maxLength) add(keys, `longer than ${f.maxLength}`, 'a'.repeat(f.maxLength + 1));
        break;
      case 'integer':
        add(keys, 'not an integer', 1.5);
        if (f.minimum !== undefined) add(keys, `below ${f.minimum}`, f.minimum - 1);
        if (f.maximum !== undefined) add(keys, `above ${f.maximum}`, f.maximum + 1);
        break;
      case 'object':
        add([...keys, 'bogus'], 'unknown field', 'x');
        for (const [name, p] of Object.entries(f.properties)) walk(p, [...keys, name]);
        break;
      case 'array': {
        const item = valueOf(f.items, true);
        if (f.minItems) add(keys, `fewer than ${f.minItems} items`, Array(f.minItems - 1).fill(item));
        if (f.maxItems) add(keys, `more than ${f.maxItems} items`, Array(f.maxItems + 1).fill(item));
        walk(f.items, [...keys, 0]);
        break;
      }
    }
  };
  walk(k.spec, ['spec']);
  return out;
}

/** Our kinds' documents in a repository file, each with whether the decoder accepts it. */
function fileSamples(rel: string): Sample[] {
  const text = fs.readFileSync(path.join(ROOT, rel), 'utf8');
  const values = loadAll(text, undefined, { schema: CORE_SCHEMA }) as Json[];
  const results = parseFile(text, rel);
  return values.flatMap((v, i) => {
    if (!v || !OURS.has(v.kind as string)) return [];
    const ok = !results[i].problems.some((p) => p.severity === 'error');
    return [{ what: `${rel} document ${i}`, object: v, valid: ok }];
  });
}

describe('infergate crds (hermetic)', () => {
  const docs = loadAll(crdsYaml(), undefined, { schema: CORE_SCHEMA }) as Json[];

  test('the CLI prints the generated multi-document YAML: one CRD per kind', () => {
    const r = infergate('crds');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(crdsYaml());
    expect(docs.map((d) => (d.metadata as Json).name)).toEqual([
      'inferenceobjectives.inference.networking.x-k8s.io',
      'inferencemodelrewrites.inference.networking.x-k8s.io',
      'inferencemodels.inference.networking.x-k8s.io',
    ]);
    const json = infergate('crds', '--format', 'json');
    expect(JSON.parse(json.stdout).items).toEqual(docs);
    expect(infergate('crds', '--format', 'xml').code).toBe(2);
  });

  test.each(CRD_KINDS.map((k) => [k.kind, k] as const))(
    '%s: names, version, subresource, columns',
    (_, k) => {
      const crd = docs.find((d) => (d.metadata as Json).name === crdName(k)) as Json;
      const spec = crd.spec as Json;
      expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
      expect(spec.group).toBe('inference.networking.x-k8s.io');
      expect(spec.scope).toBe('Namespaced');
      expect(spec.names).toMatchObject({
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        singular: k.singular,
        categories: ['inference'],
      });
      expect((spec.names as Json).shortNames).toHaveLength(1);
      const versions = spec.versions as Json[];
      expect(versions).toHaveLength(1);
      expect(versions[0]).toMatchObject({
        name: 'v1alpha2',
        served: true,
        storage: true,
        subresources: { status: {} },
      });
      const columns = versions[0].additionalPrinterColumns as Json[];
      expect(columns.map((c) => c.name)).toContain('Pool');
      expect(columns.at(-1)).toEqual({ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' });
      const schema = (versions[0].schema as Json).openAPIV3Schema as Json;
      expect(schema.required).toEqual(['spec']);
      expect(structuralProblems(schema, '')).toEqual([]);
    },
  );

  test('the decoder accepts every valid sample built from the schema, and decodes the schema defaults', () => {
    for (const k of CRD_KINDS) {
      for (const s of crdSamples(k)) {
        expect([s.what, errorsOf(s.object)]).toEqual([s.what, []]);
      }
    }
    // Defaults the CRD declares are the ones the decoder fills in.
    const [minimal] = crdSamples(CRD_KINDS[1]);
    const r = decoded(minimal.object).resource as unknown as { spec: Json };
    expect(r.spec.poolRef).toEqual({
      group: 'inference.networking.k8s.io',
      kind: 'InferencePool',
      name: 'a',
    });
    const model = decoded(crdSamples(CRD_KINDS[2])[0].object).resource as unknown as { spec: Json };
    expect((model.spec.poolRef as Json).group).toBe('inference.networking.x-k8s.io');
  });

  test('the decoder rejects every mutation the schema rejects, at the same field path', () => {
    let n = 0;
    for (const k of CRD_KINDS) {
      for (const m of crdMutations(k)) {
        const errors = errorsOf(m.object);
        const at = errors.filter((e) => (e.path ?? '').startsWith(m.path));
        expect([m.what, at.length > 0 ? 'rejected there' : errors]).toEqual([m.what, 'rejected there']);
        n++;
      }
    }
    console.log(`${n} schema mutations, each rejected by the decoder at its path`);
  });

  test('the repository examples of these kinds: the decoder sorts them into valid and invalid', () => {
    const samples = repoSamples();
    expect(samples.filter((s) => s.valid).length).toBeGreaterThanOrEqual(4);
    expect(samples.filter((s) => !s.valid).length).toBeGreaterThanOrEqual(3);
  });
});

function repoSamples(): Sample[] {
  return [
    ...fileSamples('examples/quickstart/pool.yaml'),
    ...fileSamples('test/testdata/api/valid.yaml'),
    ...fileSamples('test/testdata/api/inference-errors.yaml'),
  ];
}

/** What would make the API server call a schema non-structural (or is simply wrong), with the schema path. */
function structuralProblems(s: Json, at: string): string[] {
  const out: string[] = [];
  if (typeof s.type !== 'string') out.push(`${at}: no type`);
  if ('x-kubernetes-preserve-unknown-fields' in s) out.push(`${at}: preserves unknown fields`);
  if (s.type === 'object') {
    const props = (s.properties ?? {}) as Record<string, Json>;
    if (at !== '.metadata' && !s.properties) out.push(`${at}: object without properties`);
    for (const r of (s.required ?? []) as string[])
      if (!props[r]) out.push(`${at}: required ${r} is no property`);
    for (const [k, p] of Object.entries(props)) out.push(...structuralProblems(p, `${at}.${k}`));
  }
  if (s.type === 'array') {
    const items = s.items as Json | undefined;
    if (!items) out.push(`${at}: array without items`);
    else out.push(...structuralProblems(items, `${at}[]`));
    for (const key of (s['x-kubernetes-list-map-keys'] ?? []) as string[]) {
      if (!((items?.required ?? []) as string[]).includes(key))
        out.push(`${at}: map key ${key} not required`);
    }
  }
  if (s.default !== undefined && Array.isArray(s.enum) && !s.enum.includes(s.default))
    out.push(`${at}: default outside the enum`);
  if (typeof s.description !== 'string' && at !== '.metadata' && at !== '') out.push(`${at}: no description`);
  return out;
}

// ---------------------------------------------------------------- on a real API server

const missing = clusterToolsMissing();
if (missing)
  console.log(
    `test/kubernetes/crds.test.ts cluster part skipped: scripts/cluster-tools.sh --check failed:\n${missing}`,
  );
const suite = missing ? describe.skip : describe;

jest.setTimeout(180_000);

suite('the CRDs on a real API server', () => {
  let c: Cluster;
  const dir = tmpDir('k8s-crds-');

  beforeAll(async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist/src/api/crds/generate.js')))
      spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT });
    c = new Cluster(path.join(dir, 'cluster'));
    await c.up();
    await c.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'models' } });
  });

  afterAll(async () => {
    if (c) await c.down();
  });

  test('scripts/cluster installed ours: Established, names accepted, structural; short names and category work', async () => {
    for (const k of CRD_KINDS) {
      const crd = await c.getJson<{ status: { conditions: Json[] } }>(['crd', crdName(k)]);
      const cond = Object.fromEntries(crd.status.conditions.map((x) => [x.type, x.status]));
      expect([k.kind, cond]).toEqual([k.kind, { Established: 'True', NamesAccepted: 'True' }]);
    }
    const r = await c.kubectl(['get', 'infobj,infrewrite,infmodel,inference', '-A']);
    expect(r.stderr).not.toMatch(/error/i);
  });

  test('valid samples are accepted by the API server and by the decoder; stored objects decode the same', async () => {
    const valid = [...repoSamples().filter((s) => s.valid), ...CRD_KINDS.flatMap(crdSamples)];
    const names = new Set<string>();
    for (const s of valid) {
      const m = s.object.metadata as Json;
      expect(names.has(`${s.object.kind} ${m.namespace ?? 'default'}/${m.name}`)).toBe(false);
      names.add(`${s.object.kind} ${m.namespace ?? 'default'}/${m.name}`);
    }
    const file = path.join(dir, 'valid.yaml');
    fs.writeFileSync(file, valid.map((s) => `---\n${dump(s.object)}`).join(''));
    const created = await c.kubectl(['create', '-f', file], undefined, true);
    expect(created.stderr).toBe('');
    expect(created.stdout.trim().split('\n')).toHaveLength(valid.length);
    for (const s of valid) {
      const m = s.object.metadata as Json;
      const k = CRD_KINDS.find((x) => x.kind === s.object.kind)!;
      const stored = await c.getJson([
        `${k.plural}.${k.group}`,
        '-n',
        (m.namespace as string) ?? 'default',
        m.name as string,
      ]);
      const back = decoded(stored);
      expect([s.what, back.problems]).toEqual([s.what, []]);
      const want = decoded(s.object).resource as unknown as { spec: unknown };
      expect([s.what, (back.resource as unknown as { spec: unknown }).spec]).toEqual([s.what, want.spec]);
    }
    console.log(
      `${valid.length} valid samples accepted by the API server and the decoder, stored specs decode equal`,
    );
    const table = await c.kubectl(['get', 'infobj', '-n', 'default']);
    expect(table.stdout).toMatch(/^NAME\s+PRIORITY\s+POOL\s+ACCEPTED\s+AGE/);
    expect(table.stdout).toMatch(/critical-chat\s+10\s+vllm-llama3-8b-instruct/);
  });

  test('invalid samples are rejected by the API server and by the decoder', async () => {
    const invalid: { what: string; path?: string; object: Json }[] = [
      ...repoSamples().filter((s) => !s.valid),
      ...CRD_KINDS.flatMap(crdMutations),
    ];
    const sub = path.join(dir, 'invalid');
    fs.mkdirSync(sub);
    invalid.forEach((s, i) =>
      fs.writeFileSync(path.join(sub, `${String(i).padStart(3, '0')}.json`), JSON.stringify(s.object)),
    );
    // One exec, one kubectl per object, so each error is told apart (strict-decoding errors do not name the object).
    const script = `for f in ${sub}/*.json; do echo "== $f"; kubectl create -f "$f" 2>&1; echo "EXIT $?"; done`;
    const out = (await c.exec(['sh', '-c', script], { timeoutMs: 170_000 })).stdout;
    const answers = out.split(/^== .*\n/m).slice(1);
    expect(answers).toHaveLength(invalid.length);
    const report: string[] = [];
    invalid.forEach((s, i) => {
      const [answer, exit] = answers[i].trim().split(/\nEXIT /);
      report.push(`${s.what}\n  API server (exit ${exit}): ${answer.replace(/\n/g, '\n    ')}`);
      // Server-side: "Error from server ..." for a List, "The Kind "name" is invalid" for one object; never a
      // client-side "error: ..." (kubectl validates fields on the server, --validate=strict).
      expect([s.what, answer]).toEqual([
        s.what,
        expect.stringMatching(/^(Error from server|The \w+ "[^"]+" is invalid)/),
      ]);
      expect([s.what, exit]).toEqual([s.what, '1']);
      if (s.path) expect([s.what, answer]).toEqual([s.what, expect.stringContaining(s.path)]);
      expect([s.what, errorsOf(s.object).length > 0]).toEqual([s.what, true]);
    });
    console.log(
      `${invalid.length} invalid samples, each rejected by the API server and the decoder:\n${report.join('\n')}`,
    );
  });

  test('CEL: mixed targetModels weights rejected by both; modelName immutable on the API server', async () => {
    const model = crdSamples(CRD_KINDS[2])[1].object;
    const spec = model.spec as Json;
    const mixed = {
      ...model,
      metadata: { name: 'mixed-weights', namespace: 'default' },
      spec: { ...spec, targetModels: [{ name: 'a', weight: 1 }, { name: 'b' }] },
    };
    const r = await c.kubectl(['create', '-f', '-'], JSON.stringify(mixed), true);
    console.log(`mixed weights — API server: ${r.stderr.trim()}`);
    expect(r.stderr).toMatch(/weights must be set on all targetModels or on none/);
    expect(errorsOf(mixed).map((e) => e.message)).toEqual([
      'weights must be set on all targetModels or on none',
    ]);
    const m = model.metadata as Json;
    const p = await c.kubectl(
      [
        'patch',
        'infmodel',
        m.name as string,
        '-n',
        'default',
        '--type=merge',
        '-p',
        '{"spec":{"modelName":"other"}}',
      ],
      undefined,
      true,
    );
    console.log(`modelName changed — API server: ${p.stderr.trim()}`);
    expect(p.code).not.toBe(0);
    expect(p.stderr).toMatch(/modelName is immutable/);
  });

  describe('epp --kubernetes watches them', () => {
    const procs: ChildProcess[] = [];
    let log = '';
    afterAll(() => procs.forEach((p) => p.kill('SIGTERM')));

    // An ext_proc client inside the namespace (the EPP listens there): request headers and a body naming MODEL;
    // prints the model the EPP's body mutation carries, or what it answered instead.
    const probe = path.join(dir, 'probe.js');
    fs.writeFileSync(
      probe,
      `'use strict';
const [root, model] = process.argv.slice(2);
const grpc = require(require.resolve('@grpc/grpc-js', { paths: [root] }));
const ep = require(root + '/dist/generated/envoy/service/ext_proc/v3/external_processor.js');
const client = new ep.ExternalProcessorClient('127.0.0.1:9002', grpc.credentials.createInsecure());
const call = client.process();
const hdrs = (h) => ({ headers: Object.entries(h).map(([key, v]) => ({ key, value: '', rawValue: Buffer.from(v) })) });
const seen = [];
call.on('data', (r) => {
  const m = r.response && r.response.value && r.response.value.response && r.response.value.response.bodyMutation;
  const b = m && m.mutation && (m.mutation.$case === 'streamedResponse' ? m.mutation.value.body : m.mutation.value);
  if (b && b.length) seen.push('model ' + JSON.parse(Buffer.from(b).toString()).model);
  if (r.response && r.response.$case === 'immediateResponse') seen.push('immediate ' + r.response.value.status.code);
});
call.on('error', (e) => seen.push('error ' + e.message));
call.on('status', () => setImmediate(() => { client.close(); console.log(seen.join('; ')); }));
call.write(ep.ProcessingRequest.fromPartial({ request: { $case: 'requestHeaders', value: {
  headers: hdrs({ ':method': 'POST', ':path': '/v1/completions', 'content-type': 'application/json' }) } } }));
call.write(ep.ProcessingRequest.fromPartial({ request: { $case: 'requestBody', value: {
  body: Buffer.from(JSON.stringify({ model, prompt: 'hello' })), endOfStream: true } } }));
call.end();
`,
    );
    const ask = async (model: string) => (await c.exec(['node', probe, ROOT, model])).stdout.trim();

    test('an InferenceModelRewrite applied with kubectl rewrites the model the EPP sends on', async () => {
      await c.apply(pool);
      await c.apply(pod('rw-0'));
      await setPodStatus(c, 'rw-0', '10.244.1.40', true);
      const sim = c.spawn(['node', 'bin/infergate.js', 'sim', '--address', '10.244.1.40', '--port', '8000']);
      const epp = c.spawn([
        'node',
        'bin/infergate.js',
        'epp',
        '--kubernetes',
        '--pool-name',
        POOL,
        '--pool-namespace',
        'default',
        '--address',
        '127.0.0.1',
      ]);
      procs.push(sim, epp);
      for (const p of procs) {
        p.stderr!.on('data', (d: Buffer) => (log += d.toString()));
        p.stdout!.on('data', (d: Buffer) => (log += d.toString()));
      }
      const before = await until(
        'the EPP routes',
        async () => {
          const a = await ask('food-review');
          return a.startsWith('model') ? a : undefined;
        },
        60_000,
      );
      expect(before).toBe('model food-review');
      const t0 = Date.now();
      await c.apply({
        apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
        kind: 'InferenceModelRewrite',
        metadata: { name: 'food-review-canary', namespace: 'default' },
        spec: {
          poolRef: { name: POOL },
          rules: [
            { matches: [{ model: { value: 'food-review' } }], targets: [{ modelRewrite: 'food-review-v2' }] },
          ],
        },
      });
      const after = await until('the rewrite applied', async () => {
        const a = await ask('food-review');
        return a === 'model food-review-v2' ? a : undefined;
      });
      console.log(
        `InferenceModelRewrite applied → the EPP rewrites food-review to food-review-v2 after ${Date.now() - t0} ms`,
      );
      expect(after).toBe('model food-review-v2');
      const notServed = log.split('\n').filter((l) => l.includes('not served'));
      for (const k of CRD_KINDS) expect(notServed.filter((l) => l.includes(`"${k.kind}"`))).toEqual([]);
    });
  });

  describe('serve --kubernetes watches them', () => {
    let serve: ChildProcess;
    let log = '';
    afterAll(() => serve?.kill('SIGTERM'));

    test('no "kind not served" warning for our kinds', async () => {
      serve = c.spawn(['node', 'bin/infergate.js', 'serve', '--kubernetes']);
      serve.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      serve.stdout!.on('data', (d: Buffer) => (log += d.toString()));
      await until('serve up', async () =>
        (await c.exec(['curl', '-sf', 'http://127.0.0.1:9091/debug/status'])).code === 0 ? true : undefined,
      );
      // The warning does work: nothing serves the pre-GA x-k8s.io InferencePool in this cluster.
      const notServed = log.split('\n').filter((l) => l.includes('not served'));
      console.log(`serve --kubernetes, kinds not served:\n${notServed.join('\n')}`);
      expect(notServed.some((l) => l.includes('"InferencePool"') && l.includes('v1alpha2'))).toBe(true);
      for (const k of CRD_KINDS) expect(notServed.filter((l) => l.includes(`"${k.kind}"`))).toEqual([]);
    });
  });
});
