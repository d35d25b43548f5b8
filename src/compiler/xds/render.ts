// Renders ts-proto messages as proto3 JSON with the .proto field names (snake_case), the form Envoy's
// bootstrap and `--out` files use. Default values are omitted, enums are printed by name, Any gets "@type".

import { enumName, isMapField, messageSchema, type FieldSchema } from './schema';
import { unpack } from './types';
import type { Any } from '../../../generated/google/protobuf/any';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const WRAPPERS = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map(
    (w) => `google.protobuf.${w}Value`,
  ),
);

export function renderMessage(typeName: string, message: unknown): Json {
  switch (typeName) {
    case 'google.protobuf.Any':
      return renderAny(message as Any);
    case 'google.protobuf.Duration':
      return renderDuration(message as { seconds: number; nanos: number });
    case 'google.protobuf.Struct':
    case 'google.protobuf.Value':
    case 'google.protobuf.ListValue':
      return plain(message);
    case 'google.protobuf.Empty':
      return {};
  }
  if (WRAPPERS.has(typeName)) return renderScalar(message) ?? null;
  const schema = messageSchema(typeName);
  const obj = message as Record<string, unknown>;
  const out: { [key: string]: Json } = {};
  for (const field of schema.fields) {
    const value = fieldValue(obj, field);
    if (value === undefined) continue;
    const rendered = renderField(field, value);
    if (rendered !== undefined) out[field.proto] = rendered;
  }
  return out;
}

/** Reads a field, looking inside its `{ $case, value }` union when it belongs to a oneof. */
export function fieldValue(obj: Record<string, unknown>, field: FieldSchema): unknown {
  if (field.oneof) {
    const union = obj[field.oneof] as { $case: string; value: unknown } | undefined;
    return union && union.$case === field.name ? union.value : undefined;
  }
  return obj[field.name];
}

function renderField(field: FieldSchema, value: unknown): Json | undefined {
  if (isMapField(field)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return undefined;
    const valueField = messageSchema(field.type!).fields.find((f) => f.proto === 'value')!;
    const out: { [key: string]: Json } = {};
    for (const [k, v] of entries) out[k] = renderSingle(valueField, v, true) ?? defaultFor(valueField);
    return out;
  }
  if (field.repeated) {
    const items = value as unknown[];
    if (items.length === 0) return undefined;
    return items.map((v) => renderSingle(field, v, true) ?? defaultFor(field));
  }
  // A oneof member is present even when it holds its default value.
  return renderSingle(field, value, !!field.oneof);
}

function renderSingle(field: FieldSchema, value: unknown, keepDefault = false): Json | undefined {
  if (value === undefined || value === null) return undefined;
  if (field.kind === 'message') return renderMessage(field.type!, value);
  if (field.kind === 'enum') {
    const n = value as number;
    if (n === 0 && !keepDefault) return undefined;
    return enumName(field.type!, n) ?? n;
  }
  return renderScalar(value, !keepDefault);
}

function renderScalar(value: unknown, omitDefault = false): Json | undefined {
  if (value instanceof Uint8Array) {
    return value.length === 0 && omitDefault ? undefined : Buffer.from(value).toString('base64');
  }
  if (omitDefault && (value === 0 || value === '' || value === false)) return undefined;
  return value as Json;
}

function defaultFor(field: FieldSchema): Json {
  if (field.kind === 'message') return {};
  if (field.kind === 'enum') return enumName(field.type!, 0) ?? 0;
  return null;
}

function renderAny(any: Any): Json {
  const inner = unpack(any);
  if (!inner) {
    // An empty value is the type's default message, which proto JSON writes as just its type.
    if (any.value.length === 0) return { '@type': any.typeUrl };
    return { '@type': any.typeUrl, value: Buffer.from(any.value).toString('base64') };
  }
  const body = renderMessage(inner.type.name, inner.message) as { [key: string]: Json };
  return { '@type': any.typeUrl, ...body };
}

export function renderDuration(d: { seconds: number; nanos: number }): string {
  if (!d.nanos) return `${d.seconds}s`;
  const frac = (Math.abs(d.nanos) / 1e9).toFixed(9).slice(1).replace(/0+$/, '');
  return `${d.seconds}${frac}s`;
}

function plain(value: unknown): Json {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as Json);
}
