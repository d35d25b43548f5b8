// The descriptor table generated from Envoy's protos (generated/schema.ts), typed. Rendering (proto JSON) and
// PGV validation both walk ts-proto objects with it, so neither needs protobuf reflection at run time.

import { SCHEMA_JSON } from '../../../generated/schema';

export interface FieldSchema {
  /** ts-proto property name (camelCase). */
  name: string;
  /** Proto field name (snake_case), used in proto JSON and error paths. */
  proto: string;
  kind: 'scalar' | 'message' | 'enum';
  /** Full type name for messages and enums. */
  type?: string;
  repeated?: boolean;
  /** ts-proto oneof property holding `{ $case, value }`. */
  oneof?: string;
  /** validate.rules as proto JSON (snake_case keys). */
  rules?: Record<string, unknown>;
}

export interface MessageSchema {
  fields: FieldSchema[];
  mapEntry?: boolean;
  disabled?: boolean;
  requiredOneofs?: string[];
}

interface SchemaTable {
  messages: Record<string, MessageSchema>;
  enums: Record<string, Record<string, number>>;
}

const table: SchemaTable = JSON.parse(SCHEMA_JSON) as SchemaTable;
const enumNames = new Map<string, Map<number, string>>();

export function messageSchema(typeName: string): MessageSchema {
  const m = table.messages[typeName];
  if (!m) throw new Error(`no schema for message ${typeName}: add its .proto to proto/roots.txt`);
  return m;
}

export function hasMessageSchema(typeName: string): boolean {
  return typeName in table.messages;
}

export function enumValues(typeName: string): Record<string, number> {
  return table.enums[typeName] ?? {};
}

export function enumName(typeName: string, value: number): string | undefined {
  let names = enumNames.get(typeName);
  if (!names) {
    names = new Map(Object.entries(enumValues(typeName)).map(([k, v]) => [v, k]));
    enumNames.set(typeName, names);
  }
  return names.get(value);
}

/** A map field is a repeated message field whose message is a synthetic map entry. */
export function isMapField(f: FieldSchema): boolean {
  return f.kind === 'message' && !!f.repeated && !!table.messages[f.type!]?.mapEntry;
}
