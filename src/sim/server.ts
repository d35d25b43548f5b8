// A simulated vLLM server on node:http: routes, identity header, health, models, metrics, runtime LoRA loading,
// and the start/close lifecycle; plus fleets of them in one process.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseHostPort } from './disagg';
import { Engine, type EngineStats } from './engine';
import { handleInference, sendJson, type SimContext } from './inference';
import { renderMetrics, SimMetrics } from './metrics';
import { ApiError, errorBody, parseBody, parseInferenceRequest, type ApiKind } from './openai';
import { resolveOptions, type SimFaults, type SimOptions, type SimOptionsInput } from './options';
import { EngineRunner } from './runner';
import { prng } from './text';

export { parseHostPort };

export interface SimServerOptions extends SimOptionsInput {
  /** Listen address; default 127.0.0.1. */
  address?: string;
  /** Listen port; 0 (the default) picks a free one. */
  port?: number;
}

export interface SimServer {
  readonly address: string;
  readonly port: number;
  /** `http://address:port` */
  readonly url: string;
  readonly options: SimOptions;
  /** The engine's state right now (what /metrics reports). */
  stats(): EngineStats;
  /** Changes faults at run time (for example, go unhealthy in the middle of a test). */
  setFaults(faults: Partial<SimFaults>): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;
const INFERENCE_ROUTES: Record<string, ApiKind> = {
  '/v1/completions': 'completion',
  '/v1/chat/completions': 'chat',
};

export async function startSimServer(input: SimServerOptions = {}): Promise<SimServer> {
  const { address = '127.0.0.1', port = 0, ...rest } = input;
  const options = resolveOptions(rest);
  const engine = new Engine(options);
  const metrics = new SimMetrics();
  let sequence = 0;
  const ctx: SimContext = {
    options,
    runner: new EngineRunner(engine, options.jitter, options.seed),
    metrics,
    adapters: new Set(options.loras),
    random: prng(options.seed),
    open: new Map(),
    nextId: () => `${options.seed.toString(16)}-${(++sequence).toString(16)}`,
    sendError,
    prefillAgent: new http.Agent({ keepAlive: true }),
  };
  let identity = '';
  const server = http.createServer((req, res) => {
    res.setHeader('x-infergate-sim', identity);
    route(ctx, req, res).catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else
        sendError(res, err instanceof ApiError ? err : new ApiError(500, String(err), 'InternalServerError'));
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  identity = `${address.includes(':') ? `[${address}]` : address}:${bound}`;
  let closing: Promise<void> | undefined;
  return {
    address,
    port: bound,
    url: `http://${identity}`,
    options,
    stats: () => engine.stats(),
    setFaults: (faults) =>
      Object.assign(options.faults, resolveOptions({ faults: { ...options.faults, ...faults } }).faults),
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        ctx.runner.close();
        ctx.prefillAgent.destroy();
        for (const end of [...ctx.open.values()]) end();
        server.closeAllConnections();
      })),
  };
}

async function route(ctx: SimContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const kind = INFERENCE_ROUTES[path];
  if (kind) {
    requireMethod(req, 'POST');
    const body = parseInferenceRequest(kind, parseBody(await readBody(req)));
    handleInference(ctx, body, req, res, path);
    return;
  }
  switch (path) {
    case '/health':
      requireMethod(req, 'GET');
      res.writeHead(ctx.options.faults.unhealthy ? 503 : 200).end();
      return;
    case '/metrics': {
      requireMethod(req, 'GET');
      const stats = ctx.runner.engine.stats();
      ctx.metrics.noteLoraState(stats);
      const text = renderMetrics({ options: ctx.options, stats, metrics: ctx.metrics });
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text);
      return;
    }
    case '/v1/models':
      requireMethod(req, 'GET');
      sendJson(res, 200, models(ctx));
      return;
    case '/v1/load_lora_adapter':
    case '/v1/unload_lora_adapter': {
      requireMethod(req, 'POST');
      const body = parseBody(await readBody(req)) as { lora_name?: unknown } | null;
      const name = body?.lora_name;
      if (typeof name !== 'string' || !name || name === ctx.options.model) {
        throw new ApiError(400, 'lora_name must be a non-empty string', 'BadRequestError', null, 'lora_name');
      }
      if (path === '/v1/load_lora_adapter') ctx.adapters.add(name);
      else if (!ctx.adapters.delete(name)) {
        throw new ApiError(404, `The lora adapter '${name}' cannot be found.`, 'NotFoundError');
      } else ctx.runner.engine.unloadAdapter(name);
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`Success: LoRA adapter '${name}' updated.`);
      return;
    }
    default:
      throw new ApiError(404, `No route for ${req.method} ${path}`, 'NotFoundError');
  }
}

function models(ctx: SimContext) {
  const created = Math.floor(Date.now() / 1000);
  const maxModelLen = ctx.options.kvBlocks * ctx.options.blockSize;
  const card = (id: string, parent: string | null) => ({
    id,
    object: 'model',
    created,
    owned_by: 'vllm',
    root: id,
    parent,
    max_model_len: maxModelLen,
  });
  return {
    object: 'list',
    data: [card(ctx.options.model, null), ...[...ctx.adapters].map((a) => card(a, ctx.options.model))],
  };
}

function requireMethod(req: http.IncomingMessage, method: string): void {
  if (req.method !== method)
    throw new ApiError(405, `Method ${req.method} not allowed; use ${method}`, 'BadRequestError');
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ApiError(413, 'Request body too large', 'BadRequestError'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendError(res: http.ServerResponse, err: ApiError): void {
  sendJson(res, err.status, errorBody(err));
}

export interface SimFleet {
  readonly servers: SimServer[];
  close(): Promise<void>;
}

/**
 * Starts one server per `host:port`, all with the same options except the seed (seed + index, so fault draws
 * differ between servers yet stay reproducible). If one fails to start, the ones started are closed.
 */
export async function startSimFleet(addresses: string[], options: SimOptionsInput = {}): Promise<SimFleet> {
  const servers: SimServer[] = [];
  const close = async () => {
    await Promise.all(servers.map((s) => s.close()));
  };
  try {
    for (const [i, hostPort] of addresses.entries()) {
      const { address, port } = parseHostPort(hostPort);
      servers.push(await startSimServer({ ...options, seed: (options.seed ?? 0) + i, address, port }));
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { servers, close };
}
