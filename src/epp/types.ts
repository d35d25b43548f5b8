// Shared contracts of the Endpoint Picker: what the ext_proc handler (src/epp/extproc) hands to the director
// (src/epp/director.ts), and what the datastore, scheduler and plugins see. Plain data; no I/O.

/** One model-server endpoint: a Ready pod × one of the pool's targetPorts. */
export interface Endpoint {
  /** "<pod>-rank-<i>", as the reference EPP names them (i = index of the port in targetPorts). */
  name: string;
  pod: string;
  namespace: string;
  address: string;
  port: number;
  /** "address:port" ("[v6]:port" for IPv6): the form the destination header carries. */
  key: string;
  labels: Record<string, string>;
}

/** What the scraper last read from an endpoint's /metrics (the reference EPP's Metrics struct). */
export interface EndpointMetrics {
  waitingQueueSize: number;
  runningRequestsSize: number;
  /** 0..1 */
  kvCacheUsagePercent: number;
  activeModels: string[];
  waitingModels: string[];
  maxActiveModels: number;
  cacheBlockSize?: number;
  cacheNumBlocks?: number;
  /** ms since epoch of the last successful scrape. */
  updateTime: number;
}

export interface EndpointState {
  endpoint: Endpoint;
  /** Undefined until the first successful scrape. */
  metrics?: EndpointMetrics;
  /** Consecutive failed scrapes (refused, timed out, non-200); 0 or undefined once one succeeds. */
  scrapeFailures?: number;
  /** ms since epoch of the first failed scrape of the current failure run; undefined while reachable. */
  unreachableSince?: number;
}

/** The OpenAI-style request, parsed once from the body. */
export interface ParsedRequest {
  /** Which API: completions | chat/completions | responses | conversations | embeddings */
  api: string;
  /** body.model as sent by the client. */
  model: string;
  stream: boolean;
  /** The parsed JSON body (for rewriting `model`). */
  body: Record<string, unknown>;
  /** The bytes the prefix cache hashes (prompt text, or JSON of messages), UTF-8. */
  prefixInput: Uint8Array;
}

/**
 * Identifies one ext_proc stream to the director: per-stream state (the in-flight entry, running_requests) is keyed
 * by it, never by the client's x-request-id, which many streams may share. Opaque; compared by identity.
 */
export type StreamToken = object;

/** Everything the director needs to decide, gathered by the ext_proc handler from headers, metadata and body. */
export interface RequestInput {
  /** The stream deciding; the same token comes back in ResponseInfo. */
  stream: StreamToken;
  requestId: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  path: string;
  parsed: ParsedRequest;
  /** Subset hint from envoy.lb.subset_hint (ip or ip:port entries); undefined when absent, [] when empty. */
  subset?: string[];
  /** Prefix block hashes of parsed.prefixInput for the target model, when already computed (e.g. in a worker). */
  prefixHashes?: bigint[] | BigUint64Array;
  /** The model prefixHashes were seeded with (the incoming model); recompute when the target model differs. */
  prefixHashesModel?: string;
  /**
   * The block parameters prefixHashes were computed with. The director uses the hashes only when they match the
   * parameters the scheduler asks for (auto-tuning may change them between parse and decision); absent = recompute.
   */
  prefixHashesParams?: { blockChars: number; maxBlocks: number };
  /** Headers-only request (headers carried end_of_stream, or an empty body): no model, empty prompt. */
  headersOnly?: boolean;
  /** Aborted when the stream ends before the decision is sent (client gone, Envoy reset): a queued request leaves. */
  signal?: AbortSignal;
  /** The request body's size in bytes (flow control's byte capacity); 0 or absent for headers-only requests. */
  bodyBytes?: number;
}

export type Decision =
  | {
      kind: 'route';
      /** Ordered "ip:port" list: the first is primary, the rest are retry targets. */
      endpoints: string[];
      incomingModel: string;
      targetModel: string;
      /** The body to forward, re-serialised only when the model was rewritten; undefined = forward unchanged. */
      body?: Uint8Array;
      objective?: string;
      priority: number;
      /** Request headers to set besides the destination (e.g. x-prefiller-host-port for a decode pod). */
      headers?: Record<string, string>;
    }
  | { kind: 'reject'; status: 400 | 429 | 500 | 503; message: string };

/** Usage and outcome reported by the handler when the response completes. */
export interface ResponseInfo {
  /** The stream whose decision completes (RequestInput.stream); releases its in-flight entry. */
  stream: StreamToken;
  requestId: string;
  status: number;
  servedEndpoint?: string;
  promptTokens?: number;
  completionTokens?: number;
  cachedTokens?: number;
  /** Seconds from request start to completion. */
  durationSeconds: number;
  streaming: boolean;
}

export interface Director {
  /** Admission, candidates, scheduling: the whole decision for one request. */
  decide(input: RequestInput): Promise<Decision>;
  /**
   * Completion hook: metrics, prefix-index update, in-flight accounting. Never throws. The handler calls it exactly
   * once for every stream that got a route decision, however the stream ends (response, cancel, failure).
   */
  complete(info: ResponseInfo): void;
  /**
   * Optional (added by the director's author): the hash parameters decide() would use for a request to `model`
   * right now, so a worker can precompute `prefixHashes`; undefined when no prefix-cache plugin is configured.
   */
  prefixHashParams?(model: string, body?: Record<string, unknown>): PrefixHashParams | undefined;
  /** A response header the handler sets to the endpoint that served each routed request (a test facility). */
  readonly servedEndpointHeader?: string;
}

/** The inputs of the prefix block-hash chain (src/epp/prefix/hash.ts `blockHashes`). Added by the director's author. */
export interface PrefixHashParams {
  /** The target model, with the request's cache_salt appended when it has one. */
  model: string;
  blockChars: number;
  maxBlocks: number;
}
