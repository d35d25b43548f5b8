// The scrape runner: one polling loop per endpoint (GET scheme://ip:port/metrics every intervalMs, each bounded by
// timeoutMs) over keep-alive agents; results go into the datastore, and so does whether the endpoint answered at
// all (consecutive failures make the director leave it out). Parsing and extraction are pure (engines.ts).

import http from 'node:http';
import https from 'node:https';
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
}

export class MetricsScraper {
  private readonly pollers = new Map<string, Poller>();
  private readonly agent: http.Agent;
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
    const agentOpts = { keepAlive: true, maxSockets: 2, maxFreeSockets: 2 };
    this.agent =
      this.opts.scheme === 'https'
        ? new https.Agent({ ...agentOpts, rejectUnauthorized: !this.opts.insecureSkipVerify })
        : new http.Agent(agentOpts);
  }

  start(): void {
    this.target.on('change', this.onChange);
    this.sync();
  }

  stop(): void {
    this.target.off('change', this.onChange);
    for (const p of this.pollers.values()) {
      p.stopped = true;
      clearTimeout(p.timer);
    }
    this.pollers.clear();
    this.agent.destroy();
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
      p.stopped = true;
      clearTimeout(p.timer);
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
      const text = await this.fetch(`${this.opts.scheme}://${key}${this.opts.path}`);
      reached = true;
      p.failures = 0;
      if (!p.stopped) this.target.recordScrape?.(key, true, this.opts.now());
      const engine = this.engineOf(s);
      const r = extractMetrics(text, engine, this.opts.now(), this.families.get(engine.name));
      if ('error' in r) throw new Error(r.error);
      if (!p.stopped) this.target.updateMetrics(key, r.metrics);
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

  private fetch(url: string): Promise<string> {
    const client = this.opts.scheme === 'https' ? https : http;
    return new Promise((resolve, reject) => {
      const req = client.get(url, { agent: this.agent, timeout: this.opts.timeoutMs }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`HTTP ${res.statusCode}`));
          return;
        }
        res.setEncoding('utf8');
        let body = '';
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
        res.on('error', reject);
      });
      // The socket timeout covers idle time; the deadline below covers a slow trickle.
      const deadline = setTimeout(
        () => req.destroy(new Error(`timeout after ${this.opts.timeoutMs} ms`)),
        this.opts.timeoutMs,
      );
      req.on('close', () => clearTimeout(deadline));
      req.on('timeout', () => req.destroy(new Error(`timeout after ${this.opts.timeoutMs} ms`)));
      req.on('error', reject);
    });
  }
}
