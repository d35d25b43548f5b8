// Reads a V8 .cpuprofile (node --cpu-prof) and lists where the time went: self time per function, and the time
// of each function including its callees ("total"), so a slow phase can be named precisely.

import * as fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  fn: string;
  selfMs: number;
  totalMs: number;
}

const label = (n: ProfileNode) => {
  const f = n.callFrame;
  const where = f.url.replace(/^.*?\/(dist|node_modules)\//, '$1/').replace(/^node:/, 'node:');
  return `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`;
};

/** Top `limit` functions by self time and by total time (ms), over the whole profile. */
export function summarize(
  file: string,
  limit = 20,
): { durationMs: number; bySelf: ProfileRow[]; byTotal: ProfileRow[] } {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Each sample's time is the delta to the next one.
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + dt);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    self.set(label(node), (self.get(label(node)) ?? 0) + us);
    // Count each function once per stack, even when it recurses.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur)!);
      if (seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + us);
    }
  }
  const rows = [...new Set([...self.keys(), ...total.keys()])].map((fn) => ({
    fn,
    selfMs: (self.get(fn) ?? 0) / 1000,
    totalMs: (total.get(fn) ?? 0) / 1000,
  }));
  const idle = (r: ProfileRow) => /^\((root|program|idle|garbage collector)\)/.test(r.fn);
  return {
    durationMs: (p.endTime - p.startTime) / 1000,
    bySelf: [...rows].sort((a, b) => b.selfMs - a.selfMs).slice(0, limit),
    byTotal: rows
      .filter((r) => !idle(r))
      .sort((a, b) => b.totalMs - a.totalMs)
      .slice(0, limit),
  };
}
