// fcfs-ordering-policy: first come, first served within a flow (the reference EPP's default ordering policy).

import { ORDERING_POLICY, type OrderingPolicy, type QueuedItem } from '../../flowcontrol/policies';
import type { PluginRegistration } from '../../scheduling/registry';

export const fcfsCompare = (a: QueuedItem, b: QueuedItem): number => a.seq - b.seq;

export const fcfsOrderingPolicy: PluginRegistration = {
  type: 'fcfs-ordering-policy',
  description: 'Flow-control ordering: requests of a flow dispatch in arrival order.',
  factory: (name, p): OrderingPolicy => {
    p.finish();
    return { type: 'fcfs-ordering-policy', name, kinds: [ORDERING_POLICY], compare: fcfsCompare };
  },
};
