// One streaming completion through the gateway, timed: time to the first SSE chunk (TTFT), end to end, and the
// output tokens the server reported. Token arrivals are counted into a shared per-second counter for throughput.

import * as http from 'node:http';

export interface RequestResult {
  /** Scheduled send time and the time it actually left, ms on the step's clock. */
  scheduledMs: number;
  sentMs: number;
  status: number;
  ok: boolean;
  ttftMs?: number;
  e2eMs?: number;
  outputTokens: number;
  /** The simulator that answered (x-infergate-sim). */
  servedBy?: string;
  /** Gaps between consecutive token chunks, ms (inter-token latency as the client sees it). */
  tokenGapsMs?: number[];
  /** x-infergate-prefilled-by: the prefill simulator a P/D decode simulator called, if any. */
  prefilledBy?: string;
  error?: string;
}

export interface TokenSink {
  /** Called for each token chunk as it arrives. */
  token(nowMs: number): void;
}

export interface SendOptions {
  url: URL;
  agent: http.Agent;
  body: string;
  timeoutMs: number;
  now: () => number;
  sink: TokenSink;
  /** Extra request headers (e.g. x-gateway-inference-fairness-id, x-gateway-inference-objective). */
  headers?: Record<string, string>;
}

export function sendCompletion(o: SendOptions, scheduledMs: number): Promise<RequestResult> {
  const sentMs = o.now();
  return new Promise((resolve) => {
    let settled = false;
    const result: RequestResult = { scheduledMs, sentMs, status: 0, ok: false, outputTokens: 0 };
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) result.error = error;
      resolve(result);
    };
    const req = http.request(
      o.url,
      {
        method: 'POST',
        agent: o.agent,
        headers: {
          ...o.headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(o.body),
        },
      },
      (res) => {
        result.status = res.statusCode ?? 0;
        const served = res.headers['x-infergate-sim'];
        if (typeof served === 'string') result.servedBy = served;
        const prefilled = res.headers['x-infergate-prefilled-by'];
        if (typeof prefilled === 'string') result.prefilledBy = prefilled;
        let lastToken: number | undefined;
        let pending = '';
        let done = false;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const t = o.now();
          if (result.ttftMs === undefined) result.ttftMs = t - sentMs;
          pending += chunk;
          let cut: number;
          while ((cut = pending.indexOf('\n\n')) >= 0) {
            const event = pending.slice(0, cut);
            pending = pending.slice(cut + 2);
            // One chunk per generated token; the finish and usage chunks carry no new token.
            if (event.includes('"finish_reason":null')) {
              o.sink.token(t);
              if (lastToken !== undefined) (result.tokenGapsMs ??= []).push(t - lastToken);
              lastToken = t;
            } else if (event.includes('"usage":{') && event.includes('"choices":[]')) {
              const usage = (JSON.parse(event.slice(6)) as { usage: { completion_tokens: number } }).usage;
              result.outputTokens = usage.completion_tokens;
            } else if (event.startsWith('data: [DONE]')) done = true;
          }
        });
        res.on('end', () => {
          result.e2eMs = o.now() - sentMs;
          result.ok = result.status === 200 && done;
          finish(result.ok ? undefined : `status ${result.status}${done ? '' : ', stream not finished'}`);
        });
        res.on('error', (err) => finish(err.message));
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error('client timeout'));
      finish(`timeout after ${o.timeoutMs} ms`);
    }, o.timeoutMs);
    req.on('error', (err) => finish(err.message));
    req.end(o.body);
  });
}

export function completionBody(model: string, prompt: string, maxTokens: number): string {
  return JSON.stringify({
    model,
    prompt,
    max_tokens: maxTokens,
    stream: true,
    stream_options: { include_usage: true },
  });
}
