// A small typed description of a CRD's fields, and its translation to a structural OpenAPI v3 schema. The
// descriptions in kinds.ts are the single source the `infergate crds` output is generated from; each one mirrors
// what the decoder in src/api enforces (test/kubernetes/crds.test.ts checks the two agree, field by field).

export type Json = Record<string, unknown>;

/** A CEL rule (x-kubernetes-validations): what OpenAPI alone cannot say. */
export interface Rule {
  rule: string;
  message: string;
}

interface Common {
  description: string;
  /** Listed in the parent object's `required`. */
  required?: boolean;
  rules?: Rule[];
}

export interface StringField extends Common {
  type: 'string';
  minLength?: number;
  maxLength?: number;
  enum?: readonly string[];
  pattern?: string;
  format?: 'date-time';
  default?: string;
}

export interface IntegerField extends Common {
  type: 'integer';
  format?: 'int32' | 'int64';
  minimum?: number;
  maximum?: number;
  default?: number;
}

export interface ObjectField extends Common {
  type: 'object';
  properties: Record<string, Field>;
}

export interface ArrayField extends Common {
  type: 'array';
  items: Field;
  minItems?: number;
  maxItems?: number;
  /** x-kubernetes-list-type; `map` needs listMapKeys. */
  listType?: 'atomic' | 'set' | 'map';
  listMapKeys?: string[];
}

export type Field = StringField | IntegerField | ObjectField | ArrayField;

/** A printer column (`kubectl get`). */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date';
  jsonPath: string;
  description?: string;
  /** 0 = always shown; 1 = only with `-o wide`. */
  priority?: number;
}

/** One namespaced kind of one API group, served and stored at one version. */
export interface CrdKind {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  description: string;
  spec: ObjectField;
  status: ObjectField;
  printerColumns: PrinterColumn[];
}

/** The OpenAPI v3 schema of one field (keys in a fixed order, so the output is stable). */
export function toOpenAPI(f: Field): Json {
  const out: Json = { description: f.description, type: f.type };
  switch (f.type) {
    case 'string':
      set(out, { format: f.format, enum: f.enum && [...f.enum], minLength: f.minLength });
      set(out, { maxLength: f.maxLength, pattern: f.pattern, default: f.default });
      break;
    case 'integer':
      set(out, { format: f.format, minimum: f.minimum, maximum: f.maximum, default: f.default });
      break;
    case 'object': {
      const entries = Object.entries(f.properties);
      const required = entries.filter(([, p]) => p.required).map(([k]) => k);
      out.properties = Object.fromEntries(entries.map(([k, p]) => [k, toOpenAPI(p)]));
      if (required.length) out.required = required;
      break;
    }
    case 'array':
      out.items = toOpenAPI(f.items);
      set(out, { minItems: f.minItems, maxItems: f.maxItems, 'x-kubernetes-list-type': f.listType });
      set(out, { 'x-kubernetes-list-map-keys': f.listMapKeys });
      break;
  }
  if (f.rules?.length) out['x-kubernetes-validations'] = f.rules.map((r) => ({ ...r }));
  return out;
}

function set(out: Json, values: Json): void {
  for (const [k, v] of Object.entries(values)) if (v !== undefined) out[k] = v;
}
