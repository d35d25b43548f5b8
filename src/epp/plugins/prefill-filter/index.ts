// prefill-filter / decode-filter: keep the endpoints whose pod label llm-d.ai/role allows the role (llm-d
// pkg/plugins/filter/pd_role.go). Unlabelled pods serve decode only; "both" (deprecated) and "prefill-decode" serve
// either role; the encode variants count as their prefill/decode parts.

import { ROLE_LABEL } from '../../scheduling/disagg';
import type { PluginRegistration } from '../../scheduling/registry';
import type { Filter } from '../../scheduling/types';
import type { EndpointState } from '../../types';

export type PdRole = 'prefill' | 'decode';

/** Role label values accepted by each filter, and whether an unlabelled pod passes. */
export const ROLE_VALUES: Readonly<Record<PdRole, { values: readonly string[]; unlabelled: boolean }>> = {
  prefill: {
    values: ['prefill', 'encode-prefill', 'prefill-decode', 'both', 'encode-prefill-decode'],
    unlabelled: false,
  },
  decode: {
    values: ['decode', 'prefill-decode', 'both', 'encode-prefill-decode'],
    unlabelled: true,
  },
};

/** Whether an endpoint's pod may play `role`. */
export function servesRole(e: EndpointState, role: PdRole): boolean {
  const v = e.endpoint.labels[ROLE_LABEL];
  const rule = ROLE_VALUES[role];
  return v === undefined ? rule.unlabelled : rule.values.includes(v);
}

export function roleFilter(role: PdRole): PluginRegistration {
  const type = `${role}-filter`;
  return {
    type,
    description: `Keeps endpoints whose ${ROLE_LABEL} label is ${ROLE_VALUES[role].values.join(' | ')}${
      ROLE_VALUES[role].unlabelled ? ', or unlabelled' : ''
    }.`,
    factory: (name, params): Filter => {
      params.finish();
      return { type, name, filter: (_req, endpoints) => endpoints.filter((e) => servesRole(e, role)) };
    },
  };
}

export const prefillFilter = roleFilter('prefill');
