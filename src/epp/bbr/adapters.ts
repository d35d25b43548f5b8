// The adapter → base-model map for X-Gateway-Base-Model-Name, read from a YAML file `{baseModel: [adapters...]}`
// (the shape of the upstream BBR's `bbr-managed` ConfigMaps, flattened).

import * as fs from 'node:fs';
import * as yaml from 'js-yaml';

export type BaseModelOf = Map<string, string>;

/** Parses `{base: [adapter, ...]}`; errors name the offending key. A base model maps to itself. */
export function parseAdapters(text: string, source = 'adapters'): BaseModelOf {
  const doc = yaml.load(text) ?? {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new Error(`${source}: must be a mapping of base model → adapters`);
  const map: BaseModelOf = new Map();
  for (const [base, adapters] of Object.entries(doc as Record<string, unknown>)) {
    if (!Array.isArray(adapters) || !adapters.every((a) => typeof a === 'string')) {
      throw new Error(`${source}: ${base}: must be a list of adapter names`);
    }
    map.set(base, base);
    for (const a of adapters as string[]) map.set(a, base);
  }
  return map;
}

export function loadAdapters(file: string): BaseModelOf {
  return parseAdapters(fs.readFileSync(file, 'utf8'), file);
}
