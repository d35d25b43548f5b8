// inflight-load-producer: what this EPP has placed on each endpoint and not yet seen complete (requests and
// estimated tokens). Counted inline at decision time (INLINE_PRE_REQUEST), so the very next decision sees it;
// released exactly once in ResponseComplete; also tells which in-flight requests were placed after an endpoint's
// last scrape (not yet visible in its scraped queue). Published through INFLIGHT_LOAD; consumers (InFlightLoadReader)
// bind to it through the config builder's plugin references. Also the shared scorer behind queue-scorer and
// running-requests-size-scorer, which can add those unscraped placements to their scraped counts.

import type { PluginDeps, PluginRegistration } from '../../scheduling/registry';
import {
  INLINE_PRE_REQUEST,
  PluginKind,
  REFERENCES_PLUGINS,
  type EndpointsAware,
  type Plugin,
  type PreRequest,
  type ReferenceResolver,
  type ReferencingPlugin,
  type ResponseComplete,
  type SchedulingRequest,
  type SchedulingResult,
  type Scorer,
} from '../../scheduling/types';
import { lessIsBetter } from '../../scheduling/normalize';
import type { EndpointMetrics, EndpointState } from '../../types';

export const INFLIGHT_LOAD_PRODUCER_TYPE = 'inflight-load-producer';

export interface InFlightLoad {
  requests: number;
  tokens: number;
}

/** The in-flight load an EPP tracks itself, per endpoint key ("ip:port"). */
export interface InFlightLoadSource extends Plugin {
  /** Requests and estimated tokens placed on `key` and not completed; zeros for an endpoint never used. */
  load(key: string): InFlightLoad;
  /**
   * In-flight requests placed on `key` after `since` (ms since epoch): with `since` = the endpoint's
   * metrics.updateTime, what a scrape taken then could not have counted yet.
   */
  assignedSince(key: string, since: number): number;
  /** Sums over every endpoint, and the number of requests holding a placement (leak checks). */
  totals(): InFlightLoad & { endpoints: number; trackedRequests: number };
}

export const INFLIGHT_LOAD = new PluginKind<InFlightLoadSource>(INFLIGHT_LOAD_PRODUCER_TYPE);

/**
 * A consumer's producer: the one its `inFlightLoadProducerName` parameter names, else the first configured, else
 * a default inflight-load-producer the builder creates (as the reference EPP creates missing default producers).
 */
export const resolveInFlightLoad = (
  resolve: ReferenceResolver,
  producerName: string | undefined,
): InFlightLoadSource | undefined =>
  resolve.plugin('inFlightLoadProducerName', producerName, INFLIGHT_LOAD, {
    configured: true,
    defaultType: INFLIGHT_LOAD_PRODUCER_TYPE,
  });

/**
 * The base of every plugin that reads the in-flight load (token-load-scorer, active-request-scorer,
 * concurrency-detector, the scraped-load scorers with addAssignedSinceScrape): it declares REFERENCES_PLUGINS
 * and the builder binds `source` through resolveInFlightLoad. Unbound (never built), it reads zeros.
 */
export abstract class InFlightLoadReader implements ReferencingPlugin {
  abstract readonly type: string;
  abstract readonly name: string;
  readonly kinds?: readonly PluginKind<Plugin>[] = [REFERENCES_PLUGINS];
  protected source?: InFlightLoadSource;

  constructor(readonly inFlightLoadProducerName?: string) {}

  bindReferences(resolve: ReferenceResolver): void {
    this.source = resolveInFlightLoad(resolve, this.inFlightLoadProducerName);
  }

  /** Binds a producer directly (tests, embedders); the builder uses bindReferences. */
  bindInFlightLoad(source: InFlightLoadSource): void {
    this.source = source;
  }
}

/** Characters (UTF-8 bytes) per prompt token, the reference EPP's estimate (approximate prefix and in-flight load). */
export const BYTES_PER_TOKEN = 4;

/**
 * Tokens a request is charged: prompt bytes / 4 (at least 1 for a non-empty prompt) plus the output cap the client
 * asked for, when it gave one (nothing is guessed for an uncapped output).
 */
export function estimateTokens(promptBytes?: number, maxOutputTokens?: number): number {
  const prompt = promptBytes && promptBytes > 0 ? Math.max(1, Math.round(promptBytes / BYTES_PER_TOKEN)) : 0;
  const output = maxOutputTokens && maxOutputTokens > 0 ? Math.floor(maxOutputTokens) : 0;
  return prompt + output;
}

interface Slot {
  requests: number;
  tokens: number;
  /** The in-flight placements on this endpoint, in placement order. */
  placed: Placement[];
}

interface Placement {
  slot: Slot;
  at: number;
  tokens: number;
}

const ZERO: InFlightLoad = Object.freeze({ requests: 0, tokens: 0 });

/** The endpoint each profile placed the request on (its first target), each counted once. */
export function placedEndpoints(result: SchedulingResult): string[] {
  const keys = new Set<string>();
  for (const r of result.profileResults.values()) {
    const t = r?.targets[0];
    if (t) keys.add(t.endpoint.key);
  }
  return [...keys];
}

