// The decision for one request (reference EPP requestcontrol/director.go): model rewrite → objective and priority
// → admission (without the flowControl gate: shed sheddable requests while saturated; with it: enqueue in the flow
// controller and wait for dispatch, or its rejection) → candidates (subset hint, reachable) → scheduler (its
// profile filters, e.g. header-based-testing-filter when configured) → ordered endpoints; in-flight load accounting
// inline (INLINE_PRE_REQUEST hooks), prefix-index learning after the decision; metrics and in-flight accounting (keyed
// by the stream, released through ResponseComplete) on completion.

import { performance } from 'node:perf_hooks';
import { resolvePriority, shouldShed, SHED_MESSAGE } from './admission/admission';
import { buildFromConfig, type BuiltConfig } from './config/build';
import type { EndpointPickerConfig } from './config/types';
import { DEFAULT_UNREACHABLE_AFTER_FAILURES, reachable, type Datastore } from './datastore/datastore';
import {
  DEFAULT_FLOW_ID,
  FAIRNESS_ID_HEADER,
  FlowController,
  OUTCOME_RESPONSE,
  type Clock,
} from './flowcontrol/controller';
import type { EppMetrics } from './observability/metrics';
import { declaredModels, ModelLabels } from './observability/model-labels';
import { blockHashes } from './prefix/hash';
import { hashParamsFor } from './prefix/prefix-cache';
import type { RandomSource } from './scheduling/random';
import type { PluginRegistry } from './scheduling/registry';
import { Scheduler, SchedulingError } from './scheduling/scheduler';
import type { SchedulingRequest, SchedulingResult } from './scheduling/types';
import { chooseTargetModel } from './rewrite/rewrite';
import type {
  Decision,
  Director,
  EndpointState,
  PrefixHashParams,
  RequestInput,
  ResponseInfo,
  StreamToken,
} from './types';
import { logger } from '../util/log';
import { TESTING_FILTER } from './plugins/header-based-testing-filter';

const log = logger('epp.director');

export const NO_CANDIDATES = 'no endpoint candidates';
export const NO_TARGET = 'failed to find target endpoint';

export type Hasher = (
  model: string,
  input: Uint8Array,
  blockChars: number,
  maxBlocks: number,
) => BigUint64Array;

export interface DirectorOptions {
  datastore: Datastore;
  config: EndpointPickerConfig;
  metrics: EppMetrics;
  random?: RandomSource;
  /** ms since epoch (metrics staleness). */
  now?: () => number;
  hasher?: Hasher;
  registry?: PluginRegistry;
  /**
   * Consecutive failed scrapes after which an endpoint is left out of the candidates (default 3; ≤ 0 never),
   * unless that would leave none. A killed model server whose Pod still reads Ready stops being picked.
   */
  unreachableAfterFailures?: number;
  /** The flow controller's clock and timers (tests pass a fake one); real timers by default. */
  flowClock?: Clock;
}

export interface EppDirector extends Director {
  prefixHashParams(model: string, body?: Record<string, unknown>): PrefixHashParams | undefined;
  readonly built: BuiltConfig;
  /** From a header-based-testing-filter's servedEndpointHeader: the response header reporting the served endpoint. */
  readonly servedEndpointHeader?: string;
  /** The flow controller, with the flowControl feature gate. */
  readonly flowControl?: FlowController;
  /** Streams with a route decision not yet completed (for tests and leak checks). */
  inFlight(): number;
  /** Stops listening to the datastore. */
  close(): void;
}

interface InFlight {
  incoming: string;
  target: string;
  priority: number;
  /** The running_requests label it was counted under (released under the same one). */
  runningLabel: string;
  /** The scheduling cycle that placed it, for the ResponseComplete plugins (absent for headers-only picks). */
  cycle?: { req: SchedulingRequest; result: SchedulingResult };
}

/** h0 covers the target model and the request's cache_salt, as the reference EPP hashes them. */
export function prefixHashModel(targetModel: string, body?: Record<string, unknown>): string {
  const salt = body?.cache_salt;
  return typeof salt === 'string' && salt !== '' ? targetModel + salt : targetModel;
}

/** The output cap the client asked for: max_tokens, max_completion_tokens (chat) or max_output_tokens (responses). */
export function maxOutputTokens(body: Record<string, unknown> | undefined): number | undefined {
  for (const k of ['max_tokens', 'max_completion_tokens', 'max_output_tokens']) {
    const v = body?.[k];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) return Math.floor(v);
  }
  return undefined;
}

/** Candidates named by the subset hint: `ip:port` exactly, or every port of an `ip`. */
export function subsetCandidates(all: readonly EndpointState[], subset: readonly string[]): EndpointState[] {
  const keys = new Set<string>();
  for (const s of subset) for (const part of s.split(',')) if (part.trim()) keys.add(part.trim());
  return all.filter((e) => keys.has(e.endpoint.key) || keys.has(e.endpoint.address));
}

