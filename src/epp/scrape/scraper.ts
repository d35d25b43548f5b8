// The scrape runner: one polling loop per endpoint (GET scheme://ip:port/metrics every intervalMs, each bounded by
// timeoutMs) over one kept-alive connection each (http-get.ts); results go into the datastore, and so does whether
// the endpoint answered at all (consecutive failures make the director leave it out). A page identical to the
// previous one is not parsed again: its metrics are reused with a fresh updateTime. Parsing and extraction are
// pure (engines.ts).

import type { EndpointState, EndpointMetrics } from '../types';
import { logger } from '../../util/log';
import { DEFAULT_UNREACHABLE_AFTER_FAILURES } from '../datastore/datastore';
import {
  DEFAULT_ENGINE,
  ENGINES,
  ENGINE_LABEL,
  extractMetrics,
  familiesOf,
  type EngineConfig,
} from './engines';
import { KeepAliveGet } from './http-get';

const log = logger('epp.scrape');

export interface ScraperOptions {
  intervalMs?: number;
  /**
   * Delay before re-scraping after a failure, for the first `fastRetries` failures of a run (then intervalMs):
   * a dead server is confirmed in a few ms instead of a few intervals. Default min(10, intervalMs).
   */
  retryMs?: number;
  /** Default 2: with the director's default of 3 failures, ~20 ms from the first failed scrape to exclusion. */
  fastRetries?: number;
  timeoutMs?: number;
  scheme?: 'http' | 'https';
  path?: string;
  insecureSkipVerify?: boolean;
  engineLabelKey?: string;
  defaultEngine?: string;
  /** Replaces built-in engines of the same name. */
  engines?: Record<string, EngineConfig>;
  now?: () => number;
}

/** What the scraper needs of the datastore. */
export interface ScrapeTarget {
  endpoints(): readonly EndpointState[];
  updateMetrics(key: string, metrics: EndpointMetrics): void;
  /** Whether the endpoint answered (HTTP 200) or not (refused, reset, timed out, other status); ms since epoch. */
  recordScrape?(key: string, reached: boolean, at: number): void;
  on(event: 'change', listener: (endpoints: readonly EndpointState[]) => void): unknown;
  off(event: 'change', listener: (endpoints: readonly EndpointState[]) => void): unknown;
}

interface Poller {
  timer?: NodeJS.Timeout;
  stopped: boolean;
  failing: boolean;
  /** Unanswered scrapes in a row. */
  failures: number;
  client?: KeepAliveGet;
  /** The last page that parsed, and what it gave (for that engine). */
  last?: { body: Buffer; engine: string; metrics: EndpointMetrics };
}

export class MetricsScraper {
  private readonly pollers = new Map<string, Poller>();
  private readonly opts: Required<Omit<ScraperOptions, 'engines'>>;
  private readonly engines: Record<string, EngineConfig>;
  private readonly families = new Map<string, Set<string>>();
  private readonly onChange = () => this.sync();

  constructor(
    private readonly target: ScrapeTarget,
    options: ScraperOptions = {},
  ) {
    this.opts = {
      intervalMs: options.intervalMs ?? 50,
      retryMs: options.retryMs ?? Math.min(10, options.intervalMs ?? 50),
      fastRetries: options.fastRetries ?? DEFAULT_UNREACHABLE_AFTER_FAILURES - 1,
      timeoutMs: options.timeoutMs ?? 1000,
      scheme: options.scheme ?? 'http',
      path: options.path ?? '/metrics',
      insecureSkipVerify: options.insecureSkipVerify ?? true,
      engineLabelKey: options.engineLabelKey ?? ENGINE_LABEL,
      defaultEngine: options.defaultEngine ?? DEFAULT_ENGINE,
      now: options.now ?? Date.now,
    };
    this.engines = { ...ENGINES, ...options.engines };
    for (const e of Object.values(this.engines)) this.families.set(e.name, familiesOf(e));
  }

  start(): void {
    this.target.on('change', this.onChange);
    this.sync();
  }

  stop(): void {
    this.target.off('change', this.onChange);
    for (const p of this.pollers.values()) this.stopPoller(p);
    this.pollers.clear();
  }

  private stopPoller(p: Poller): void {
    p.stopped = true;
    clearTimeout(p.timer);
    p.client?.close();
  }

  /** Starts pollers for new endpoints and stops those of removed ones. */
  private sync(): void {
    const live = new Set<string>();
    for (const s of this.target.endpoints()) {
      live.add(s.endpoint.key);
      if (!this.pollers.has(s.endpoint.key)) {
        const p: Poller = { stopped: false, failing: false, failures: 0 };
        this.pollers.set(s.endpoint.key, p);
        void this.poll(s, p);
      }
    }
    for (const [key, p] of this.pollers) {
      if (live.has(key)) continue;
      this.stopPoller(p);
      this.pollers.delete(key);
    }
  }

  private engineOf(s: EndpointState): EngineConfig {
    const name = s.endpoint.labels[this.opts.engineLabelKey] ?? this.opts.defaultEngine;
    return this.engines[name] ?? this.engines[this.opts.defaultEngine] ?? ENGINES.vllm;
  }

  private async poll(s: EndpointState, p: Poller): Promise<void> {
    if (p.stopped) return;
    const started = Date.now();
    const { key } = s.endpoint;
    let reached = false;
    try {
      p.client ??= new KeepAliveGet({
        host: s.endpoint.address,
        port: s.endpoint.port,
        path: this.opts.path,
        tls: this.opts.scheme === 'https',
        rejectUnauthorized: !this.opts.insecureSkipVerify,
      });
      const body = await p.client.get(this.opts.timeoutMs);
      reached = true;
      p.failures = 0;
      const now = this.opts.now();
      if (!p.stopped) this.target.recordScrape?.(key, true, now);
      const engine = this.engineOf(s);
      let metrics: EndpointMetrics;
      if (p.last && p.last.engine === engine.name && p.last.body.equals(body)) {
        const m = p.last.metrics;
        metrics = {
          ...m,
          activeModels: [...m.activeModels],
          waitingModels: [...m.waitingModels],
          updateTime: now,
        };
      } else {
        const r = extractMetrics(body.toString('utf8'), engine, now, this.families.get(engine.name));
        if ('error' in r) {
          p.last = undefined;
          throw new Error(r.error);
        }
        metrics = r.metrics;
        // Kept as its own copy: the socket's read buffer is not held between scrapes.
        p.last = { body: Buffer.from(body), engine: engine.name, metrics };
      }
      if (!p.stopped) this.target.updateMetrics(key, metrics);
      if (p.failing) log.info('scrape recovered', { endpoint: s.endpoint.name });
      p.failing = false;
    } catch (err) {
      // Logged once per failure streak; staleness (updateTime) tells consumers the data is old.
      if (!p.failing)
        log.warn('scrape failed', { endpoint: s.endpoint.name, key, err: (err as Error).message });
      p.failing = true;
      // Only an unanswered scrape counts towards unreachability; unparsable metrics come from a live server.
      if (!reached && !p.stopped) {
        p.failures++;
        this.target.recordScrape?.(key, false, this.opts.now());
      }
    }
    if (p.stopped) return;
    const fast = p.failures > 0 && p.failures <= this.opts.fastRetries;
    const wait = Math.max(0, (fast ? this.opts.retryMs : this.opts.intervalMs) - (Date.now() - started));
    p.timer = setTimeout(() => void this.poll(s, p), wait);
  }
}
