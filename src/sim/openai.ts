// The OpenAI wire format: parsing /v1/completions and /v1/chat/completions bodies (parse once, into a typed
// request) and shaping responses, stream chunks and errors. No I/O.

export type ApiKind = 'completion' | 'chat';

export interface InferenceRequest {
  kind: ApiKind;
  model: string;
  /** The text the engine prefills: the prompt, or the chat messages rendered through a simple template. */
  promptText: string;
  /** What echo mode repeats: the prompt, or the last message's content. */
  echoText: string;
  maxTokens: number;
  stream: boolean;
  includeUsage: boolean;
  /**
   * A prefill-only request from a decode server (vLLM's P/D convention, kv_transfer_params.do_remote_decode: true):
   * served with one token, whatever the server's role.
   */
  prefillOnly: boolean;
  /** The body as parsed, to forward to a prefill server. */
  body: Record<string, unknown>;
}

export const DEFAULT_MAX_TOKENS = 16;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

const bad = (message: string, param: string | null = null) =>
  new ApiError(400, message, 'invalid_request_error', null, param);

export function parseBody(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw bad(`We could not parse the JSON body of your request: ${(err as Error).message}`);
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseInferenceRequest(kind: ApiKind, body: unknown): InferenceRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw bad('The body must be a JSON object.');
  const b = body as Json;
  if (typeof b.model !== 'string' || !b.model) throw bad('you must provide a model parameter', 'model');
  const maxTokens = b.max_completion_tokens ?? b.max_tokens ?? DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1) {
    throw bad('max_tokens must be a positive integer', 'max_tokens');
  }
  if (b.n !== undefined && b.n !== 1) throw bad('only n=1 is supported by the simulator', 'n');
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean') {
    throw bad('stream must be a boolean', 'stream');
  }
  const streamOptions = b.stream_options as Json | undefined | null;
  const { promptText, echoText } = kind === 'chat' ? chatPrompt(b.messages) : completionPrompt(b.prompt);
  return {
    kind,
    model: b.model,
    promptText,
    echoText,
    maxTokens: maxTokens as number,
    stream: b.stream === true,
    includeUsage: b.stream === true && streamOptions?.include_usage === true,
    prefillOnly: isObject(b.kv_transfer_params) && b.kv_transfer_params.do_remote_decode === true,
    body: b,
  };
}

function completionPrompt(prompt: unknown): { promptText: string; echoText: string } {
  if (Array.isArray(prompt) && prompt.length === 1) prompt = prompt[0];
  if (Array.isArray(prompt) && prompt.every((t) => Number.isInteger(t))) prompt = prompt.join(' ');
  if (typeof prompt !== 'string')
    throw bad('prompt must be a string (or a one-element array of strings)', 'prompt');
  return { promptText: prompt, echoText: prompt };
}

function chatPrompt(messages: unknown): { promptText: string; echoText: string } {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw bad('messages must be a non-empty array', 'messages');
  }
  let promptText = '';
  let last = '';
  messages.forEach((m: unknown, i) => {
    const msg = m as Json | null;
    if (typeof msg !== 'object' || msg === null || typeof msg.role !== 'string') {
      throw bad(`messages[${i}] must be an object with a string role`, `messages[${i}]`);
    }
    last = messageText(msg.content, i);
    promptText += `<|${msg.role}|>\n${last}\n`;
  });
  return { promptText: promptText + '<|assistant|>\n', echoText: last };
}

function messageText(content: unknown, i: number): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) => {
        const p = part as Json | null;
        return p && p.type === 'text' && typeof p.text === 'string' ? p.text : '';
      })
      .join('');
  }
  throw bad(`messages[${i}].content must be a string or an array of content parts`, `messages[${i}].content`);
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usage(promptTokens: number, completionTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/** Identity shared by every body and chunk of one response. */
export interface ResponseContext {
  kind: ApiKind;
  id: string;
  created: number;
  model: string;
}

export function responseBody(ctx: ResponseContext, text: string, finishReason: string, u: Usage): Json {
  const base = { id: ctx.id, created: ctx.created, model: ctx.model };
  if (ctx.kind === 'completion') {
    return {
      ...base,
      object: 'text_completion',
      choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason, stop_reason: null }],
      usage: u,
    };
  }
  return {
    ...base,
    object: 'chat.completion',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text },
        logprobs: null,
        finish_reason: finishReason,
      },
    ],
    usage: u,
  };
}

/** One stream chunk; for chat, `first` adds the assistant role to the delta as OpenAI does. */
export function streamChunk(
  ctx: ResponseContext,
  text: string,
  finishReason: string | null,
  first: boolean,
): Json {
  const base = { id: ctx.id, created: ctx.created, model: ctx.model };
  if (ctx.kind === 'completion') {
    return {
      ...base,
      object: 'text_completion',
      choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
    };
  }
  const delta =
    finishReason !== null && !text ? {} : first ? { role: 'assistant', content: text } : { content: text };
  return {
    ...base,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
}

/** The final chunk of `stream_options.include_usage`: no choices, only usage. */
export function usageChunk(ctx: ResponseContext, u: Usage): Json {
  const object = ctx.kind === 'completion' ? 'text_completion' : 'chat.completion.chunk';
  return { id: ctx.id, created: ctx.created, model: ctx.model, object, choices: [], usage: u };
}

export function errorBody(err: ApiError): Json {
  return { error: { message: err.message, type: err.type, param: err.param, code: err.code } };
}
