// ReferenceGrant: a reference from one namespace to an object in another is permitted only when a grant in the
// target's namespace lists the referrer (group, kind, namespace) in `from` and the target (group, kind, and the
// name unless the entry names none) in `to`. Same-namespace references need no grant. Grants are re-read on
// every build, so deleting one revokes what it allowed at the next compile.

import type { ReferenceGrant } from '../../api/types';

/** The object holding a reference: its group, kind and namespace (a grant never names the referrer). */
export interface Referrer {
  group: string;
  kind: string;
  namespace: string;
}

/** What a reference points at. `group` "" is the core group. */
export interface ReferenceTarget {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/** ReferenceGrants by the namespace they live in (the namespace whose objects they expose). */
export type ReferenceGrantIndex = Map<string, ReferenceGrant[]>;

export function indexReferenceGrants(grants: ReferenceGrant[] | undefined): ReferenceGrantIndex {
  const index: ReferenceGrantIndex = new Map();
  for (const grant of grants ?? []) {
    const ns = grant.metadata.namespace ?? 'default';
    const list = index.get(ns);
    if (list) list.push(grant);
    else index.set(ns, [grant]);
  }
  return index;
}

function grants(grant: ReferenceGrant, from: Referrer, to: ReferenceTarget): boolean {
  // Hand-built resources may lack the required groups; the core group is what an empty one means.
  const trusts = (grant.spec.from ?? []).some(
    (f) => (f.group ?? '') === from.group && f.kind === from.kind && f.namespace === from.namespace,
  );
  return (
    trusts &&
    (grant.spec.to ?? []).some(
      (t) =>
        (t.group ?? '') === to.group &&
        t.kind === to.kind &&
        (t.name === undefined || t.name === '' || t.name === to.name),
    )
  );
}

/** Whether `from` may refer to `to`: always within a namespace, else only through a ReferenceGrant. */
export function referencePermitted(index: ReferenceGrantIndex, from: Referrer, to: ReferenceTarget): boolean {
  if (from.namespace === to.namespace) return true;
  return (index.get(to.namespace) ?? []).some((g) => grants(g, from, to));
}

/** The RefNotPermitted message: what was referenced, from where, and which grant would allow it. */
export function refNotPermitted(what: string, from: Referrer, to: ReferenceTarget): string {
  const group = to.group === '' ? 'core' : to.group;
  return (
    `${what} to ${to.kind} ${to.namespace}/${to.name} is not permitted (no ReferenceGrant in namespace ` +
    `${to.namespace} allows ${from.kind} from namespace ${from.namespace} to refer to ${group} ${to.kind})`
  );
}
