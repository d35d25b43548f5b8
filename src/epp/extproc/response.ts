// Response-side body work: the model name rewritten back to what the client asked for, and token usage read
// from a JSON body or from SSE `data:` lines. SSE is handled line-wise so a name split across chunks still
// rewrites; bytes after the last newline wait for the next chunk (SSE events end in a newline).

export interface Usage {
  promptTokens?: number;
  completionTokens?: number;
  cachedTokens?: number;
}

/** Usage from an OpenAI-style `usage` object (chat/text completions, or Responses/Conversations names). */
export function usageOf(value: unknown): Usage | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const u = (value as Record<string, unknown>).usage;
  if (!u || typeof u !== 'object') return undefined;
  const r = u as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const details = (r.prompt_tokens_details ?? r.prompt_token_details ?? r.input_tokens_details) as
    Record<string, unknown> | undefined;
  return {
    promptTokens: num(r.prompt_tokens) ?? num(r.input_tokens),
    completionTokens: num(r.completion_tokens) ?? num(r.output_tokens),
    cachedTokens: details && typeof details === 'object' ? num(details.cached_tokens) : undefined,
  };
}

export function parseJsonUsage(body: Buffer): Usage | undefined {
  try {
    return usageOf(JSON.parse(body.toString('utf8')));
  } catch {
    return undefined;
  }
}

/** Rewrites `"model":"<from>"` (with or without a space after the colon) to `"model":"<to>"`. */
export class ModelRewriter {
  private readonly patterns: [Buffer, Buffer][];

  constructor(from: string, to: string) {
    const f = JSON.stringify(from);
    const t = JSON.stringify(to);
    this.patterns = [
      [Buffer.from(`"model":${f}`), Buffer.from(`"model":${t}`)],
      [Buffer.from(`"model": ${f}`), Buffer.from(`"model": ${t}`)],
    ];
  }

  apply(buf: Buffer): Buffer {
    let out = buf;
    for (const [from, to] of this.patterns) out = replaceAll(out, from, to);
    return out;
  }
}

function replaceAll(buf: Buffer, from: Buffer, to: Buffer): Buffer {
  let idx = buf.indexOf(from);
  if (idx < 0) return buf;
  const parts: Buffer[] = [];
  let start = 0;
  while (idx >= 0) {
    parts.push(buf.subarray(start, idx), to);
    start = idx + from.length;
    idx = buf.indexOf(from, start);
  }
  parts.push(buf.subarray(start));
  return Buffer.concat(parts);
}

const NEWLINE = 0x0a;
const USAGE_MARK = Buffer.from('"usage"');

/** Streams SSE chunks: complete lines out at once (model rewritten), usage collected from `data:` lines. */
export class SseProcessor {
  private pending: Buffer = Buffer.alloc(0);
  usage: Usage | undefined;

  constructor(private readonly rewriter?: ModelRewriter) {}

  /** Bytes to send now for this chunk; at end of stream everything held back is flushed. */
  push(chunk: Buffer, endOfStream: boolean): Buffer {
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let ready: Buffer;
    if (endOfStream) {
      ready = data;
      this.pending = Buffer.alloc(0);
    } else {
      const cut = data.lastIndexOf(NEWLINE) + 1;
      ready = data.subarray(0, cut);
      this.pending = Buffer.from(data.subarray(cut));
    }
    if (ready.includes(USAGE_MARK)) this.scanUsage(ready);
    data = this.rewriter ? this.rewriter.apply(ready) : ready;
    return data;
  }

  private scanUsage(lines: Buffer): void {
    for (const line of lines.toString('utf8').split('\n')) {
      if (!line.startsWith('data:') || !line.includes('"usage"')) continue;
      const payload = line.slice(5).trim();
      if (payload === '[DONE]') continue;
      try {
        const u = usageOf(JSON.parse(payload));
        if (u && (u.promptTokens !== undefined || u.completionTokens !== undefined)) this.usage = u;
      } catch {
        // not JSON: ignore
      }
    }
  }
}
