// Strict, accumulating decoding of untyped YAML/JSON into typed values. Every reader records a Problem (with
// the field path) instead of throwing, so one pass reports everything that is wrong with a document.

import type { Problem } from './types';

export type Json = Record<string, unknown>;

/** Collects the problems of one document. `resource` is filled in once the kind and name are known. */
export class Ctx {
  readonly problems: Problem[] = [];
  resource?: string;

  constructor(
    readonly file: string,
    readonly document: number,
  ) {}

  error(path: string, message: string): void {
    this.add('error', path, message);
  }

  warn(path: string, message: string): void {
    this.add('warning', path, message);
  }

  get failed(): boolean {
    return this.problems.some((p) => p.severity === 'error');
  }

  private add(severity: Problem['severity'], path: string, message: string): void {
    const p: Problem = { file: this.file, document: this.document, message, severity };
    if (this.resource) p.resource = this.resource;
    if (path) p.path = path;
    this.problems.push(p);
  }
}

export function isJson(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function child(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

export function index(path: string, i: number): string {
  return `${path}[${i}]`;
}

/** Accept any field: used for the parts of core kinds that infergate does not read. */
export const ANY = '*';
export type Known = readonly string[] | typeof ANY;

export interface Limits {
  required?: boolean;
  min?: number;
  max?: number;
}

export interface StrRules extends Limits {
  oneOf?: readonly string[];
  /** A format check returning an error message, or undefined when the value is fine. */
  check?: (v: string) => string | undefined;
}

/**
 * Wraps one mapping of the input. Absent and `null` fields are the same (as in Kubernetes), and every reader
 * returns undefined after reporting a problem, so callers simply skip what is missing.
 */
export class Obj {
  constructor(
    readonly ctx: Ctx,
    readonly path: string,
    readonly raw: Json,
  ) {}

  at(key: string): string {
    return child(this.path, key);
  }

  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  error(key: string, message: string): void {
    this.ctx.error(key ? this.at(key) : this.path, message);
  }

  /** Published API fields that infergate does not implement: accepted with a warning, then dropped. */
  ignored(...keys: string[]): void {
    for (const k of keys) if (this.has(k)) this.ctx.warn(this.at(k), 'not supported by infergate: ignored');
  }

  private present(key: string, required?: boolean): unknown {
    if (this.has(key)) return this.raw[key];
    if (required) this.error(key, 'required');
    return undefined;
  }

  str(key: string, rules: StrRules = {}): string | undefined {
    const v = this.present(key, rules.required);
    if (v === undefined) return undefined;
    return checkStr(this.ctx, this.at(key), v, rules);
  }

  int(key: string, rules: Limits = {}): number | undefined {
    const v = this.present(key, rules.required);
    if (v === undefined) return undefined;
    return checkInt(this.ctx, this.at(key), v, rules);
  }

  bool(key: string, rules: Limits = {}): boolean | undefined {
    const v = this.present(key, rules.required);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') return void this.error(key, 'must be a boolean');
    return v;
  }

  obj(key: string, known: Known, rules: Limits = {}): Obj | undefined {
    const v = this.present(key, rules.required);
    if (v === undefined) return undefined;
    return readObj(this.ctx, this.at(key), v, known);
  }

  /** The raw items of a list, with their paths; length limits are checked here. */
  list(key: string, rules: Limits = {}): { value: unknown; path: string }[] | undefined {
    const v = this.present(key, rules.required);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return void this.error(key, 'must be a list');
    checkCount(this.ctx, this.at(key), v.length, rules, 'items');
    return v.map((value, i) => ({ value, path: index(this.at(key), i) }));
  }

  objList(key: string, known: Known, rules: Limits = {}): Obj[] | undefined {
    const items = this.list(key, rules);
    if (!items) return undefined;
    return items.flatMap((it) => readObj(this.ctx, it.path, it.value, known) ?? []);
  }

  strList(key: string, rules: Limits = {}, item: StrRules = {}): string[] | undefined {
    const items = this.list(key, rules);
    if (!items) return undefined;
    return items.flatMap((it) => checkStr(this.ctx, it.path, it.value, item) ?? []);
  }

  /** A map of string to string (labels, selectors, Secret data); keys and values checked by the callbacks. */
  strMap(
    key: string,
    rules: Limits & {
      key?: (k: string) => string | undefined;
      value?: (v: string) => string | undefined;
    } = {},
  ): Record<string, string> | undefined {
    const v = this.present(key, rules.required);
    if (v === undefined) return undefined;
    if (!isJson(v)) return void this.error(key, 'must be a map of strings');
    const out: Record<string, string> = {};
    checkCount(this.ctx, this.at(key), Object.keys(v).length, rules, 'entries');
    for (const [k, val] of Object.entries(v)) {
      const p = `${this.at(key)}[${k}]`;
      const keyProblem = rules.key?.(k);
      if (keyProblem) this.ctx.error(p, `invalid key ${JSON.stringify(k)}: ${keyProblem}`);
      const s = checkStr(this.ctx, p, val, { check: rules.value });
      if (s !== undefined) out[k] = s;
    }
    return out;
  }
}

/** Reads a mapping and reports every key outside `known` as an unknown field (strict decoding). */
export function readObj(ctx: Ctx, path: string, v: unknown, known: Known): Obj | undefined {
  if (!isJson(v)) return void ctx.error(path, 'must be an object');
  if (known !== ANY) {
    for (const k of Object.keys(v)) if (!known.includes(k)) ctx.error(child(path, k), 'unknown field');
  }
  return new Obj(ctx, path, v);
}

export function checkStr(ctx: Ctx, path: string, v: unknown, rules: StrRules = {}): string | undefined {
  if (typeof v !== 'string') return void ctx.error(path, 'must be a string');
  if (rules.min !== undefined && v.length < rules.min) {
    return void ctx.error(
      path,
      rules.min === 1 ? 'must not be empty' : `must be at least ${rules.min} characters`,
    );
  }
  if (rules.max !== undefined && v.length > rules.max) {
    return void ctx.error(path, `must be at most ${rules.max} characters`);
  }
  if (rules.oneOf && !rules.oneOf.includes(v)) {
    return void ctx.error(
      path,
      `unsupported value ${JSON.stringify(v)}: must be one of ${rules.oneOf.join(', ')}`,
    );
  }
  const problem = rules.check?.(v);
  if (problem) return void ctx.error(path, `invalid value ${JSON.stringify(v)}: ${problem}`);
  return v;
}

export function checkInt(ctx: Ctx, path: string, v: unknown, rules: Limits = {}): number | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v)) return void ctx.error(path, 'must be an integer');
  if ((rules.min !== undefined && v < rules.min) || (rules.max !== undefined && v > rules.max)) {
    const range = `${rules.min ?? '-inf'}..${rules.max ?? 'inf'}`;
    return void ctx.error(path, `${v} is out of range ${range}`);
  }
  return v;
}

function checkCount(ctx: Ctx, path: string, n: number, rules: Limits, what: string): void {
  if (rules.min !== undefined && n < rules.min) ctx.error(path, `must have at least ${rules.min} ${what}`);
  if (rules.max !== undefined && n > rules.max)
    ctx.error(path, `must have at most ${rules.max} ${what}, got ${n}`);
}

/** Reports the later of any two items with the same key, at `path(i)`. */
export function unique<T>(
  ctx: Ctx,
  items: T[],
  key: (t: T) => string | undefined,
  path: (i: number) => string,
): void {
  const seen = new Set<string>();
  items.forEach((t, i) => {
    const k = key(t);
    if (k === undefined) return;
    if (seen.has(k)) ctx.error(path(i), `duplicate value ${k}`);
    seen.add(k);
  });
}

/** Copies only the defined values, so decoded objects never carry `key: undefined`. */
export function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
