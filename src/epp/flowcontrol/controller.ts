// The flow-control layer (reference EPP pkg/epp/flowcontrol): requests wait in EPP memory, in priority bands
// (strict priority, higher first) of flows (one per fairness id), until the saturation detector says the pool has
// room. Capacity (bytes and requests, global and per band) is checked at enqueue (429); a TTL evicts (503 "request
// timed out in queue"); a stream that closes takes its request out at once (503 "client disconnected"). Dispatch
// is held while saturation ≥ the usage-limit ceiling and re-evaluated on kick() (a request completed, endpoints or
// metrics changed) and on a backstop timer. The clock and timers are injected, so tests run on a fake clock.

import type { BuiltBand, BuiltFlowControl } from '../config/build';
import type { SaturationDetector } from '../plugins/utilization-detector';
import type { EndpointState } from '../types';
import { IndexedHeap } from './heap';
import type { FlowSelector, FlowView, QueuedItem } from './policies';

export const DEFAULT_FLOW_ID = 'default-flow';
export const FAIRNESS_ID_HEADER = 'x-gateway-inference-fairness-id';
/** How often a non-empty queue is re-evaluated with no other trigger (metrics arrive every 50 ms anyway). */
export const DEFAULT_BACKSTOP_MS = 100;

/** The reference EPP's outcome label values (types/outcomes.go). */
export type Outcome =
  | 'Dispatched'
  | 'RejectedCapacity'
  | 'RejectedOther'
  | 'EvictedTTL'
  | 'EvictedContextCancelled'
  | 'EvictedOther';

/** HTTP status and message for each outcome that is not a dispatch (requestcontrol/admission.go). */
export const OUTCOME_RESPONSE: Record<
  Exclude<Outcome, 'Dispatched'>,
  { status: 429 | 500 | 503; message: string }
> = {
  RejectedCapacity: { status: 429, message: 'flow control: queue capacity exceeded' },
  RejectedOther: { status: 500, message: 'flow control: request rejected' },
  EvictedTTL: { status: 503, message: 'request timed out in queue' },
  EvictedContextCancelled: { status: 503, message: 'client disconnected' },
  EvictedOther: { status: 500, message: 'flow control: request evicted' },
};

export interface Clock {
  /** ms */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Labels of the queue metrics, beside fairness id and priority. */
export interface FlowLabels {
  model: string;
  target: string;
}

/** One request asking to be dispatched. Exactly one of dispatch / evict is called, at most once. */
export interface FlowRequest {
  flowId: string;
  priority: number;
  bytes: number;
  /** ms; overrides defaultRequestTTL when > 0. */
  ttlMs?: number;
  signal?: AbortSignal;
  labels: FlowLabels;
  /** Runs synchronously in the dispatch cycle, so the detector sees its load before the next request is judged. */
  dispatch(): void;
  evict(outcome: Exclude<Outcome, 'Dispatched'>): void;
}

/** Where the controller reports what it does (metrics); every method optional. */
export interface FlowControlObserver {
  /** A request entered (+1, +bytes) or left (−1, −bytes) a queue. */
  queue?(flowId: string, priority: number, labels: FlowLabels, count: number, bytes: number): void;
  /** A request left the controller: time since submit. */
  left?(flowId: string, priority: number, labels: FlowLabels, outcome: Outcome, seconds: number): void;
  /** Time submit took, by what it led to: Dispatched (at once), Enqueued, RejectedCapacity, ... */
  enqueued?(flowId: string, priority: number, outcome: string, seconds: number): void;
  dispatchCycle?(seconds: number): void;
  saturation?(value: number): void;
}

export interface FlowControllerOptions {
  config: BuiltFlowControl;
  detector: SaturationDetector;
  endpoints(): readonly EndpointState[];
  /** ms since epoch for the detector (metrics staleness); defaults to Date.now. */
  wallNow?: () => number;
  clock?: Clock;
  observer?: FlowControlObserver;
  backstopMs?: number;
}

interface Item extends QueuedItem {
  readonly req: FlowRequest;
  readonly flow: Flow;
  readonly submittedAt: number;
  flowSlot: number;
  ttlSlot: number;
  onAbort?: () => void;
}

class Flow implements FlowView {
  readonly queue: IndexedHeap<Item>;
  constructor(
    readonly id: string,
    readonly band: Band,
  ) {
    const cmp = band.built.ordering.compare;
    this.queue = new IndexedHeap<Item>((a, b) => cmp(a, b) < 0, FLOW_SLOT);
  }
  head(): QueuedItem | undefined {
    return this.queue.peek();
  }
}

class Band {
  readonly flows = new Map<string, Flow>();
  /** The flows in creation order (what the fairness policy sees); rebuilt when a flow comes or goes. */
  list: Flow[] = [];
  readonly selector: FlowSelector;
  count = 0;
  bytes = 0;
  constructor(
    readonly priority: number,
    readonly built: BuiltBand,
  ) {
    this.selector = built.fairness.newSelector();
  }
}

const FLOW_SLOT = { get: (t: Item) => t.flowSlot, set: (t: Item, i: number) => (t.flowSlot = i) };
const TTL_SLOT = { get: (t: Item) => t.ttlSlot, set: (t: Item, i: number) => (t.ttlSlot = i) };

export class FlowController {
  private readonly bands = new Map<number, Band>();
  /** Bands by priority, highest first. */
  private order: Band[] = [];
  private readonly deadlines = new IndexedHeap<Item>((a, b) => a.deadline < b.deadline, TTL_SLOT);
  private readonly clock: Clock;
  private readonly wallNow: () => number;
  private readonly observer: FlowControlObserver;
  private readonly backstopMs: number;
  private count = 0;
  private bytes = 0;
  private seq = 0;
  private ttlTimer: unknown;
  private ttlTimerAt = Infinity;
  private backstop: unknown;
  private cycling = false;
  private again = false;
  private closed = false;

