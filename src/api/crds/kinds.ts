// The Inference Extension kinds whose CRDs infergate ships itself (all inference.networking.x-k8s.io/v1alpha2): the
// GIE v1.6.0 module carries only InferencePool and InferencePoolImport. Each limit below is one the decoder
// (src/api/inference.ts, strict: unknown fields are errors) enforces; defaults are the ones it fills in.

import { INFERENCE_GROUP, INFERENCE_X_GROUP } from '../types';
import type { CrdKind, Field, ObjectField, PrinterColumn } from './schema';

const VERSION = 'v1alpha2';
const CATEGORIES = ['inference'];

function poolRef(defaultGroup: string): ObjectField {
  return {
    type: 'object',
    required: true,
    description: 'The InferencePool this applies to, in the same namespace.',
    properties: {
      group: {
        type: 'string',
        maxLength: 253,
        default: defaultGroup,
        description: 'API group of the referent.',
      },
      kind: {
        type: 'string',
        minLength: 1,
        maxLength: 63,
        default: 'InferencePool',
        description: 'Kind of the referent.',
      },
      name: {
        type: 'string',
        required: true,
        minLength: 1,
        maxLength: 253,
        description: 'Name of the referent.',
      },
    },
  };
}

// metav1.Condition as the API machinery defines it: what status write-back (src/sources/kubernetes/status) sends.
const CONDITION_TYPE =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$';
const conditions: Field = {
  type: 'array',
  maxItems: 8,
  listType: 'map',
  listMapKeys: ['type'],
  description: 'The latest observations of the resource, one per condition type.',
  items: {
    type: 'object',
    description: 'One aspect of the current state of the resource.',
    properties: {
      type: {
        type: 'string',
        required: true,
        maxLength: 316,
        pattern: CONDITION_TYPE,
        description: 'Condition type, e.g. Accepted.',
      },
      status: {
        type: 'string',
        required: true,
        enum: ['True', 'False', 'Unknown'],
        description: 'True, False or Unknown.',
      },
      observedGeneration: {
        type: 'integer',
        format: 'int64',
        minimum: 0,
        description: 'The metadata.generation the condition was computed from.',
      },
      lastTransitionTime: {
        type: 'string',
        required: true,
        format: 'date-time',
        description: 'When the status last changed.',
      },
      reason: {
        type: 'string',
        required: true,
        minLength: 1,
        maxLength: 1024,
        pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
        description: 'A CamelCase reason for the last transition.',
      },
      message: { type: 'string', required: true, maxLength: 32768, description: 'Human-readable details.' },
    },
  },
};

const status = (what: string): ObjectField => ({
  type: 'object',
  description: `The observed state of the ${what}.`,
  properties: { conditions },
});

const POOL_COLUMN: PrinterColumn = { name: 'Pool', type: 'string', jsonPath: '.spec.poolRef.name' };
const ACCEPTED_COLUMN: PrinterColumn = {
  name: 'Accepted',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Accepted")].status',
};
const AGE_COLUMN: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export const INFERENCE_OBJECTIVE: CrdKind = {
  group: INFERENCE_X_GROUP,
  version: VERSION,
  kind: 'InferenceObjective',
  plural: 'inferenceobjectives',
  singular: 'inferenceobjective',
  shortNames: ['infobj'],
  categories: CATEGORIES,
  description:
    'A serving objective for the requests that name it in the x-gateway-inference-objective header: their ' +
    'priority on one InferencePool.',
  spec: {
    type: 'object',
    required: true,
    description: 'The desired state of the InferenceObjective.',
    properties: {
      // The decoder reads any integer (Go's int); no format, so the API server keeps the full int64 range too.
      priority: {
        type: 'integer',
        description: 'Higher is more important; negative values are sheddable under saturation; unset is 0.',
      },
      poolRef: poolRef(INFERENCE_GROUP),
    },
  },
  status: status('InferenceObjective'),
  printerColumns: [
    { name: 'Priority', type: 'integer', jsonPath: '.spec.priority' },
    POOL_COLUMN,
    ACCEPTED_COLUMN,
    AGE_COLUMN,
  ],
};

const weight: Field = {
  type: 'integer',
  format: 'int32',
  minimum: 1,
  maximum: 1_000_000,
  description: 'Relative weight among the targets.',
};

