// `infergate crds`: the CRDs infergate ships itself (InferenceObjective, InferenceModelRewrite, the legacy
// InferenceModel), generated from src/api/crds, for `infergate crds | kubectl apply --server-side -f -`.

import { parseArgs } from 'node:util';
import { crdsYaml, customResourceDefinitions } from '../api/crds';

export async function runCrds(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { format: { type: 'string', default: 'yaml' } } }));
  } catch (err) {
    console.error(`infergate crds: ${(err as Error).message}`);
    return 2;
  }
  if (values.format === 'yaml') {
    process.stdout.write(crdsYaml());
  } else if (values.format === 'json') {
    const list = { apiVersion: 'v1', kind: 'List', items: customResourceDefinitions() };
    process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
  } else {
    console.error(`infergate crds: --format must be yaml or json, got ${JSON.stringify(values.format)}`);
    return 2;
  }
  return 0;
}
