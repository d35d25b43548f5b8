// A minimal Prometheus text exposition (format 0.0.4): families, labelled samples and cumulative histograms.
// Hand-written because the simulator's metrics are a handful of gauges computed on scrape.

export type Labels = Record<string, string>;

export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const i = this.buckets.findIndex((le) => value <= le);
    if (i >= 0) this.counts[i]++;
  }
}

export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: 'gauge' | 'counter' | 'histogram', help: string): this {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Labels, value: number): this {
    this.lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
    return this;
  }

  gauge(name: string, help: string, labels: Labels, value: number): this {
    return this.family(name, 'gauge', help).sample(name, labels, value);
  }

  /** A counter family `name` (ending in _total) with one sample. */
  counter(name: string, help: string, labels: Labels, value: number): this {
    return this.family(name, 'counter', help).sample(name, labels, value);
  }

  histogram(name: string, help: string, labels: Labels, h: Histogram): this {
    this.family(name, 'histogram', help);
    let cumulative = 0;
    h.buckets.forEach((le, i) => {
      cumulative += h.counts[i];
      this.sample(`${name}_bucket`, { ...labels, le: formatValue(le) }, cumulative);
    });
    this.sample(`${name}_bucket`, { ...labels, le: '+Inf' }, h.count);
    this.sample(`${name}_sum`, labels, h.sum);
    return this.sample(`${name}_count`, labels, h.count);
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

/** Parses exposition text into `name{labels}` → value, for tests and for tools that scrape the simulator. */
export function parseExposition(text: string): { name: string; labels: Labels; value: number }[] {
  const out: { name: string; labels: Labels; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Labels = {};
    for (const lm of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[lm[1]] = lm[2].replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    }
    out.push({ name: m[1], labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return out;
}
