// Resource YAML mutations: a seed corpus of valid inputs (the compiler goldens and the quickstart), mutated as trees
// (drop, retype, rename, duplicate, deepen values) and as text (truncate, flip, splice, alias bombs, tabs).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { dump, loadAll, CORE_SCHEMA } from 'js-yaml';
import { Rng } from './rng';

export interface YamlInput {
  mutation: string;
  text: string;
}

/** The valid inputs the mutations start from. */
export function seedCorpus(root: string): string[] {
  const dirs = [path.join(root, 'test/testdata/compiler'), path.join(root, 'examples/quickstart')];
  const out: string[] = [];
  for (const d of dirs) {
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d).sort()) {
      if (f.endsWith('.in.yaml') || (d.endsWith('quickstart') && f.endsWith('.yaml')))
        out.push(fs.readFileSync(path.join(d, f), 'utf8'));
    }
  }
  return out;
}

type Json = unknown;

function randomScalar(r: Rng): Json {
  return r.pick<() => Json>([
    () => null,
    () => r.int(-5, 70000),
    () => 2 ** 53 + r.int(0, 9),
    () => -0.5,
    () => 1e308 * 10,
    () => r.chance(0.5),
    () => '',
    () => r.text(r.int(1, 40)),
    () => 'x'.repeat(r.int(250, 70000)),
    () => [],
    () => ({}),
    () => ['a', 1, null],
    () => ({ name: r.text(5), port: r.int(-1, 99999) }),
    () => '../../etc/passwd',
    () => '*',
    () => 'infergate.io/gateway-controller',
  ])();
}

function deepValue(depth: number): Json {
  let v: Json = 'leaf';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

/** Every (container, key) slot in the top 64 levels of a tree (iterative: a deepened value must not overflow). */
function slots(root: Json): [Record<string, Json> | Json[], string | number][] {
  const out: [Record<string, Json> | Json[], string | number][] = [];
  const todo: [Json, number][] = [[root, 0]];
  while (todo.length) {
    const [v, depth] = todo.pop()!;
    if (depth > 64 || !v || typeof v !== 'object') continue;
    const entries: [string | number, Json][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
    for (const [k, x] of entries) {
      out.push([v as Record<string, Json>, k]);
      todo.push([x, depth + 1]);
    }
  }
  return out;
}

function mutateTree(r: Rng, docs: Json[]): string {
  const n = r.int(1, 4);
  for (let i = 0; i < n; i++) {
    const all = slots(docs);
    if (all.length === 0) break;
    const [holder, key] = r.pick(all);
    const h = holder as Record<string | number, Json>;
    switch (r.weighted({ retype: 40, drop: 20, rename: 10, dup: 10, deepen: 5, kind: 8, swap: 7 })) {
      case 'retype':
        h[key] = randomScalar(r);
        break;
      case 'drop':
        if (Array.isArray(holder)) holder.splice(key as number, 1);
        else delete h[key];
        break;
      case 'rename':
        if (!Array.isArray(holder)) {
          h[r.pick(['name', 'kind', 'spec', 'port', 'namespace', r.text(4)])] = h[key];
          delete h[key];
        }
        break;
      case 'dup':
        if (Array.isArray(holder)) holder.push(JSON.parse(JSON.stringify(holder[key as number] ?? null)));
        break;
      case 'deepen':
        h[key] = deepValue(r.pick([50, 500, 3000]));
        break;
      case 'kind':
        h[key] = r.pick([
          'InferencePool',
          'HTTPRoute',
          'Gateway',
          'GatewayClass',
          'InferenceObjective',
          'InferenceModelRewrite',
          'InferenceModel',
          'Service',
          'EndpointSlice',
          'Secret',
          'Pod',
          'inference.networking.k8s.io/v1',
          'inference.networking.x-k8s.io/v1alpha2',
          'gateway.networking.k8s.io/v1',
          'v1',
        ]);
        break;
      case 'swap': {
        const [h2, k2] = r.pick(all);
        const t = (h2 as Record<string | number, Json>)[k2];
        (h2 as Record<string | number, Json>)[k2] = h[key];
        h[key] = t;
        break;
      }
    }
  }
  // YAML is a superset of JSON: documents too deep for the dumper go out as JSON.
  const one = (d: Json) => {
    try {
      return dump(d, { noRefs: true, lineWidth: -1, schema: CORE_SCHEMA });
    } catch {
      return JSON.stringify(d) + '\n';
    }
  };
  return docs.map(one).join('---\n');
}

function mutateText(r: Rng, text: string): string {
  switch (
    r.weighted({ truncate: 20, flip: 25, splice: 20, aliasBomb: 5, tabs: 10, junkDoc: 10, dupKey: 10 })
  ) {
    case 'truncate':
      return text.slice(0, r.int(0, text.length));
    case 'flip': {
      const b = Buffer.from(text);
      for (let i = 0; i < r.int(1, 8) && b.length; i++) b[r.int(0, b.length - 1)] = r.int(0, 255);
      return b.toString('latin1');
    }
    case 'splice': {
      const at = r.int(0, text.length);
      return (
        text.slice(0, at) +
        r.pick([': ', '- ', '{', '[', '&a ', '*a', '!!binary ', '%TAG', '? ', r.text(8)]) +
        text.slice(at)
      );
    }
    case 'aliasBomb': {
      let bomb = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
      for (let i = 1; i < 12; i++)
        bomb += `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]\n`;
      return `${text}\n---\n${bomb}apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: bomb, namespace: default}\nspec: {rules: *a11}\n`;
    }
    case 'tabs':
      return text.replace(/ {2}/g, () => (r.chance(0.2) ? '\t' : '  '));
    case 'junkDoc':
      return `${text}\n---\n${r.pick(['[]', '42', 'null', '"str"', '{kind: Gateway}', 'apiVersion: v1', '---', '...'])}\n`;
    case 'dupKey':
    default:
      return text.replace(/^(\s*)name: (.*)$/m, '$1name: $2\n$1name: dup');
  }
}

export function generateYaml(r: Rng, corpus: readonly string[]): YamlInput {
  const seed = r.pick(corpus);
  if (r.chance(0.65)) {
    let docs: Json[];
    try {
      docs = loadAll(seed, undefined, { schema: CORE_SCHEMA }).filter((d) => d != null);
    } catch {
      return { mutation: 'text', text: mutateText(r, seed) };
    }
    return { mutation: 'tree', text: mutateTree(r, docs) };
  }
  return { mutation: 'text', text: mutateText(r, seed) };
}
