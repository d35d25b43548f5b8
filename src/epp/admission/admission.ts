// Request priority and the legacy admission rule: a sheddable request (priority < 0) is dropped with 429 while
// the pool's saturation is ≥ 1.0. Priority ≥ 0 is never shed.

import type { InferenceModel, InferenceObjective } from '../../api/types';

export const OBJECTIVE_HEADER = 'x-gateway-inference-objective';
export const SHED_MESSAGE = 'system saturated, sheddable request dropped';

export interface PriorityResult {
  priority: number;
  /** The InferenceObjective that set it, if any. */
  objective?: string;
}

/** Legacy InferenceModel criticality as a priority: Critical above Standard (0), Sheddable below. */
const CRITICALITY_PRIORITY = { Critical: 1, Standard: 0, Sheddable: -1 } as const;

/**
 * Priority from the InferenceObjective named by the objective header; without one, from the legacy InferenceModel
 * matching the body's model; otherwise 0.
 */
export function resolvePriority(
  headers: Readonly<Record<string, string>>,
  incomingModel: string,
  objectives: ReadonlyMap<string, InferenceObjective>,
  models: ReadonlyMap<string, InferenceModel>,
): PriorityResult {
  const name = headers[OBJECTIVE_HEADER];
  const objective = name ? objectives.get(name) : undefined;
  if (objective) return { priority: objective.spec.priority ?? 0, objective: objective.metadata.name };
  const model = models.get(incomingModel);
  if (model) return { priority: CRITICALITY_PRIORITY[model.spec.criticality ?? 'Standard'] };
  return { priority: 0 };
}

/** True when the request must be shed; `saturation` is only evaluated for sheddable requests. */
export function shouldShed(priority: number, saturation: () => number): boolean {
  return priority < 0 && saturation() >= 1;
}