export const INFERENCE_MODEL_REWRITE: CrdKind = {
  group: INFERENCE_X_GROUP,
  version: VERSION,
  kind: 'InferenceModelRewrite',
  plural: 'inferencemodelrewrites',
  singular: 'inferencemodelrewrite',
  shortNames: ['infrewrite'],
  categories: CATEGORIES,
  description: 'Rewrites the model a request asks for into one of weighted targets, on one InferencePool.',
  spec: {
    type: 'object',
    required: true,
    description: 'The desired state of the InferenceModelRewrite.',
    properties: {
      poolRef: poolRef(INFERENCE_GROUP),
      rules: {
        type: 'array',
        required: true,
        minItems: 1,
        description: 'Rules in order; the first that matches a request wins.',
        items: {
          type: 'object',
          description: 'Which requests are rewritten, and to what.',
          properties: {
            matches: {
              type: 'array',
              description: 'Any one match suffices; an empty or absent list matches every request.',
              items: {
                type: 'object',
                description: 'A request match.',
                properties: {
                  model: {
                    type: 'object',
                    required: true,
                    description: 'Matches the model named in the request body.',
                    properties: {
                      type: {
                        type: 'string',
                        enum: ['Exact'],
                        default: 'Exact',
                        description: 'How value is compared.',
                      },
                      value: { type: 'string', required: true, minLength: 1, description: 'The model name.' },
                    },
                  },
                },
              },
            },
            targets: {
              type: 'array',
              required: true,
              minItems: 1,
              description: 'Where matching requests go, drawn by weight.',
              items: {
                type: 'object',
                description: 'A rewrite target.',
                properties: {
                  modelRewrite: {
                    type: 'string',
                    required: true,
                    minLength: 1,
                    description: 'The model name written into the request.',
                  },
                  weight,
                },
              },
            },
          },
        },
      },
    },
  },
  status: status('InferenceModelRewrite'),
  printerColumns: [POOL_COLUMN, ACCEPTED_COLUMN, AGE_COLUMN],
};

export const INFERENCE_MODEL: CrdKind = {
  group: INFERENCE_X_GROUP,
  version: VERSION,
  kind: 'InferenceModel',
  plural: 'inferencemodels',
  singular: 'inferencemodel',
  shortNames: ['infmodel'],
  categories: CATEGORIES,
  description:
    'Legacy (GIE v0.5): a model served by one InferencePool, its criticality and weighted target models. ' +
    'Superseded by InferenceObjective and InferenceModelRewrite.',
  spec: {
    type: 'object',
    required: true,
    description: 'The desired state of the InferenceModel.',
    properties: {
      modelName: {
        type: 'string',
        required: true,
        minLength: 1,
        maxLength: 256,
        description: 'The model name requests ask for. Immutable.',
        // Immutability needs the old object, which only the API server has; the decoder cannot check it.
        rules: [{ rule: 'self == oldSelf', message: 'modelName is immutable' }],
      },
      criticality: {
        type: 'string',
        enum: ['Critical', 'Standard', 'Sheddable'],
        description: 'Critical requests bypass saturation; unset is Standard.',
      },
      targetModels: {
        type: 'array',
        maxItems: 10,
        description: 'Models the request is rewritten to, drawn by weight.',
        // The decoder's all-or-none rule, which OpenAPI cannot express; maxItems keeps its CEL cost bounded.
        rules: [
          {
            rule: 'self.all(t, has(t.weight)) || self.all(t, !has(t.weight))',
            message: 'weights must be set on all targetModels or on none',
          },
        ],
        items: {
          type: 'object',
          description: 'A target model.',
          properties: {
            name: {
              type: 'string',
              required: true,
              minLength: 1,
              maxLength: 253,
              description: 'The model name.',
            },
            weight,
          },
        },
      },
      poolRef: poolRef(INFERENCE_X_GROUP),
    },
  },
  status: status('InferenceModel'),
  printerColumns: [
    { name: 'Model', type: 'string', jsonPath: '.spec.modelName' },
    { name: 'Criticality', type: 'string', jsonPath: '.spec.criticality' },
    POOL_COLUMN,
    AGE_COLUMN,
  ],
};

/** The CRDs `infergate crds` prints, in this order. */
export const CRD_KINDS: readonly CrdKind[] = [INFERENCE_OBJECTIVE, INFERENCE_MODEL_REWRITE, INFERENCE_MODEL];
