// Kubernetes LabelSelector, as used by Gateway listeners' allowedRoutes.

import type { Obj } from './decode';
import { labelValue, qualifiedName } from './formats';
import type { LabelSelectorRequirement, RouteNamespaces } from './types';

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

export function decodeLabelSelector(parent: Obj, key: string): RouteNamespaces['selector'] {
  const sel = parent.obj(key, ['matchLabels', 'matchExpressions']);
  if (!sel) return undefined;
  const out: NonNullable<RouteNamespaces['selector']> = {};
  const matchLabels = sel.strMap('matchLabels', { key: qualifiedName, value: labelValue });
  if (matchLabels) out.matchLabels = matchLabels;
  const exprs = sel.objList('matchExpressions', ['key', 'operator', 'values']);
  if (exprs) {
    out.matchExpressions = exprs.map((e) => {
      const operator = e.str('operator', {
        required: true,
        oneOf: OPERATORS,
      }) as LabelSelectorRequirement['operator'];
      const values = e.strList('values', {}, { check: labelValue });
      const wantsValues = operator === 'In' || operator === 'NotIn';
      if (wantsValues && !values?.length) e.error('values', `required for operator ${operator}`);
      if (!wantsValues && values?.length) e.error('values', `must be empty for operator ${operator}`);
      const req: LabelSelectorRequirement = {
        key: e.str('key', { required: true, check: qualifiedName }) ?? '',
        operator,
      };
      if (values) req.values = values;
      return req;
    });
  }
  return out;
}