function toBigUint64(h: bigint[] | BigUint64Array): BigUint64Array {
  return h instanceof BigUint64Array ? h : BigUint64Array.from(h);
}

/**
 * Precomputed hashes usable for (blockChars, maxBlocks), or undefined. The chain's i-th hash depends only on the
 * model and blocks 1..i, so with the same blockChars a longer cap covers a shorter one (take a prefix), and a
 * shorter cap the input never reached (fewer hashes than the cap) is already the whole chain.
 */
export function reusableHashes(
  hashes: bigint[] | BigUint64Array | undefined,
  params: { blockChars: number; maxBlocks: number } | undefined,
  blockChars: number,
  maxBlocks: number,
): BigUint64Array | undefined {
  if (hashes === undefined || params === undefined || params.blockChars !== blockChars) return undefined;
  const all = toBigUint64(hashes);
  if (maxBlocks <= params.maxBlocks) return all.length > maxBlocks ? all.subarray(0, maxBlocks) : all;
  return all.length < params.maxBlocks ? all : undefined;
}

export function createDirector(opts: DirectorOptions): EppDirector {
  const { datastore, metrics } = opts;
  const random = opts.random ?? Math.random;
  const now = opts.now ?? Date.now;
  const hasher = opts.hasher ?? blockHashes;
  const unreachableAfter = opts.unreachableAfterFailures ?? DEFAULT_UNREACHABLE_AFTER_FAILURES;
  const built = buildFromConfig(
    opts.config,
    { random, now, onPrefixIndexSize: (n) => metrics.prefixIndexerSize.set(n) },
    { registry: opts.registry, timers: metrics.pluginTimer },
  );
  const inflight = new Map<StreamToken, InFlight>();
  const fc = built.flowControl
    ? new FlowController({
        config: built.flowControl,
        detector: built.saturationDetector,
        endpoints: () => datastore.endpoints(),
        wallNow: now,
        clock: opts.flowClock,
        observer: metrics.flowControlObserver(datastore.poolId.name),
      })
    : undefined;
  const kick = () => fc?.kick();

  const onChange = (endpoints: readonly EndpointState[]) => {
    const active = new Set(endpoints.map((e) => e.endpoint.key));
    for (const p of built.endpointsAware) p.endpointsChanged(active);
    kick();
  };
  datastore.on('change', onChange);
  if (fc) datastore.on('metrics', kick);
  let declared: Set<string> | undefined;
  const onResources = () => (declared = undefined);
  datastore.on('resources', onResources);
  const labels = new ModelLabels((name) => {
    declared ??= declaredModels(datastore.models().values(), datastore.rewrites());
    if (declared.has(name)) return true;
    for (const e of datastore.endpoints()) {
      if (e.metrics?.activeModels.includes(name) || e.metrics?.waitingModels.includes(name)) return true;
    }
    return false;
  });

  const requestError = (incoming: string, target: string, code: string) =>
    metrics.requestError(labels.label(incoming), labels.label(target), code);

  const ERROR_CODE = { 429: 'ResourceExhausted', 500: 'Internal', 503: 'ServiceUnavailable' } as const;
  const reject = (status: 429 | 500 | 503, message: string, incoming: string, target: string): Decision => {
    requestError(incoming, target, ERROR_CODE[status]);
    return { kind: 'reject', status, message };
  };

  const runPreRequest = (req: SchedulingRequest, result: SchedulingResult, hooks = built.preRequest) => {
    for (const p of hooks) {
      try {
        p.preRequest(req, result);
      } catch (err) {
        log.warn('preRequest failed', { plugin: p.name, err });
      }
    }
  };

  const runResponseComplete = (
    req: SchedulingRequest,
    result: SchedulingResult,
    info: Pick<ResponseInfo, 'status' | 'promptTokens' | 'completionTokens'>,
  ) => {
    const done = {
      status: info.status,
      promptTokens: info.promptTokens,
      completionTokens: info.completionTokens,
    };
    for (const p of built.responseComplete) {
      try {
        p.responseComplete(req, result, done);
      } catch (err) {
        log.warn('responseComplete failed', { plugin: p.name, err });
      }
    }
  };

  /**
   * A request without a body: any endpoint at random. No candidates (empty pool, or a subset naming no member) is
   * 503, the protocol's rule and the same as for a request with a body (the reference EPP's 500 for an empty pool
   * breaks that rule).
   */
  function headersOnly(
    input: RequestInput,
    all: EndpointState[],
    incoming: string,
    target: string,
    priority: number,
  ): Decision {
    const pool = reachable(
      input.subset === undefined ? all : subsetCandidates(all, input.subset),
      unreachableAfter,
    );
    if (pool.length === 0) return reject(503, NO_CANDIDATES, incoming, target);
    const e = pool[Math.floor(random() * pool.length)];
    return {
      kind: 'route',
      endpoints: [e.endpoint.key],
      incomingModel: incoming,
      targetModel: target,
      priority,
    };
  }

  interface Resolved {
    incoming: string;
    target: string;
    priority: number;
    objective?: string;
  }

  /** Model rewrite: the target model (and the rewrite metric). */
  function rewrite(input: RequestInput): string {
    const incoming = input.parsed.model;
    const rw = chooseTargetModel(incoming, input.headers, datastore.rewrites(), datastore.models(), random);
    if (rw.source === 'rewrite' && rw.by)
      metrics.rewrite(rw.by, labels.label(incoming), labels.label(rw.targetModel));
    return rw.targetModel;
  }

  /** Model rewrite and priority: what every path needs first. */
  function resolve(input: RequestInput): Resolved {
    const incoming = input.parsed.model;
    const target = rewrite(input);
    const { priority, objective } = resolvePriority(
      input.headers,
      incoming,
      datastore.objectives(),
      datastore.models(),
    );
    return { incoming, target, priority, objective };
  }

  /**
   * Without the flowControl gate: the legacy admission rule, then placement, all synchronous (no allocation beyond
   * what the decision itself needs: this path is benchmarked).
   */
  function decideSync(input: RequestInput): Decision {
    const incoming = input.parsed.model;
    const target = rewrite(input);
    const { priority, objective } = resolvePriority(
      input.headers,
      incoming,
      datastore.objectives(),
      datastore.models(),
    );
    const all = datastore.endpoints();
    if (input.headersOnly) return headersOnly(input, all, incoming, target, priority);
    if (shouldShed(priority, () => built.saturationDetector.saturation(all, now()))) {
      return reject(429, SHED_MESSAGE, incoming, target);
    }
    return place(input, incoming, target, priority, objective, all);
  }

  /** With the gate: the flow controller admits (at once, or after queueing) or rejects with its outcome's status. */
  function decideQueued(input: RequestInput, controller: FlowController): Promise<Decision> {
    const r = resolve(input);
    if (input.headersOnly)
      return Promise.resolve(headersOnly(input, datastore.endpoints(), r.incoming, r.target, r.priority));
    return new Promise<Decision>((done) => {
      controller.submit({
        flowId: input.headers[FAIRNESS_ID_HEADER] || DEFAULT_FLOW_ID,
        priority: r.priority,
        bytes: input.bodyBytes ?? 0,
        signal: input.signal,
        labels: { model: labels.label(r.incoming), target: labels.label(r.target) },
        dispatch: () => {
          try {
            done(place(input, r.incoming, r.target, r.priority, r.objective, datastore.endpoints()));
          } catch (err) {
            log.error('placing a dispatched request failed', { err });
            done(reject(500, `placing the request failed: ${(err as Error).message}`, r.incoming, r.target));
          }
        },
        evict: (outcome) => {
          const { status, message } = OUTCOME_RESPONSE[outcome];
          done(reject(status, message, r.incoming, r.target));
        },
      });
    });
  }

  /** Candidates → scheduler → the route decision, counted in flight. */
  function place(
    input: RequestInput,
    incoming: string,
    target: string,
    priority: number,
    objective: string | undefined,
    all: EndpointState[],
  ): Decision {
    const { parsed, headers } = input;
    let candidates: EndpointState[] = input.subset === undefined ? all : subsetCandidates(all, input.subset);
    if (candidates.length === 0) return reject(503, NO_CANDIDATES, incoming, target);
    // Endpoints that stopped answering scrapes are left out, failing open when that would leave none.
    candidates = reachable(candidates, unreachableAfter);

    const hashModel = prefixHashModel(target, parsed.body);
    let cached: { blockChars: number; maxBlocks: number; hashes: BigUint64Array } | undefined;
    const req: SchedulingRequest = {
      requestId: input.requestId,
      targetModel: target,
      headers,
      state: new Map(),
      promptBytes: parsed.prefixInput.length,
      maxOutputTokens: maxOutputTokens(parsed.body),
      prefixHashes(blockChars, maxBlocks) {
        if (cached && cached.blockChars === blockChars && cached.maxBlocks === maxBlocks)
          return cached.hashes;
        // Hashes from a worker are trusted when seeded with the model the scheduler needs and computed with the
        // block parameters it asks for now (see prefixHashParams); anything else is recomputed.
        const given =
          input.prefixHashesModel === undefined || input.prefixHashesModel === hashModel
            ? reusableHashes(input.prefixHashes, input.prefixHashesParams, blockChars, maxBlocks)
            : undefined;
        const hashes = given ?? hasher(hashModel, parsed.prefixInput, blockChars, maxBlocks);
        cached = { blockChars, maxBlocks, hashes };
        return hashes;
      },
    };

    const t = performance.now();
    let result: SchedulingResult;
    try {
      result = built.scheduler.schedule(req, candidates);
    } catch (err) {
      if (!(err instanceof SchedulingError)) log.error('scheduler failed', { err });
      return reject(429, NO_TARGET, incoming, target);
    } finally {
      metrics.schedulerE2e.observe((performance.now() - t) / 1000);
    }
    const targets = Scheduler.primaryTargets(result);
    if (targets.length === 0) return reject(429, NO_TARGET, incoming, target);
    // Learning where the request went is off the decision's path, as in the reference EPP; in-flight accounting
    // (INLINE_PRE_REQUEST) runs below, with the request's tracking, so the next decision sees it.
    if (built.preRequest.length > 0) setImmediate(runPreRequest, req, result);

    const decision: Decision = {
      kind: 'route',
      endpoints: targets.map((e) => e.endpoint.key),
      incomingModel: incoming,
      targetModel: target,
      priority,
    };
    if (objective) decision.objective = objective;
    if (result.headers && Object.keys(result.headers).length > 0) decision.headers = { ...result.headers };
    if (target !== incoming) decision.body = Buffer.from(JSON.stringify({ ...parsed.body, model: target }));
    // Counted last, once nothing can throw: a request is in flight only when its decision reaches the stream. The
    // inline hooks run here, so each pairs with exactly one ResponseComplete (complete(), or a replaced entry).
    runPreRequest(req, result, built.preRequestInline);
    track(input.stream, {
      incoming,
      target,
      priority,
      runningLabel: labels.label(incoming),
      cycle: { req, result },
    });
    return decision;
  }

  function track(stream: StreamToken, f: InFlight): void {
    // A stream deciding again replaces its entry; the old cycle still gets its one ResponseComplete.
    const old = release(stream);
    if (old?.cycle) runResponseComplete(old.cycle.req, old.cycle.result, { status: 499 });
    inflight.set(stream, f);
    metrics.running(f.runningLabel, 1);
  }

  function release(stream: StreamToken): InFlight | undefined {
    const f = inflight.get(stream);
    if (!f) return undefined;
    inflight.delete(stream);
    metrics.running(f.runningLabel, -1);
    return f;
  }

  const servedEndpointHeader = [...built.plugins.values()].find(
    (p) => TESTING_FILTER.of(p)?.servedEndpointHeader,
  ) as { servedEndpointHeader?: string } | undefined;
  return {
    built,
    ...(servedEndpointHeader?.servedEndpointHeader
      ? { servedEndpointHeader: servedEndpointHeader.servedEndpointHeader }
      : {}),
    ...(fc ? { flowControl: fc } : {}),
    // A throw becomes a rejection, which the stream turns into a 500.
    decide: fc
      ? (input) => {
          try {
            return decideQueued(input, fc);
          } catch (err) {
            return Promise.reject(err);
          }
        }
      : (input) => new Promise((ok) => ok(decideSync(input))),
    complete(info: ResponseInfo): void {
      try {
        const f = release(info.stream);
        if (!f) return;
        if (f.cycle) runResponseComplete(f.cycle.req, f.cycle.result, info);
        if (info.status >= 200 && info.status < 300) {
          labels.learn(f.target);
          if (f.incoming === f.target) labels.learn(f.incoming);
        }
        const incoming = labels.label(f.incoming);
        const target = labels.label(f.target);
        metrics.request(incoming, target, f.priority);
        if (info.status >= 400) requestError(f.incoming, f.target, String(info.status));
        else {
          metrics.observe('duration', incoming, target, info.durationSeconds);
          if (info.promptTokens !== undefined) metrics.observe('input', incoming, target, info.promptTokens);
          if (info.completionTokens !== undefined)
            metrics.observe('output', incoming, target, info.completionTokens);
        }
      } catch (err) {
        log.warn('complete failed', { err });
      }
      // A finished request may have made room for a queued one.
      kick();
    },
    inFlight: () => inflight.size,
    prefixHashParams(model, body) {
      if (!built.prefixCache) return undefined;
      const p = hashParamsFor(built.prefixCache.params, datastore.endpoints());
      return { model: prefixHashModel(model, body), ...p };
    },
    close: () => {
      fc?.close();
      datastore.off('metrics', kick);
      datastore.off('change', onChange);
      datastore.off('resources', onResources);
    },
  };
}
