// ReferenceGrant (gateway.networking.k8s.io v1beta1 and v1, one schema), with the CRD's limits and patterns.
// The grant lives in the namespace of the objects it exposes; `from` says who may point at them, `to` at what.

import { type Obj, compact } from './decode';
import { dnsLabel, dnsSubdomain } from './formats';
import type { ReferenceGrantFrom, ReferenceGrantSpec, ReferenceGrantTo } from './types';

export const REFERENCE_GRANT_FIELDS = ['from', 'to'];

const KIND_RE = /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;

/** The CRD's Group: empty (the core group) or a DNS subdomain. */
function group(v: string): string | undefined {
  return v === '' ? undefined : dnsSubdomain(v);
}

function kind(v: string): string | undefined {
  return KIND_RE.test(v) ? undefined : 'must start with a letter and hold only letters, digits and -';
}

export function decodeReferenceGrantSpec(spec: Obj): ReferenceGrantSpec {
  // Both lists are required, 1..16 entries, and every field but to[].name is required: there is no default
  // group (an absent group would silently mean "core"), so the CRD makes the user spell it out.
  const from = (
    spec.objList('from', ['group', 'kind', 'namespace'], { required: true, min: 1, max: 16 }) ?? []
  ).map((f): ReferenceGrantFrom => ({
    group: f.str('group', { required: true, max: 253, check: group }) ?? '',
    kind: f.str('kind', { required: true, min: 1, max: 63, check: kind }) ?? '',
    namespace: f.str('namespace', { required: true, min: 1, check: dnsLabel }) ?? '',
  }));
  const to = (spec.objList('to', ['group', 'kind', 'name'], { required: true, min: 1, max: 16 }) ?? []).map(
    (t): ReferenceGrantTo =>
      compact({
        group: t.str('group', { required: true, max: 253, check: group }) ?? '',
        kind: t.str('kind', { required: true, min: 1, max: 63, check: kind }) ?? '',
        name: t.str('name', { min: 1, max: 253 }),
      }),
  );
  return { from, to };
}
