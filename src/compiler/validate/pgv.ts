// Enforces Envoy's protoc-gen-validate rules (validate.rules in the .proto files) on ts-proto messages, the
// checks Envoy runs before accepting a config. A violation found here is a compiler bug, reported with the
// resource and the proto field path, instead of a NACK from every Envoy in the fleet.

import { fieldValue } from '../xds/render';
import {
  enumValues,
  isMapField,
  messageSchema,
  hasMessageSchema,
  type FieldSchema,
  type MessageSchema,
} from '../xds/schema';
import { unpack } from '../xds/types';
import type { Any } from '../../../generated/google/protobuf/any';

export interface Violation {
  /** Proto field path, e.g. filter_chains[0].filters[0].typed_config.http_filters[1].name */
  path: string;
  message: string;
}

type Rules = Record<string, unknown>;
type Duration = { seconds: number; nanos: number };

const WRAPPED = /^google\.protobuf\.(Double|Float|Int64|UInt64|Int32|UInt32|Bool|String|Bytes)Value$/;

export function validateMessage(typeName: string, message: unknown, path = ''): Violation[] {
  const out: Violation[] = [];
  walkMessage(typeName, message, path, out);
  return out;
}

function walkMessage(typeName: string, message: unknown, path: string, out: Violation[]): void {
  if (typeName === 'google.protobuf.Any') {
    const inner = unpack(message as Any);
    if (inner) walkMessage(inner.type.name, inner.message, path, out);
    return;
  }
  const p = plan(typeName);
  if (!p) return;
  const obj = message as Record<string, unknown>;
  for (const oneof of p.requiredOneofs) {
    if (obj[oneof] === undefined) {
      const members = p.schema.fields.filter((f) => f.oneof === oneof).map((f) => f.proto);
      out.push({ path: join(path, oneof), message: `exactly one of ${members.join(', ')} is required` });
    }
  }
  for (const field of p.fields) {
    const value = fieldValue(obj, field);
    if (field.oneof && value === undefined) continue;
    checkField(field, value, join(path, field.proto), out);
  }
}

interface Plan {
  schema: MessageSchema;
  requiredOneofs: string[];
  /** Only the fields that carry a rule or lead to one: most of Envoy's API has none, so most subtrees are skipped. */
  fields: FieldSchema[];
}

const plans = new Map<string, Plan | null>();

/** The checks a message type needs, computed once per type; null when nothing inside it can break a rule. */
function plan(typeName: string): Plan | null {
  const cached = plans.get(typeName);
  if (cached !== undefined) return cached;
  if (!hasMessageSchema(typeName) || typeName.startsWith('google.protobuf.')) {
    plans.set(typeName, null);
    return null;
  }
  const schema = messageSchema(typeName);
  if (schema.disabled) {
    plans.set(typeName, null);
    return null;
  }
  // Provisional entry for recursive types: assume the recursion may need checks.
  const p: Plan = { schema, requiredOneofs: schema.requiredOneofs ?? [], fields: [] };
  plans.set(typeName, p);
  p.fields = schema.fields.filter((f) => f.rules || (f.kind === 'message' && leadsToRules(f)));
  if (!p.fields.length && !p.requiredOneofs.length) {
    plans.set(typeName, null);
    return null;
  }
  return p;
}

function leadsToRules(f: FieldSchema): boolean {
  if (f.type === 'google.protobuf.Any') return true;
  if (isMapField(f)) {
    const value = messageSchema(f.type!).fields.find((x) => x.proto === 'value')!;
    return value.kind === 'message' && (value.type === 'google.protobuf.Any' || plan(value.type!) !== null);
  }
  return plan(f.type!) !== null;
}

