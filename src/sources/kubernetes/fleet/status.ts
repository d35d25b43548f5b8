// Pure: stage 1's statuses adjusted by what only a running system knows — the managed fleet (Deployment readiness,
// Service address, parameter problems) and the Envoys' ACK/NACK — before the status writer merges them.

import type { Condition } from '../../../api/types';
import type { ResourceStatus } from '../../../compiler/ir';
import type { FleetReport, GatewayCondition } from './reconciler';

const keyOf = (s: ResourceStatus) => `${s.namespace}/${s.name}`;

/** Replaces condition TYPE in CONDITIONS (keeping its observedGeneration), or appends it. */
function put(conditions: Condition[] | undefined, type: string, c: GatewayCondition): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((x) => x.type === type);
  const next: Condition = {
    type,
    ...c,
    ...(i >= 0 ? { observedGeneration: list[i].observedGeneration } : {}),
  };
  if (next.observedGeneration === undefined) delete next.observedGeneration;
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

const isTrue = (conditions: Condition[] | undefined, type: string) =>
  conditions?.find((c) => c.type === type)?.status === 'True';

/**
 * Fleet facts over stage 1: a GatewayClass whose parametersRef is bad is not Accepted (InvalidParameters); so is a
 * Gateway whose infrastructure.parametersRef is bad; a Gateway stage 1 programmed is Programmed only once its
 * Envoy Deployment has a ready replica and its Service an address.
 */
export function withFleet(statuses: ResourceStatus[], fleet: FleetReport): ResourceStatus[] {
  return statuses.map((s) => {
    if (s.kind === 'GatewayClass') {
      const problems = fleet.classProblems.get(s.name);
      if (!problems) return s;
      return {
        ...s,
        conditions: put(s.conditions, 'Accepted', {
          status: 'False',
          reason: 'InvalidParameters',
          message: problems.join('; '),
        }),
      };
    }
    if (s.kind !== 'Gateway') return s;
    const key = keyOf(s);
    const problems = fleet.gatewayProblems.get(key);
    if (problems) {
      const message = problems.join('; ');
      return {
        ...s,
        conditions: put(
          put(s.conditions, 'Accepted', { status: 'False', reason: 'InvalidParameters', message }),
          'Programmed',
          {
            status: 'False',
            reason: 'Invalid',
            message,
          },
        ),
      };
    }
    const p = fleet.programmed.get(key);
    if (!p || !isTrue(s.conditions, 'Programmed')) return s;
    return { ...s, conditions: put(s.conditions, 'Programmed', p) };
  });
}

/**
 * The Envoys' view (src/xds/admin.ts programmed(): Gateway key → condition for the nodes connected to this
 * replica): a NACK makes a programmed Gateway Programmed False, Invalid, with Envoy's error.
 */
export function withDataPlane(
  statuses: ResourceStatus[],
  dataPlane: Record<string, GatewayCondition> | undefined,
): ResourceStatus[] {
  if (!dataPlane) return statuses;
  return statuses.map((s) => {
    if (s.kind !== 'Gateway') return s;
    const d = dataPlane[keyOf(s)];
    if (!d || d.status !== 'False' || !isTrue(s.conditions, 'Programmed')) return s;
    return { ...s, conditions: put(s.conditions, 'Programmed', d) };
  });
}
