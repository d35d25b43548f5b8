// The flow-control policy contracts (reference EPP pkg/epp/flowcontrol/framework): an ordering policy orders the
// requests of one flow, a fairness policy chooses which flow of a band dispatches next, a usage-limit policy sets the
// saturation ceiling above which a band's dispatch is held. Each is a plugin found by its PluginKind.

import { PluginKind, type Plugin } from '../scheduling/types';

/** One queued request as the policies see it (plain data; the controller owns the rest). */
export interface QueuedItem {
  /** Monotonic arrival number: FCFS order, and the tie-break everywhere. */
  readonly seq: number;
  /** ms (controller clock) when it entered the queue. */
  readonly enqueuedAt: number;
  /** ms when it expires: enqueue time + TTL; Infinity without a TTL. */
  readonly deadline: number;
  /** Request body size in bytes. */
  readonly bytes: number;
}

/** Orders the requests within a flow. */
export interface OrderingPolicy extends Plugin {
  /** < 0 when `a` dispatches before `b`; never 0 for two distinct items (break ties by seq). */
  compare(a: QueuedItem, b: QueuedItem): number;
}

/** What a fairness policy sees of one flow of a band: its key and the head its ordering policy chose. */
export interface FlowView {
  readonly id: string;
  /** The next request of this flow by the band's ordering policy; undefined when the flow is empty. */
  head(): QueuedItem | undefined;
}

/** The per-band state of a fairness policy (e.g. a round-robin cursor). */
export interface FlowSelector {
  /** The flow to dispatch from next among `flows` (in creation order), or undefined when all are empty. */
  select(flows: readonly FlowView[], compare: (a: QueuedItem, b: QueuedItem) => number): FlowView | undefined;
}

/** Chooses between the flows of one priority band. */
export interface FairnessPolicy extends Plugin {
  /** A fresh selector for one band. */
  newSelector(): FlowSelector;
}

/** The saturation at or above which dispatch of a band is held. */
export interface UsageLimitPolicy extends Plugin {
  ceiling(priority: number): number;
}

export const ORDERING_POLICY = new PluginKind<OrderingPolicy>('ordering policy');
export const FAIRNESS_POLICY = new PluginKind<FairnessPolicy>('fairness policy');
export const USAGE_LIMIT_POLICY = new PluginKind<UsageLimitPolicy>('usage-limit policy');