function checkField(field: FieldSchema, value: unknown, path: string, out: Violation[]): void {
  const rules = field.rules ?? {};
  if (isMapField(field)) {
    const map = (value ?? {}) as Record<string, unknown>;
    const mapRules = rules.map as Rules | undefined;
    const keys = Object.keys(map);
    if (mapRules?.min_pairs !== undefined && keys.length < Number(mapRules.min_pairs)) {
      out.push({ path, message: `needs at least ${mapRules.min_pairs} entries` });
    }
    const keyRules = (mapRules?.keys as Rules | undefined)?.string as Rules | undefined;
    const valueField = messageSchema(field.type!).fields.find((f) => f.proto === 'value')!;
    for (const k of keys) {
      if (keyRules) checkString(k, keyRules, `${path}[${JSON.stringify(k)}]`, out);
      if (valueField.kind === 'message')
        walkMessage(valueField.type!, map[k], `${path}[${JSON.stringify(k)}]`, out);
    }
    return;
  }
  if (field.repeated) {
    const items = (value ?? []) as unknown[];
    const rep = rules.repeated as Rules | undefined;
    if (rep?.min_items !== undefined && items.length < Number(rep.min_items)) {
      out.push({ path, message: `needs at least ${rep.min_items} item(s), has ${items.length}` });
    }
    if (rep?.max_items !== undefined && items.length > Number(rep.max_items)) {
      out.push({ path, message: `allows at most ${rep.max_items} items, has ${items.length}` });
    }
    if (rep?.unique && new Set(items.map((i) => JSON.stringify(i))).size !== items.length) {
      out.push({ path, message: 'items must be unique' });
    }
    const itemRules = rep?.items as Rules | undefined;
    items.forEach((item, i) => checkSingle(field, item, itemRules ?? {}, `${path}[${i}]`, out));
    return;
  }
  checkSingle(field, value, rules, path, out);
}

function checkSingle(field: FieldSchema, value: unknown, rules: Rules, path: string, out: Violation[]): void {
  if (field.kind === 'message') {
    const msgRules = rules.message as Rules | undefined;
    const required = msgRules?.required || (rules.any as Rules | undefined)?.required;
    const durRules = rules.duration as Rules | undefined;
    if (value === undefined || value === null) {
      if (required || durRules?.required) out.push({ path, message: 'is required' });
      return;
    }
    if (durRules) checkDuration(value as Duration, durRules, path, out);
    if (WRAPPED.test(field.type!)) {
      checkScalar(value, rules, path, out);
      return;
    }
    if (msgRules?.skip) return;
    walkMessage(field.type!, value, path, out);
    return;
  }
  if (field.kind === 'enum') {
    const enumRules = rules.enum as Rules | undefined;
    if (!enumRules) return;
    const n = value as number;
    if (enumRules.defined_only && !Object.values(enumValues(field.type!)).includes(n)) {
      out.push({ path, message: `${n} is not a defined value of ${field.type}` });
    }
    const notIn = enumRules.not_in as number[] | undefined;
    if (notIn?.includes(n)) out.push({ path, message: `value ${n} is not allowed` });
    return;
  }
  checkScalar(value, rules, path, out);
}

function checkScalar(value: unknown, rules: Rules, path: string, out: Violation[]): void {
  for (const [kind, r] of Object.entries(rules)) {
    const kr = r as Rules;
    if (kind === 'string') checkString(String(value ?? ''), kr, path, out);
    else if (kind === 'bytes') checkBytes(value as Uint8Array | undefined, kr, path, out);
    else if (kind === 'bool') {
      if (kr.const !== undefined && Boolean(value) !== kr.const)
        out.push({ path, message: `must be ${kr.const}` });
    } else if (/^(u?int|sint|s?fixed)(32|64)$|^(double|float)$/.test(kind)) {
      checkNumber(Number(value ?? 0), kr, path, out);
    }
  }
}

function checkNumber(n: number, r: Rules, path: string, out: Violation[]): void {
  const bound = (k: string) => (r[k] === undefined ? undefined : Number(r[k]));
  const [gt, gte, lt, lte] = [bound('gt'), bound('gte'), bound('lt'), bound('lte')];
  if (gt !== undefined && !(n > gt)) out.push({ path, message: `must be greater than ${gt}, is ${n}` });
  if (gte !== undefined && !(n >= gte)) out.push({ path, message: `must be at least ${gte}, is ${n}` });
  if (lt !== undefined && !(n < lt)) out.push({ path, message: `must be less than ${lt}, is ${n}` });
  if (lte !== undefined && !(n <= lte)) out.push({ path, message: `must be at most ${lte}, is ${n}` });
  const inList = r.in as unknown[] | undefined;
  if (inList && !inList.map(Number).includes(n))
    out.push({ path, message: `must be one of ${inList.join(', ')}` });
}

