// Raw JSON requests to the API server with the client's credentials (no client-node model conversion): what the
// managed-fleet reconciler uses for server-side apply, deletes and plain reads.

import { createHash } from 'node:crypto';
import * as https from 'node:https';
import type { KubeClient } from './client';

// client-node builds a new agent (so a new TLS connection) for every request; at 1,000 status writes that was more
// CPU than every compile together (bench/kubernetes-scale). One keep-alive agent per set of TLS credentials instead:
// the bearer token is a header, read again for every request, so a rotated service-account token still applies.
const agents = new Map<string, https.Agent>();

function sharedAgent(o: https.RequestOptions): https.Agent {
  const key = createHash('sha256')
    .update([o.ca, o.cert, o.key, o.servername, o.rejectUnauthorized].map((x) => String(x ?? '')).join('\0'))
    .digest('hex');
  let agent = agents.get(key);
  if (!agent) {
    agent = new https.Agent({
      keepAlive: true,
      maxSockets: 16,
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      servername: o.servername,
      ...(o.rejectUnauthorized !== undefined ? { rejectUnauthorized: o.rejectUnauthorized } : {}),
    });
    agents.set(key, agent);
  }
  return agent;
}

/** An HTTP failure with the status in `code`, as client-node's ApiException carries it. */
export class HttpError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export interface JsonResponse {
  status: number;
  body: unknown;
}

export async function requestJson(
  client: KubeClient,
  method: 'GET' | 'PATCH' | 'DELETE' | 'POST' | 'PUT',
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<JsonResponse> {
  const url = new URL(path, client.server);
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const opts: https.RequestOptions = {
    method,
    hostname: url.hostname,
    port: url.port,
    path: url.pathname + url.search,
    headers: {
      accept: 'application/json',
      ...(data ? { 'content-type': contentType, 'content-length': data.length } : {}),
    },
  };
  await client.config.applyToHTTPSOptions(opts);
  opts.agent = sharedAgent(opts);
  return new Promise((resolve, reject) => {
    const req = https.request(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // a non-JSON error body: keep the text
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** The API server's message for a failed request (a Status object's `message`, else the body). */
export function apiMessage(r: JsonResponse): string {
  const b = r.body as { message?: unknown } | string;
  if (typeof b === 'object' && b && typeof b.message === 'string') return b.message;
  return typeof b === 'string' ? b.slice(0, 300) : JSON.stringify(b).slice(0, 300);
}
