// One inference request's life on a simulated server: model check, fault draws, submission to the engine, then
// SSE chunks or one JSON body as the runner emits tokens. Routing and the server lifecycle are in server.ts.

import type { Agent, IncomingMessage, ServerResponse } from 'node:http';
import { logger } from '../util/log';
import { PREFILLED_BY_HEADER, prefillerOf, remotePrefill } from './disagg';
import type { EngineRunner } from './runner';
import type { SimMetrics } from './metrics';
import type { SimOptions } from './options';
import {
  ApiError,
  responseBody,
  streamChunk,
  usage,
  usageChunk,
  type InferenceRequest,
  type ResponseContext,
} from './openai';
import { blockHashes, countTokens, outputTokens, seedOf } from './text';

/** What a server shares with its requests. */
export interface SimContext {
  options: SimOptions;
  runner: EngineRunner;
  metrics: SimMetrics;
  /** Adapters served besides the base model. */
  adapters: Set<string>;
  /** Seeded draws for faults, in request order. */
  random: () => number;
  /** Responses not yet finished, so close() can end them; the value ends one. */
  open: Map<ServerResponse, () => void>;
  nextId: () => string;
  sendError: (res: ServerResponse, err: ApiError) => void;
  /** Keep-alive connections to prefill servers (decode role). */
  prefillAgent: Agent;
}

const log = logger('sim');

export function handleInference(
  ctx: SimContext,
  req: InferenceRequest,
  http: IncomingMessage,
  res: ServerResponse,
  path = '/v1/completions',
) {
  const { options } = ctx;
  // A prefill server serves every request as prefill-only; any server serves a decode server's prefill-only call.
  const prefillOnly = options.role === 'prefill' || req.prefillOnly;
  const prefiller = prefillOnly ? undefined : prefillerOf(http.headers);
  const go = () => start(ctx, req, res, drop, { prefillOnly, prefiller, path });
  if (req.model !== options.model && !ctx.adapters.has(req.model)) {
    throw new ApiError(
      404,
      `The model \`${req.model}\` does not exist.`,
      'NotFoundError',
      'model_not_found',
      'model',
    );
  }
  const { faults } = options;
  // Three draws per request, always, so one fault's rate does not shift another's pattern.
  const [stallDraw, errorDraw, dropDraw] = [ctx.random(), ctx.random(), ctx.random()];
  if (stallDraw < faults.stallRate) {
    ctx.open.set(res, () => res.destroy());
    res.on('close', () => ctx.open.delete(res));
    return;
  }
  if (errorDraw < faults.errorRate) {
    throw new ApiError(
      500,
      'Simulated internal server error (fault injection).',
      'InternalServerError',
      'internal_error',
    );
  }
  const drop = dropDraw < faults.dropStreamRate;
  if (faults.addedLatencyMs > 0) {
    const timer = setTimeout(() => {
      ctx.open.delete(res);
      go();
    }, faults.addedLatencyMs);
    ctx.open.set(res, () => {
      clearTimeout(timer);
      res.destroy();
    });
    res.on('close', () => {
      if (ctx.open.has(res)) {
        clearTimeout(timer);
        ctx.open.delete(res);
      }
    });
    return;
  }
  go();
}

interface Disagg {
  /** Serve one token only (prefill role, or a decode server's prefill call). */
  prefillOnly: boolean;
  /** host:port of the prefill server to call first (decode side). */
  prefiller?: string;
  path: string;
}

/**
 * With a prefiller: call it with the prefill-only request and wait, then run with the KV "transferred"; if the call
 * fails, prefill locally (logged, counted in infergate_sim_remote_prefill_fallbacks_total).
 */
function start(ctx: SimContext, req: InferenceRequest, res: ServerResponse, drop: boolean, d: Disagg): void {
  if (res.destroyed) return;
  const arrival = performance.now();
  const prefiller = d.prefiller;
  if (prefiller === undefined) return run(ctx, req, res, drop, d.prefillOnly, false, arrival);
  const abort = new AbortController();
  const onClose = () => abort.abort();
  res.on('close', onClose);
  ctx.open.set(res, () => {
    abort.abort();
    res.destroy();
  });
  void remotePrefill(prefiller, d.path, req.body, { agent: ctx.prefillAgent, signal: abort.signal }).then(
    (failure) => {
      res.off('close', onClose);
      ctx.open.delete(res);
      if (abort.signal.aborted || res.destroyed) return;
      if (failure !== undefined) {
        ctx.metrics.remotePrefillFallbacks++;
        log.warn('remote prefill failed; prefilling locally', { prefiller, reason: failure });
      } else {
        ctx.metrics.remotePrefills++;
        res.setHeader(PREFILLED_BY_HEADER, prefiller);
      }
      run(ctx, req, res, drop, false, failure === undefined, arrival);
    },
  );
}

