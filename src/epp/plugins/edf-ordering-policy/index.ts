// edf-ordering-policy: earliest deadline first within a flow. Deadline = enqueue time + TTL; requests without a
// deadline go after every request with one; equal deadlines keep arrival order.

import { ORDERING_POLICY, type OrderingPolicy, type QueuedItem } from '../../flowcontrol/policies';
import type { PluginRegistration } from '../../scheduling/registry';

export const edfCompare = (a: QueuedItem, b: QueuedItem): number => {
  if (a.deadline !== b.deadline) {
    if (a.deadline === Infinity) return 1;
    if (b.deadline === Infinity) return -1;
    return a.deadline - b.deadline;
  }
  return a.seq - b.seq;
};

export const edfOrderingPolicy: PluginRegistration = {
  type: 'edf-ordering-policy',
  description:
    'Flow-control ordering: earliest deadline (enqueue time + TTL) first; no deadline last, FCFS on ties.',
  factory: (name, p): OrderingPolicy => {
    p.finish();
    return { type: 'edf-ordering-policy', name, kinds: [ORDERING_POLICY], compare: edfCompare };
  },
};
