// The Inference Extension's per-model kinds (all inference.networking.x-k8s.io/v1alpha2): InferenceObjective,
// InferenceModelRewrite and the legacy InferenceModel.

import { type Obj, compact } from './decode';
import {
  INFERENCE_GROUP,
  INFERENCE_X_GROUP,
  type Criticality,
  type InferenceModelRewriteSpec,
  type InferenceModelSpec,
  type InferenceObjectiveSpec,
  type PoolObjectReference,
} from './types';

function decodePoolRef(spec: Obj, defaultGroup: string): PoolObjectReference {
  const ref = spec.obj('poolRef', ['group', 'kind', 'name'], { required: true });
  return {
    group: ref?.str('group', { max: 253 }) ?? defaultGroup,
    kind: ref?.str('kind', { min: 1, max: 63 }) ?? 'InferencePool',
    name: ref?.str('name', { required: true, min: 1, max: 253 }) ?? '',
  };
}

export function decodeObjectiveSpec(spec: Obj): InferenceObjectiveSpec {
  return compact({ priority: spec.int('priority'), poolRef: decodePoolRef(spec, INFERENCE_GROUP) });
}

export function decodeModelRewriteSpec(spec: Obj): InferenceModelRewriteSpec {
  const poolRef = decodePoolRef(spec, INFERENCE_GROUP);
  const rules = (spec.objList('rules', ['matches', 'targets'], { required: true, min: 1 }) ?? []).map((r) => {
    const matches = r.objList('matches', ['model'])?.map((m) => {
      const model = m.obj('model', ['type', 'value'], { required: true });
      return {
        model: {
          type: (model?.str('type', { oneOf: ['Exact'] }) ?? 'Exact') as 'Exact',
          value: model?.str('value', { required: true, min: 1 }) ?? '',
        },
      };
    });
    const targets = (r.objList('targets', ['modelRewrite', 'weight'], { required: true, min: 1 }) ?? []).map(
      (t) =>
        compact({
          modelRewrite: t.str('modelRewrite', { required: true, min: 1 }) ?? '',
          weight: t.int('weight', { min: 1, max: 1_000_000 }),
        }),
    );
    return compact({ matches, targets });
  });
  return { poolRef, rules };
}

export function decodeModelSpec(spec: Obj): InferenceModelSpec {
  const targetObjs = spec.objList('targetModels', ['name', 'weight'], { max: 10 });
  const targetModels = targetObjs?.map((t) =>
    compact({
      name: t.str('name', { required: true, min: 1, max: 253 }) ?? '',
      weight: t.int('weight', { min: 1, max: 1_000_000 }),
    }),
  );
  const weighted = targetModels?.filter((t) => t.weight !== undefined).length ?? 0;
  if (targetModels && weighted > 0 && weighted < targetModels.length) {
    spec.error('targetModels', 'weights must be set on all targetModels or on none');
  }
  const criticality = spec.str('criticality', {
    oneOf: ['Critical', 'Standard', 'Sheddable'],
  }) as Criticality;
  return compact({
    modelName: spec.str('modelName', { required: true, min: 1, max: 256 }) ?? '',
    criticality,
    targetModels,
    poolRef: decodePoolRef(spec, INFERENCE_X_GROUP),
  });
}