  constructor(private readonly opts: FlowControllerOptions) {
    this.clock = opts.clock ?? realClock;
    this.wallNow = opts.wallNow ?? Date.now;
    this.observer = opts.observer ?? {};
    this.backstopMs = opts.backstopMs ?? DEFAULT_BACKSTOP_MS;
    for (const b of opts.config.bands) this.band(b.spec.priority ?? 0, b);
  }

  /** Requests queued now (all bands). */
  get size(): number {
    return this.count;
  }

  /** Bytes queued now (all bands). */
  get queuedBytes(): number {
    return this.count === 0 ? 0 : this.bytes;
  }

  /** Queued requests of one band and flow (tests, metrics). */
  queued(priority: number, flowId?: string): number {
    const b = this.bands.get(priority);
    if (!b) return 0;
    return flowId === undefined ? b.count : (b.flows.get(flowId)?.queue.size ?? 0);
  }

  /** Dispatches `req` at once when nothing of its priority or above waits and the pool has room; queues it otherwise. */
  submit(req: FlowRequest): void {
    const t0 = this.clock.now();
    const done = (what: string) =>
      this.observer.enqueued?.(req.flowId, req.priority, what, (this.clock.now() - t0) / 1000);
    if (this.closed) {
      done('RejectedOther');
      return this.finish(req, 'RejectedOther', t0);
    }
    if (req.signal?.aborted) {
      done('EvictedContextCancelled');
      return this.finish(req, 'EvictedContextCancelled', t0);
    }
    const band = this.band(req.priority);
    if (!this.waitingAtOrAbove(req.priority) && this.hasRoom(band)) {
      done('Dispatched');
      this.dispatch(req, t0);
      // Lower bands may be waiting while there is room (no trigger has come since): give them their turn.
      if (this.count > 0) this.kick();
      return;
    }
    const spec = band.built.spec;
    const g = this.opts.config.spec;
    if (
      (g.maxRequests !== undefined && this.count + 1 > g.maxRequests) ||
      (g.maxBytes !== undefined && this.bytes + req.bytes > g.maxBytes) ||
      (spec.maxRequests !== undefined && band.count + 1 > spec.maxRequests) ||
      band.bytes + req.bytes > spec.maxBytes
    ) {
      done('RejectedCapacity');
      return this.finish(req, 'RejectedCapacity', t0);
    }
    const ttl = req.ttlMs !== undefined && req.ttlMs > 0 ? req.ttlMs : g.defaultRequestTTLMs;
    let flow = band.flows.get(req.flowId);
    if (!flow) {
      flow = new Flow(req.flowId, band);
      band.flows.set(req.flowId, flow);
      band.list = [...band.flows.values()];
    }
    const item: Item = {
      seq: this.seq++,
      enqueuedAt: t0,
      deadline: ttl > 0 ? t0 + ttl : Infinity,
      bytes: req.bytes,
      req,
      flow,
      submittedAt: t0,
      flowSlot: -1,
      ttlSlot: -1,
    };
    flow.queue.push(item);
    band.count++;
    band.bytes += req.bytes;
    this.count++;
    this.bytes += req.bytes;
    this.observer.queue?.(req.flowId, req.priority, req.labels, 1, req.bytes);
    if (item.deadline !== Infinity) {
      this.deadlines.push(item);
      this.armTtl();
    }
    if (req.signal) {
      const onAbort = () => this.evict(item, 'EvictedContextCancelled');
      item.onAbort = onAbort;
      req.signal.addEventListener('abort', onAbort, { once: true });
    }
    done('Enqueued');
    this.armBackstop();
    // A new head may be dispatchable (e.g. a lower band was waiting behind an empty higher one).
    this.kick();
  }

  /** Re-evaluates dispatch now: a request completed, the endpoints or their metrics changed. */
  kick(): void {
    if (this.count === 0) return;
    if (this.cycling) {
      this.again = true;
      return;
    }
    this.cycling = true;
    try {
      do {
        this.again = false;
        this.cycle();
      } while (this.again && this.count > 0);
    } finally {
      this.cycling = false;
    }
  }

