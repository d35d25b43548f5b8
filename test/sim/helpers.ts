// Real-HTTP helpers for simulator tests: JSON posts, SSE reads with arrival times, metric scrapes, polling.

import { parseExposition, startSimServer, type SimServer, type SimServerOptions } from '../../src/sim';

export const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

/** Fast latency constants so each test finishes in well under a second of simulated work. */
export const FAST: SimServerOptions = {
  ttftOverheadMs: 1,
  prefillMsPerToken: 0,
  interTokenMs: 2,
  loraLoadMs: 1,
};

const servers: SimServer[] = [];

/** Starts a server on a loopback address with port 0; closed by `closeAll` in afterEach. */
export async function sim(options: SimServerOptions = {}): Promise<SimServer> {
  const s = await startSimServer({ address: '127.0.0.1', port: 0, ...FAST, ...options });
  servers.push(s);
  return s;
}

export async function closeAll(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => s.close()));
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export async function post(url: string, body: unknown, init: RequestInit = {}): Promise<JsonResponse> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> };
}

export interface StreamResult {
  status: number;
  headers: Headers;
  /** Parsed `data:` events (not [DONE]). */
  events: Record<string, unknown>[];
  done: boolean;
  /** ms from sending the request to the first data event. */
  firstEventMs: number;
  /** ms from sending the request to the end of the stream. */
  endMs: number;
  /** Set when the connection was cut. */
  error?: Error;
}

export async function stream(url: string, body: Record<string, unknown>): Promise<StreamResult> {
  const start = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
  });
  const result: StreamResult = {
    status: res.status,
    headers: res.headers,
    events: [],
    done: false,
    firstEventMs: -1,
    endMs: -1,
  };
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (!event.startsWith('data: ')) continue;
        if (result.firstEventMs < 0) result.firstEventMs = performance.now() - start;
        const data = event.slice(6);
        if (data === '[DONE]') result.done = true;
        else result.events.push(JSON.parse(data) as Record<string, unknown>);
      }
    }
  } catch (err) {
    result.error = err as Error;
  }
  result.endMs = performance.now() - start;
  return result;
}

/** Scrapes /metrics; returns a lookup of the first sample of a name whose labels include `labels`. */
export async function scrape(server: SimServer) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const samples = parseExposition(text);
  const get = (name: string, labels: Record<string, string> = {}) =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return {
    text,
    samples,
    get,
    value: (name: string, labels: Record<string, string> = {}) => get(name, labels)?.value,
  };
}

/** Polls until `check` is true (or fails after `timeoutMs`); for waiting on server state, not on time. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A prompt of about `tokens` tokens (4 characters each). */
export function promptOf(tokens: number, seed = 'x'): string {
  let s = '';
  for (let i = 0; s.length < tokens * 4; i++) s += `${seed}${i} `;
  return s.slice(0, tokens * 4);
}