function run(
  ctx: SimContext,
  req: InferenceRequest,
  res: ServerResponse,
  drop: boolean,
  prefillOnly: boolean,
  remotePrefilled: boolean,
  arrival: number,
): void {
  if (res.destroyed) return;
  const { options, metrics, runner } = ctx;
  const id = ctx.nextId();
  const maxTokens = prefillOnly ? 1 : req.maxTokens;
  if (prefillOnly) metrics.prefillOnlyRequests++;
  const rc: ResponseContext = {
    kind: req.kind,
    id: `${req.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${id}`,
    created: Math.floor(Date.now() / 1000),
    model: req.model,
  };
  const promptTokens = Math.max(countTokens(req.promptText, options.charsPerToken), 1);
  const capacity = options.kvBlocks * options.blockSize;
  if (promptTokens + maxTokens > capacity) {
    const message = `This request asks for ${promptTokens + maxTokens} tokens (prompt + max_tokens), more than the KV cache holds (${capacity}).`;
    ctx.sendError(
      res,
      new ApiError(400, message, 'BadRequestError', 'context_length_exceeded', 'max_tokens'),
    );
    return;
  }
  const tokens = outputTokens(
    options.mode,
    req.echoText,
    maxTokens,
    seedOf(options.seed, req.model, req.promptText),
  );
  const finishReason = tokens.length < maxTokens ? 'stop' : 'length';
  const dropAt = Math.floor(tokens.length / 2);
  let done = false;

  const stop = (reason: 'abort') => {
    if (done) return;
    done = true;
    ctx.open.delete(res);
    runner.abort(id);
    metrics.finished[reason]++;
  };
  const write = (chunk: object) => res.write(`data: ${JSON.stringify(chunk)}\n\n`);

  const result = runner.submit(
    {
      id,
      adapter: req.model === options.model ? undefined : req.model,
      promptTokens,
      promptHashes: blockHashes(req.model, req.promptText, options.blockSize * options.charsPerToken),
      outputTokens: tokens.length,
      remotePrefill: remotePrefilled,
    },
    {
      onAdmitted: () => {
        metrics.promptTokens += promptTokens;
      },
      onToken: (i) => {
        if (i === 0) metrics.ttft.observe((performance.now() - arrival) / 1000);
        metrics.generationTokens++;
        if (req.stream) write(streamChunk(rc, tokens[i], null, i === 0));
        if (drop && i === dropAt) {
          stop('abort');
          res.destroy();
        }
      },
      onDone: () => {
        done = true;
        ctx.open.delete(res);
        metrics.e2e.observe((performance.now() - arrival) / 1000);
        metrics.finished[finishReason]++;
        const u = usage(promptTokens, tokens.length);
        if (!req.stream) {
          sendJson(res, 200, responseBody(rc, tokens.join(''), finishReason, u));
          return;
        }
        write(streamChunk(rc, '', finishReason, false));
        if (req.includeUsage) write(usageChunk(rc, u));
        res.end('data: [DONE]\n\n');
      },
    },
  );
  if (result === 'overloaded') {
    ctx.sendError(
      res,
      new ApiError(
        429,
        'The server is overloaded: too many requests waiting.',
        'RateLimitError',
        'rate_limit_exceeded',
      ),
    );
    return;
  }
  if (result === 'too-long') {
    const message = `This request needs more tokens than the KV cache holds (${capacity}).`;
    ctx.sendError(
      res,
      new ApiError(400, message, 'BadRequestError', 'context_length_exceeded', 'max_tokens'),
    );
    return;
  }
  ctx.open.set(res, () => {
    stop('abort');
    res.end();
  });
  res.on('close', () => stop('abort'));
  if (req.stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
