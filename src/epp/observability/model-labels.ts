// Which model names may become Prometheus label values. Clients choose the model name, so using it verbatim lets
// anyone grow the registry without bound; names the pool declares or serves keep their label, the rest share one.

/** The label value every model name the pool neither declares nor serves is recorded under. */
export const OTHER_MODEL = 'other';
/** How many names learned from successful responses (base models no resource names) keep their own label. */
export const MAX_LEARNED_MODELS = 100;

export class ModelLabels {
  private readonly learned = new Set<string>();

  /** `known`: the pool declares or serves the name (resources, rewrite targets, endpoints' active models). */
  constructor(
    private readonly known: (name: string) => boolean,
    private readonly maxLearned = MAX_LEARNED_MODELS,
  ) {}

  /** The label value for a model name; '' (headers-only requests) stays ''. */
  label(name: string): string {
    if (name === '' || this.learned.has(name) || this.known(name)) return name;
    return OTHER_MODEL;
  }

  /** A model server answered a request for `name` with success: it serves that name (up to maxLearned names). */
  learn(name: string): void {
    if (name === '' || this.learned.has(name) || this.learned.size >= this.maxLearned) return;
    if (!this.known(name)) this.learned.add(name);
  }
}

/** Every model name the pool's resources declare: InferenceModels and their targets, rewrite matches and targets. */
export function declaredModels(
  models: Iterable<{ spec: { modelName: string; targetModels?: { name: string }[] } }>,
  rewrites: Iterable<{
    spec: { rules: { matches?: { model: { value: string } }[]; targets: { modelRewrite: string }[] }[] };
  }>,
): Set<string> {
  const out = new Set<string>();
  for (const m of models) {
    out.add(m.spec.modelName);
    for (const t of m.spec.targetModels ?? []) out.add(t.name);
  }
  for (const r of rewrites) {
    for (const rule of r.spec.rules) {
      for (const match of rule.matches ?? []) out.add(match.model.value);
      for (const t of rule.targets) out.add(t.modelRewrite);
    }
  }
  return out;
}
