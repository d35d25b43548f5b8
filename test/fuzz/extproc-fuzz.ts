// Part (a) of the fuzz harness: N generated ext_proc exchanges, `concurrency` at a time, against a real
// `infergate epp`; counts per outcome, the violations (with a reproducing input per class), health, accounting
// after the run and the EPP's RSS curve.

import { driveCase, ALLOWED_STATUSES, type CaseResult } from './extproc-driver';
import { generateCase, type ExtProcCase, type Outcome } from './extproc-gen';
import { FUZZ_MODEL, labelCardinality, metricSum, seriesCount, startEppUnderTest } from './epp-harness';
import { Rng } from './rng';
import { sleep } from '../../src/util/wait';

export interface ExtProcFuzzOptions {
  n: number;
  seed: number;
  concurrency?: number;
  boundMs?: number;
  maxBodyBytes?: number;
  log?: (line: string) => void;
}

export interface Violation {
  class: string;
  count: number;
  example: Record<string, unknown>;
}

export interface ExtProcFuzzReport {
  n: number;
  seed: number;
  durationMs: number;
  outcomes: Record<string, number>;
  byKind: Record<string, Record<string, number>>;
  hangs: number;
  violations: Violation[];
  healthChecks: number;
  healthFailures: number;
  eppExited?: string;
  runningRequestsAfter: number;
  seriesBefore: number;
  seriesAfter: number;
  /** Distinct values per label name after the run, for labels with more than 3. */
  labelValues: Record<string, number>;
  rssKb: { tMs: number; done: number; kb: number }[];
  maxCaseMs: number;
}

/**
 * Most distinct values one label may take: clients choose model and objective names, so a label that takes each
 * one grows the registry with every input (src/epp/README.md bounds model labels at 100 learned names + declared).
 */
export const LABEL_VALUES_BOUND = 128;
const RUNNING = 'inference_objective_running_requests';

const caseRng = (seed: number, seq: number) => new Rng((seed * 0x9e3779b1) ^ Math.imul(seq + 1, 0x85ebca77));

/** The case with sequence number `seq` of run `seed`: any one case can be replayed alone. */
export function caseOf(seed: number, seq: number, ctx: Parameters<typeof generateCase>[1]): ExtProcCase {
  return generateCase(caseRng(seed, seq), ctx, seq);
}

/** A short, readable reproduction of a case for the report. */
export function describeCase(c: ExtProcCase): Record<string, unknown> {
  const head = c.body.subarray(0, 100).toString('latin1');
  return {
    seq: c.seq,
    kind: c.kind,
    mode: c.buffered ? 'BUFFERED' : 'FULL_DUPLEX_STREAMED',
    headersEos: c.headersEos || undefined,
    bodyBytes: c.body.length,
    bodyHead: JSON.stringify(head),
    chunks: c.cuts.length + 1,
    trailers: c.trailers || undefined,
    subset: c.subset === undefined ? undefined : JSON.stringify(c.subset),
    headers: Object.fromEntries(
      Object.entries(c.headers).filter(([k]) => !k.startsWith('x-fuzz-') && k !== ':authority'),
    ),
    cancelAfter: c.cancelAfter,
    halfCloseAfter: c.halfCloseAfter,
    response: c.response && {
      status: c.response.status,
      type: c.response.contentType,
      chunks: c.response.chunks.length,
    },
    expect: c.expect,
  };
}

function violationOf(c: ExtProcCase, r: CaseResult): string | undefined {
  const o = r.outcome;
  if (o === 'hang' || o === 'bad-destination' || o === 'bad-reply') return `${o}: ${r.detail} [${c.kind}]`;
  if (o.startsWith('immediate-') && !ALLOWED_STATUSES.includes(Number(o.slice(10))))
    return `status not in the protocol's set: ${o} [${c.kind}]`;
  if (o === 'cancelled' || o === 'closed-early') return undefined;
  if (c.expect && !c.expect.includes(o as Outcome))
    return `${o} where ${c.expect.join('/')} is due [${c.kind}${c.buffered ? ', BUFFERED' : ''}${c.headersEos ? ', headers-only' : ''}]`;
  return undefined;
}

export async function runExtProcFuzz(o: ExtProcFuzzOptions): Promise<ExtProcFuzzReport> {
  const log = o.log ?? (() => undefined);
  const boundMs = o.boundMs ?? 5000;
  const concurrency = o.concurrency ?? 16;
  const epp = await startEppUnderTest({ maxBodyBytes: o.maxBodyBytes ?? 2 * 1024 * 1024 });
  const ctx = { model: FUZZ_MODEL, members: epp.members, maxBodyBytes: epp.maxBodyBytes };
  const clients = Array.from({ length: 4 }, () => epp.client());
  const t0 = Date.now();
  const outcomes: Record<string, number> = {};
  const byKind: Record<string, Record<string, number>> = {};
  const violations = new Map<string, Violation>();
  const rss: ExtProcFuzzReport['rssKb'] = [];
  let done = 0;
  let next = 0;
  let maxCaseMs = 0;
  let healthChecks = 0;
  let healthFailures = 0;
  try {
    const seriesBefore = seriesCount(await epp.metrics());
    rss.push({ tMs: 0, done: 0, kb: epp.rssKb() });
    let stop = false;
    const sampler = (async () => {
      let lastLog = Date.now();
      while (!stop) {
        await sleep(1000);
        rss.push({ tMs: Date.now() - t0, done, kb: epp.rssKb() });
        healthChecks++;
        const h = await epp.health();
        if (h !== 1) healthFailures++;
        if (Date.now() - lastLog > 10_000) {
          lastLog = Date.now();
          log(`  ext_proc ${done}/${o.n}, RSS ${Math.round(rss[rss.length - 1].kb / 1024)} MB, health ${h}`);
        }
      }
    })();
    const worker = async (w: number) => {
      while (next < o.n && !epp.exited()) {
        const seq = next++;
        const c = caseOf(o.seed, seq, ctx);
        const r = await driveCase(clients[w % clients.length], c, epp.members, boundMs);
        done++;
        maxCaseMs = Math.max(maxCaseMs, r.ms);
        outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
        (byKind[c.kind] ??= {})[r.outcome] = (byKind[c.kind][r.outcome] ?? 0) + 1;
        const v = violationOf(c, r);
        if (v) {
          const seen = violations.get(v);
          if (seen) seen.count++;
          else violations.set(v, { class: v, count: 1, example: describeCase(c) });
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
    stop = true;
    await sampler;
    // Accounting settles once every cancelled stream's completion ran: give it a bounded moment.
    let running = NaN;
    let text = '';
    for (let i = 0; i < 50; i++) {
      text = await epp.metrics().catch(() => '');
      running = metricSum(text, RUNNING);
      if (running === 0) break;
      await sleep(200);
    }
    healthChecks++;
    if ((await epp.health()) !== 1) healthFailures++;
    rss.push({ tMs: Date.now() - t0, done, kb: epp.rssKb() });
    return {
      n: o.n,
      seed: o.seed,
      durationMs: Date.now() - t0,
      outcomes,
      byKind,
      hangs: outcomes.hang ?? 0,
      violations: [...violations.values()].sort((a, b) => b.count - a.count),
      healthChecks,
      healthFailures,
      eppExited: epp.exited(),
      runningRequestsAfter: running,
      seriesBefore,
      seriesAfter: seriesCount(text),
      labelValues: Object.fromEntries(Object.entries(labelCardinality(text)).filter(([, n]) => n > 3)),
      rssKb: rss,
      maxCaseMs,
    };
  } finally {
    await epp.close();
  }
}