// PGV's well-known header regexes; `strict: false` relaxes them to "no NUL, CR or LF".
const HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
// eslint-disable-next-line no-control-regex
const HEADER_VALUE = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
// eslint-disable-next-line no-control-regex
const HEADER_LOOSE = /^[^\u0000\u000A\u000D]*$/;

function checkString(s: string, r: Rules, path: string, out: Violation[]): void {
  if (r.ignore_empty && s === '') return;
  const chars = [...s].length;
  if (r.min_len !== undefined && chars < Number(r.min_len)) {
    out.push({
      path,
      message: Number(r.min_len) === 1 ? 'must not be empty' : `must be at least ${r.min_len} characters`,
    });
  }
  if (r.max_len !== undefined && chars > Number(r.max_len))
    out.push({ path, message: `must be at most ${r.max_len} characters` });
  const bytes = Buffer.byteLength(s);
  if (r.min_bytes !== undefined && bytes < Number(r.min_bytes))
    out.push({ path, message: `must be at least ${r.min_bytes} bytes` });
  if (r.max_bytes !== undefined && bytes > Number(r.max_bytes))
    out.push({ path, message: `must be at most ${r.max_bytes} bytes` });
  if (typeof r.prefix === 'string' && !s.startsWith(r.prefix))
    out.push({ path, message: `must start with ${r.prefix}` });
  if (typeof r.suffix === 'string' && !s.endsWith(r.suffix))
    out.push({ path, message: `must end with ${r.suffix}` });
  if (Array.isArray(r.in) && !r.in.includes(s))
    out.push({ path, message: `must be one of ${r.in.join(', ')}` });
  if (typeof r.pattern === 'string' && !new RegExp(r.pattern, 'u').test(s)) {
    out.push({ path, message: `must match ${r.pattern}` });
  }
  if (r.well_known_regex) {
    const strict = r.strict !== false;
    const re = !strict
      ? HEADER_LOOSE
      : r.well_known_regex === 'HTTP_HEADER_NAME'
        ? HEADER_NAME
        : HEADER_VALUE;
    if (!re.test(s))
      out.push({
        path,
        message: `is not a valid ${String(r.well_known_regex).toLowerCase().replace(/_/g, ' ')}`,
      });
  }
}

function checkBytes(b: Uint8Array | undefined, r: Rules, path: string, out: Violation[]): void {
  const len = b?.length ?? 0;
  if (r.min_len !== undefined && len < Number(r.min_len))
    out.push({ path, message: `must be at least ${r.min_len} bytes` });
  if (r.max_len !== undefined && len > Number(r.max_len))
    out.push({ path, message: `must be at most ${r.max_len} bytes` });
}

function nanos(d: Duration | string): number {
  if (typeof d === 'string') return Math.round(parseFloat(d) * 1e9);
  return d.seconds * 1e9 + d.nanos;
}

function checkDuration(d: Duration, r: Rules, path: string, out: Violation[]): void {
  const v = nanos(d);
  const cmp: [string, (a: number, b: number) => boolean, string][] = [
    ['gt', (a, b) => a > b, 'greater than'],
    ['gte', (a, b) => a >= b, 'at least'],
    ['lt', (a, b) => a < b, 'less than'],
    ['lte', (a, b) => a <= b, 'at most'],
  ];
  for (const [k, ok, words] of cmp) {
    if (r[k] !== undefined && !ok(v, nanos(r[k] as string)))
      out.push({ path, message: `must be ${words} ${r[k]}` });
  }
}

function join(path: string, field: string): string {
  return path ? `${path}.${field}` : field;
}
