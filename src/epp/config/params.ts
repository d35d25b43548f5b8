// Strict reading of a plugin's `parameters`: every read key is remembered, and `finish` reports the rest as
// unknown, each error carrying its path (plugins[2].parameters.maxNumOfEndpoints: ...).

export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export class Params {
  private readonly seen = new Set<string>();
  private readonly raw: Json;

  constructor(
    raw: unknown,
    readonly path: string,
    readonly errors: string[],
  ) {
    if (raw !== undefined && raw !== null && !isObject(raw)) errors.push(`${path}: must be a mapping`);
    this.raw = isObject(raw) ? raw : {};
  }

  error(key: string, message: string): void {
    this.errors.push(`${this.path}.${key}: ${message}`);
  }

  number(key: string, def: number, opts: { min?: number; max?: number; integer?: boolean } = {}): number {
    this.seen.add(key);
    const v = this.raw[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.error(key, `must be a number, got ${JSON.stringify(v)}`);
      return def;
    }
    if (opts.integer && !Number.isInteger(v)) this.error(key, `must be an integer, got ${v}`);
    else if (opts.min !== undefined && v < opts.min) this.error(key, `must be ≥ ${opts.min}, got ${v}`);
    else if (opts.max !== undefined && v > opts.max) this.error(key, `must be ≤ ${opts.max}, got ${v}`);
    else return v;
    return def;
  }

  boolean(key: string, def: boolean): boolean {
    this.seen.add(key);
    const v = this.raw[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'boolean') {
      this.error(key, `must be a boolean, got ${JSON.stringify(v)}`);
      return def;
    }
    return v;
  }

  string(key: string, def: string, oneOf?: readonly string[]): string {
    this.seen.add(key);
    const v = this.raw[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'string') {
      this.error(key, `must be a string, got ${JSON.stringify(v)}`);
      return def;
    }
    if (oneOf && !oneOf.includes(v)) {
      this.error(key, `must be one of ${oneOf.join(', ')}, got ${JSON.stringify(v)}`);
      return def;
    }
    return v;
  }

  /** A duration such as "200ms", "2s", "1m" → milliseconds. */
  durationMs(key: string, defMs: number): number {
    const s = this.string(key, '');
    if (s === '') return defMs;
    const ms = parseDurationMs(s);
    if (ms === undefined) {
      this.error(key, `must be a duration like "200ms" or "2s", got ${JSON.stringify(s)}`);
      return defMs;
    }
    return ms;
  }

  /** The raw value, for nested structures a plugin reads itself. */
  value(key: string): unknown {
    this.seen.add(key);
    return this.raw[key];
  }

  /** Reports every key that was never read. */
  finish(): void {
    for (const k of Object.keys(this.raw)) if (!this.seen.has(k)) this.error(k, 'unknown parameter');
  }
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go-style durations ("1m30s", "200ms"). */
export function parseDurationMs(s: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]];
    pos = re.lastIndex;
  }
  return s.length > 0 ? total : undefined;
}