export class InFlightLoadProducer
  implements InFlightLoadSource, PreRequest, ResponseComplete, EndpointsAware
{
  readonly type = INFLIGHT_LOAD_PRODUCER_TYPE;
  readonly kinds = [INFLIGHT_LOAD, INLINE_PRE_REQUEST];
  private readonly slots = new Map<string, Slot>();
  private readonly byRequest = new Map<SchedulingRequest, Placement[]>();

  constructor(
    readonly name: string,
    private readonly now: () => number,
  ) {}

  preRequest(req: SchedulingRequest, result: SchedulingResult): void {
    if (this.byRequest.has(req)) return; // one placement per scheduled request
    const tokens = estimateTokens(req.promptBytes, req.maxOutputTokens);
    const at = this.now();
    const placements = placedEndpoints(result).map((key) => {
      let slot = this.slots.get(key);
      if (!slot) this.slots.set(key, (slot = { requests: 0, tokens: 0, placed: [] }));
      slot.requests++;
      slot.tokens += tokens;
      const p: Placement = { slot, at, tokens };
      slot.placed.push(p);
      return p;
    });
    if (placements.length > 0) this.byRequest.set(req, placements);
  }

  responseComplete(req: SchedulingRequest): void {
    const placements = this.byRequest.get(req);
    if (!placements) return; // released already (or never placed)
    this.byRequest.delete(req);
    for (const p of placements) {
      // A slot dropped with its endpoint is no longer in the map; decrementing it is harmless.
      p.slot.requests--;
      p.slot.tokens -= p.tokens;
      const i = p.slot.placed.indexOf(p);
      if (i >= 0) p.slot.placed.splice(i, 1);
    }
  }

  endpointsChanged(active: ReadonlySet<string>): void {
    for (const key of this.slots.keys()) if (!active.has(key)) this.slots.delete(key);
  }

  load(key: string): InFlightLoad {
    return this.slots.get(key) ?? ZERO;
  }

  assignedSince(key: string, since: number): number {
    const slot = this.slots.get(key);
    if (!slot) return 0;
    let n = 0;
    for (const p of slot.placed) if (p.at > since) n++;
    return n;
  }

  totals(): InFlightLoad & { endpoints: number; trackedRequests: number } {
    let requests = 0;
    let tokens = 0;
    for (const s of this.slots.values()) {
      requests += s.requests;
      tokens += s.tokens;
    }
    return { requests, tokens, endpoints: this.slots.size, trackedRequests: this.byRequest.size };
  }
}

export const inflightLoadProducer: PluginRegistration = {
  type: INFLIGHT_LOAD_PRODUCER_TYPE,
  description:
    'Counts in-flight requests and estimated tokens (prompt bytes/4 + max_tokens) per endpoint at decision time.',
  producer: true,
  factory: (name, params, deps: PluginDeps) => {
    params.finish();
    return new InFlightLoadProducer(name, deps.now);
  },
};

/**
 * queue-scorer and running-requests-size-scorer: min–max normalised "less is better" over a scraped count, plus —
 * with `addAssignedSinceScrape: true` (an infergate parameter) — the requests this EPP placed on the endpoint after
 * its last scrape, which that count cannot show yet. Without the parameter it is the upstream scorer exactly and
 * reads no producer.
 */
export class ScrapedLoadScorer extends InFlightLoadReader implements Scorer {
  readonly category = 'Distribution' as const;
  override readonly kinds?: readonly PluginKind<Plugin>[];

  constructor(
    readonly type: string,
    readonly name: string,
    private readonly read: (m: EndpointMetrics) => number,
    addAssignedSinceScrape: boolean,
    inFlightLoadProducerName?: string,
  ) {
    super(inFlightLoadProducerName);
    // Without the parameter it references no producer (upstream configs get none).
    this.kinds = addAssignedSinceScrape ? [REFERENCES_PLUGINS] : undefined;
  }

  // Endpoints without metrics were never scraped: every placement on them is unscraped.
  private readonly unscraped = (e: EndpointState) =>
    this.source ? this.source.assignedSince(e.endpoint.key, e.metrics?.updateTime ?? -Infinity) : 0;

  score: Scorer['score'] = (_req, endpoints, out) =>
    lessIsBetter(endpoints, this.read, out, this.source ? this.unscraped : undefined);
}

/** The registration of a ScrapedLoadScorer under `type`. */
export function scrapedLoadScorer(
  type: string,
  description: string,
  read: (m: EndpointMetrics) => number,
): PluginRegistration {
  return {
    type,
    description,
    factory: (name, params) => {
      const add = params.boolean('addAssignedSinceScrape', false);
      const producer = params.string('inFlightLoadProducerName', '');
      if (producer && !add)
        params.error('inFlightLoadProducerName', 'only read with addAssignedSinceScrape: true');
      params.finish();
      return new ScrapedLoadScorer(type, name, read, add, producer || undefined);
    },
  };
}
