// round-robin-fairness-policy: the flows of a band with queued requests take turns, one request each, in the
// order the flows were created, resuming after the flow that dispatched last.

import {
  FAIRNESS_POLICY,
  type FairnessPolicy,
  type FlowSelector,
  type FlowView,
} from '../../flowcontrol/policies';
import type { PluginRegistration } from '../../scheduling/registry';

/** A band's cursor: remembers the id of the flow that dispatched last. */
export class RoundRobinSelector implements FlowSelector {
  private last: string | undefined;
  /** Where `last` stood in the list it was picked from. */
  private lastIndex = -1;

  select(flows: readonly FlowView[]): FlowView | undefined {
    const n = flows.length;
    if (n === 0) return undefined;
    let start = 0;
    if (this.last !== undefined) {
      const i = flows.findIndex((f) => f.id === this.last);
      // A flow that left (emptied) is gone from the list (which keeps its order), so the flow that came after it
      // now stands where it stood: resume there rather than at the first flow, which would take an extra turn.
      start = i < 0 ? this.lastIndex % n : i + 1;
    }
    for (let k = 0; k < n; k++) {
      const j = (start + k) % n;
      const f = flows[j];
      if (f.head()) {
        this.last = f.id;
        this.lastIndex = j;
        return f;
      }
    }
    return undefined;
  }
}

export const roundRobinFairnessPolicy: PluginRegistration = {
  type: 'round-robin-fairness-policy',
  description: 'Flow-control fairness: flows with queued requests take turns, one request each.',
  factory: (name, p): FairnessPolicy => {
    p.finish();
    return {
      type: 'round-robin-fairness-policy',
      name,
      kinds: [FAIRNESS_POLICY],
      newSelector: () => new RoundRobinSelector(),
    };
  },
};
