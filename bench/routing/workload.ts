// Synthetic, seeded workloads for the routing benchmark: no dataset download. Lengths follow a ShareGPT-like shape
// (log-normal, long right tail) scaled down so the simulated fleet saturates at a rate a 2-core machine can drive.
// Pure: the same seed, workload and rate always give the same requests at the same offsets.

import { prng } from '../../src/sim/text';

export type WorkloadName = 'shared-prefix' | 'low-sharing';
export const WORKLOADS: readonly WorkloadName[] = ['shared-prefix', 'low-sharing'];

export interface WorkloadShape {
  /** Groups ("customers") that each share one long system prompt (shared-prefix only). */
  groups: number;
  usersPerGroup: number;
  /** System-prompt / context length in tokens, drawn per group (shared-prefix) or per request (low-sharing). */
  contextTokens: { min: number; max: number };
  /** Question and output lengths: log-normal with this median and sigma, clipped. */
  question: LogNormal;
  output: LogNormal;
  charsPerToken: number;
}

export interface LogNormal {
  median: number;
  sigma: number;
  min: number;
  max: number;
}

/** 32 groups × ~2,000-token system prompts, 5 users each: a scaled-down llm-d "KV-cache wins" (a1) shape. */
export const DEFAULT_SHAPE: WorkloadShape = {
  groups: 32,
  usersPerGroup: 5,
  contextTokens: { min: 1800, max: 2200 },
  // ShareGPT (vLLM paper): mean input 161, mean output 338 tokens. Questions keep that mean; outputs are scaled to
  // ~0.4× so that decode chunks stay within what one core streams through Envoy and the EPP.
  question: { median: 120, sigma: 0.8, min: 16, max: 800 },
  output: { median: 100, sigma: 0.7, min: 16, max: 400 },
  charsPerToken: 4,
};

export interface BenchRequest {
  /** Send time, ms after the step starts. */
  atMs: number;
  prompt: string;
  maxTokens: number;
  /** The shared-prefix group, or -1 when the request shares nothing. */
  group: number;
}

export { prng };

/** A stable 32-bit seed from parts (FNV-1a over their text). */
export function seedOf(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('\u0000')) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function normal(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

export function drawLogNormal(d: LogNormal, rand: () => number): number {
  const x = Math.round(d.median * Math.exp(d.sigma * normal(rand)));
  return Math.min(Math.max(x, d.min), d.max);
}

const WORDS = (
  'the a model token cache prefix route gateway envoy pool pod server latency queue request answer question ' +
  'system user policy customer account order invoice shipping refund product price support ticket review data ' +
  'table report summary detail context document section paragraph example value number list item step result'
).split(' ');

/** Seeded filler text of about `tokens` tokens (chars / charsPerToken, as the simulator counts). */
export function text(tokens: number, charsPerToken: number, rand: () => number, head = ''): string {
  const target = tokens * charsPerToken;
  let out = head;
  while (out.length < target) out += WORDS[Math.floor(rand() * WORDS.length)] + ' ';
  return out.slice(0, target);
}

/** Each group's system prompt, fixed by the seed. */
export function systemPrompts(shape: WorkloadShape, seed: number): string[] {
  return Array.from({ length: shape.groups }, (_, g) => {
    const rand = prng(seedOf(seed, 'system', g));
    const { min, max } = shape.contextTokens;
    const tokens = min + Math.floor(rand() * (max - min + 1));
    return text(tokens, shape.charsPerToken, rand, `You are the assistant of customer ${g}. Policies: `);
  });
}

/**
 * Poisson arrival times conditioned on their count: exactly round(qps × duration) requests at uniformly random
 * instants, so a short step offers its nominal rate instead of a sample of it (±√n requests otherwise).
 */
export function poissonTimes(qps: number, durationMs: number, rand: () => number): number[] {
  const n = Math.round((qps * durationMs) / 1000);
  return Array.from({ length: n }, () => rand() * durationMs).sort((a, b) => a - b);
}

/**
 * Open-loop Poisson arrivals at `qps` over the windows, with the step's prompts. Shared-prefix: each request picks a
 * group and a user uniformly and asks a fresh question after the group's system prompt. Low-sharing: every request
 * has a context of its own (unique from its first block) of the same length distribution, so no prefix is reused.
 */
export function generateStep(
  workload: WorkloadName,
  shape: WorkloadShape,
  seed: number,
  qps: number,
  /** Consecutive windows (warm-up, measurement): each gets exactly its nominal count. */
  windowsMs: number[],
  step: string,
  systems: string[] = systemPrompts(shape, seed),
): BenchRequest[] {
  const rand = prng(seedOf(seed, workload, qps, step));
  const out: BenchRequest[] = [];
  const times: number[] = [];
  let offset = 0;
  for (const w of windowsMs) {
    for (const t of poissonTimes(qps, w, rand)) times.push(offset + t);
    offset += w;
  }
  for (const [n, t] of times.entries()) {
    const question = drawLogNormal(shape.question, rand);
    const maxTokens = drawLogNormal(shape.output, rand);
    if (workload === 'shared-prefix') {
      const group = Math.floor(rand() * shape.groups);
      const user = Math.floor(rand() * shape.usersPerGroup);
      const q = text(question, shape.charsPerToken, rand, `\nUser ${user}: `);
      out.push({ atMs: t, prompt: systems[group] + q, maxTokens, group });
    } else {
      const { min, max } = shape.contextTokens;
      const ctx = min + Math.floor(rand() * (max - min + 1));
      const head = `Request ${step}-${qps}-${n} context: `;
      const prompt = text(ctx + question, shape.charsPerToken, rand, head);
      out.push({ atMs: t, prompt, maxTokens, group: -1 });
    }
  }
  return out;
}
