// global-strict-fairness-policy: one global order across the flows of a band. The next request is the best head
// of all flows by the band's ordering policy (with FCFS: the oldest request of the band, whatever its flow).

import {
  FAIRNESS_POLICY,
  type FairnessPolicy,
  type FlowSelector,
  type FlowView,
  type QueuedItem,
} from '../../flowcontrol/policies';
import type { PluginRegistration } from '../../scheduling/registry';

export function selectGlobalStrict(
  flows: readonly FlowView[],
  compare: (a: QueuedItem, b: QueuedItem) => number,
): FlowView | undefined {
  let best: FlowView | undefined;
  let bestHead: QueuedItem | undefined;
  for (const f of flows) {
    const h = f.head();
    if (h && (!bestHead || compare(h, bestHead) < 0)) {
      best = f;
      bestHead = h;
    }
  }
  return best;
}

const SELECTOR: FlowSelector = { select: selectGlobalStrict };

export const globalStrictFairnessPolicy: PluginRegistration = {
  type: 'global-strict-fairness-policy',
  description: 'Flow-control fairness: one global order across the flows of a band (best head first).',
  factory: (name, p): FairnessPolicy => {
    p.finish();
    return {
      type: 'global-strict-fairness-policy',
      name,
      kinds: [FAIRNESS_POLICY],
      newSelector: () => SELECTOR,
    };
  },
};
