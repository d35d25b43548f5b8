// Prefill/decode disaggregation on the simulator's side: the decode server's call to the prefill server named in
// x-prefiller-host-port (the same request, prefill-only), and the header and body conventions it uses. The timing
// (KV transfer instead of local prefill) is the engine's (engine.ts, SeqRequest.remotePrefill).

import * as http from 'node:http';

/** Set by the EPP's P/D profile handler on requests routed to a decode server: the prefill server's host:port. */
export const PREFILLER_HEADER = 'x-prefiller-host-port';
/** Response header of a decode server whose request was prefilled remotely: the prefill server's host:port. */
export const PREFILLED_BY_HEADER = 'x-infergate-prefilled-by';
/** The longest a decode server waits for its prefill server before prefilling locally. */
export const REMOTE_PREFILL_TIMEOUT_MS = 60_000;

/** Parses `host:port` (or `[v6]:port`). */
export function parseHostPort(s: string): { address: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(s.trim());
  if (!m || Number(m[3]) > 65535) throw new Error(`not an address:port: ${JSON.stringify(s)}`);
  return { address: m[1] ?? m[2], port: Number(m[3]) };
}

/** The prefill-only form of a request body (vLLM's P/D convention): one token, no stream, do_remote_decode. */
export function prefillBody(body: Record<string, unknown>): Record<string, unknown> {
  const rest = { ...body };
  delete rest.stream_options;
  delete rest.max_completion_tokens;
  return { ...rest, max_tokens: 1, stream: false, kv_transfer_params: { do_remote_decode: true } };
}

/** The prefiller a request names, or undefined (absent, empty — the EPP clears it on decode-only requests). */
export function prefillerOf(headers: http.IncomingHttpHeaders): string | undefined {
  const v = headers[PREFILLER_HEADER];
  const s = Array.isArray(v) ? v[0] : v;
  return s && s.trim() !== '' ? s.trim() : undefined;
}

/**
 * POSTs the prefill-only request to `hostPort` + `path` and waits for the whole answer. Resolves undefined on a
 * 2xx, else the reason it failed (bad address, refused, timeout, non-2xx, aborted).
 */
export function remotePrefill(
  hostPort: string,
  path: string,
  body: Record<string, unknown>,
  opts: { agent?: http.Agent; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<string | undefined> {
  let target: { address: string; port: number };
  try {
    target = parseHostPort(hostPort);
  } catch (err) {
    return Promise.resolve((err as Error).message);
  }
  const payload = Buffer.from(JSON.stringify(prefillBody(body)));
  return new Promise((resolve) => {
    let settled = false;
    const done = (reason: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(reason);
    };
    const req = http.request(
      {
        host: target.address,
        port: target.port,
        path,
        method: 'POST',
        agent: opts.agent,
        signal: opts.signal,
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          done(res.statusCode! >= 200 && res.statusCode! < 300 ? undefined : `status ${res.statusCode}`),
        );
        res.on('error', (err) => done(err.message));
      },
    );
    const timer = setTimeout(() => {
      done(`no answer within ${opts.timeoutMs ?? REMOTE_PREFILL_TIMEOUT_MS} ms`);
      req.destroy();
    }, opts.timeoutMs ?? REMOTE_PREFILL_TIMEOUT_MS);
    req.on('error', (err) => done(err.message));
    req.end(payload);
  });
}
