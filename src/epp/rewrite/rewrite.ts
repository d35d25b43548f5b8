// Which model a request is served as: the x-gateway-model-name-rewrite header wins; then InferenceModelRewrite
// rules (an Exact match beats a generic rule, the oldest resource wins, the first matching rule within it, weighted
// random over its targets); then a legacy InferenceModel's weighted targetModels; else the model as sent.

import type { InferenceModel, InferenceModelRewrite } from '../../api/types';
import { weightedIndex, type RandomSource } from '../scheduling/random';

export const REWRITE_HEADER = 'x-gateway-model-name-rewrite';

export interface RewriteDecision {
  targetModel: string;
  source: 'header' | 'rewrite' | 'inference-model' | 'none';
  /** The InferenceModelRewrite (or InferenceModel) that decided. */
  by?: string;
}

type Rule = InferenceModelRewrite['spec']['rules'][number];

/** The rule that applies to `model`; `rewrites` must be ordered oldest first. */
export function matchRewriteRule(
  model: string,
  rewrites: readonly InferenceModelRewrite[],
): { rewrite: InferenceModelRewrite; rule: Rule } | undefined {
  let generic: { rewrite: InferenceModelRewrite; rule: Rule } | undefined;
  for (const rewrite of rewrites) {
    for (const rule of rewrite.spec.rules) {
      const matches = rule.matches ?? [];
      if (matches.length === 0) {
        generic ??= { rewrite, rule };
      } else if (matches.some((m) => (m.model.type ?? 'Exact') === 'Exact' && m.model.value === model)) {
        return { rewrite, rule };
      }
    }
  }
  return generic;
}

export function chooseTargetModel(
  model: string,
  headers: Readonly<Record<string, string>>,
  rewrites: readonly InferenceModelRewrite[],
  models: ReadonlyMap<string, InferenceModel>,
  random: RandomSource,
): RewriteDecision {
  const header = headers[REWRITE_HEADER];
  if (header) return { targetModel: header, source: 'header' };
  const hit = matchRewriteRule(model, rewrites);
  if (hit) {
    const targets = hit.rule.targets;
    const i = weightedIndex(
      targets.map((t) => t.weight ?? 1),
      random,
    );
    if (i >= 0)
      return { targetModel: targets[i].modelRewrite, source: 'rewrite', by: hit.rewrite.metadata.name };
  }
  const im = models.get(model);
  const targets = im?.spec.targetModels ?? [];
  if (im && targets.length > 0) {
    const i = weightedIndex(
      targets.map((t) => t.weight ?? 1),
      random,
    );
    if (i >= 0) return { targetModel: targets[i].name, source: 'inference-model', by: im.metadata.name };
  }
  return { targetModel: model, source: 'none' };
}