  /** Evicts every queued request (EvictedOther) and stops the timers. */
  close(): void {
    this.closed = true;
    for (const b of this.order)
      for (const f of [...b.flows.values()])
        while (f.queue.size > 0) this.evict(f.queue.peek() as Item, 'EvictedOther');
    this.clearTimers();
  }

  private cycle(): void {
    const t0 = this.clock.now();
    try {
      for (const band of this.order) {
        while (band.count > 0) {
          if (!this.hasRoom(band)) return; // strict priority: lower bands wait behind a held one
          const flow = band.selector.select(band.list, band.built.ordering.compare) as Flow | undefined;
          const item = flow?.queue.peek();
          if (!item) return; // a selector that finds nothing would spin; the next kick retries
          this.remove(item);
          this.dispatch(item.req, item.submittedAt);
        }
      }
    } finally {
      this.observer.dispatchCycle?.((this.clock.now() - t0) / 1000);
      if (this.count === 0) this.clearTimers();
    }
  }

  private hasRoom(band: Band): boolean {
    const endpoints = this.opts.endpoints();
    if (endpoints.length === 0) {
      this.observer.saturation?.(1);
      return false; // scale from zero: wait for an endpoint
    }
    const s = this.opts.detector.saturation(endpoints, this.wallNow());
    this.observer.saturation?.(s);
    return s < this.opts.config.usageLimit.ceiling(band.priority);
  }

  private waitingAtOrAbove(priority: number): boolean {
    if (this.count === 0) return false;
    for (const b of this.order) {
      if (b.priority < priority) return false;
      if (b.count > 0) return true;
    }
    return false;
  }

  private band(priority: number, built?: BuiltBand): Band {
    let b = this.bands.get(priority);
    if (!b) {
      b = new Band(priority, built ?? this.opts.config.defaultBand);
      this.bands.set(priority, b);
      this.order = [...this.bands.values()].sort((x, y) => y.priority - x.priority);
    }
    return b;
  }

  /** Takes an item out of every structure and its accounting (not its callbacks). */
  private remove(item: Item): boolean {
    const flow = item.flow;
    if (!flow.queue.remove(item)) return false;
    this.deadlines.remove(item);
    const band = flow.band;
    band.count--;
    band.bytes -= item.bytes;
    this.count--;
    this.bytes -= item.bytes;
    if (flow.queue.size === 0) {
      band.flows.delete(flow.id);
      band.list = [...band.flows.values()];
    }
    if (item.onAbort) item.req.signal?.removeEventListener('abort', item.onAbort);
    this.observer.queue?.(item.req.flowId, item.req.priority, item.req.labels, -1, -item.bytes);
    return true;
  }

  private evict(item: Item, outcome: Exclude<Outcome, 'Dispatched'>): void {
    if (!this.remove(item)) return;
    this.finish(item.req, outcome, item.submittedAt);
    if (this.count === 0) this.clearTimers();
    else this.armTtl();
  }

  private dispatch(req: FlowRequest, submittedAt: number): void {
    this.observer.left?.(
      req.flowId,
      req.priority,
      req.labels,
      'Dispatched',
      (this.clock.now() - submittedAt) / 1000,
    );
    try {
      req.dispatch();
    } catch {
      req.evict('EvictedOther');
    }
  }

  private finish(req: FlowRequest, outcome: Exclude<Outcome, 'Dispatched'>, submittedAt: number): void {
    this.observer.left?.(
      req.flowId,
      req.priority,
      req.labels,
      outcome,
      (this.clock.now() - submittedAt) / 1000,
    );
    req.evict(outcome);
  }

  /** One timer, for the earliest deadline. */
  private armTtl(): void {
    const first = this.deadlines.peek();
    const at = first?.deadline ?? Infinity;
    if (at === this.ttlTimerAt) return;
    if (this.ttlTimer !== undefined) this.clock.clearTimeout(this.ttlTimer);
    this.ttlTimer = undefined;
    this.ttlTimerAt = at;
    if (at === Infinity) return;
    this.ttlTimer = this.clock.setTimeout(() => this.expire(), Math.max(0, at - this.clock.now()));
  }

  private expire(): void {
    this.ttlTimer = undefined;
    this.ttlTimerAt = Infinity;
    const now = this.clock.now();
    for (let it = this.deadlines.peek(); it && it.deadline <= now; it = this.deadlines.peek()) {
      this.evict(it, 'EvictedTTL');
    }
    this.armTtl();
  }

  private armBackstop(): void {
    if (this.backstop !== undefined || this.backstopMs <= 0) return;
    const tick = () => {
      this.backstop = undefined;
      if (this.count === 0) return;
      this.kick();
      if (this.count > 0) this.backstop = this.clock.setTimeout(tick, this.backstopMs);
    };
    this.backstop = this.clock.setTimeout(tick, this.backstopMs);
  }

  private clearTimers(): void {
    if (this.backstop !== undefined) this.clock.clearTimeout(this.backstop);
    this.backstop = undefined;
    if (this.count === 0 && this.ttlTimer !== undefined) {
      this.clock.clearTimeout(this.ttlTimer);
      this.ttlTimer = undefined;
      this.ttlTimerAt = Infinity;
    }
  }
}
