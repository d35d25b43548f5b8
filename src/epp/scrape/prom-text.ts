// A fast reader of the Prometheus text exposition format that keeps only the families asked for. Lines of other
// families are skipped after reading their name, so a 1,000-line vLLM page costs a few hundred microseconds.

export interface PromSample {
  labels: Record<string, string>;
  value: number;
}

// prettier-ignore
const SPACE = 32, TAB = 9, LF = 10, CR = 13, HASH = 35, LBRACE = 123, RBRACE = 125, QUOTE = 34, BACKSLASH = 92,
  COMMA = 44;

/** Samples of the wanted metric names, in page order. Malformed lines are skipped. */
export function parsePromText(text: string, wanted: ReadonlySet<string>): Map<string, PromSample[]> {
  const out = new Map<string, PromSample[]>();
  const n = text.length;
  let pos = 0;
  while (pos < n) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = n;
    const c = text.charCodeAt(pos);
    if (c !== HASH && c !== LF && c !== CR) {
      let p = pos;
      while (p < eol) {
        const ch = text.charCodeAt(p);
        if (ch === LBRACE || ch === SPACE || ch === TAB) break;
        p++;
      }
      const name = text.slice(pos, p);
      if (wanted.has(name)) {
        const sample = parseRest(text, p, eol);
        if (sample) {
          const list = out.get(name);
          if (list) list.push(sample);
          else out.set(name, [sample]);
        }
      }
    }
    pos = eol + 1;
  }
  return out;
}

function parseRest(text: string, p: number, eol: number): PromSample | undefined {
  const labels: Record<string, string> = {};
  if (text.charCodeAt(p) === LBRACE) {
    p++;
    for (;;) {
      while (p < eol && (text.charCodeAt(p) === SPACE || text.charCodeAt(p) === COMMA)) p++;
      if (p >= eol) return undefined;
      if (text.charCodeAt(p) === RBRACE) {
        p++;
        break;
      }
      const eq = text.indexOf('=', p);
      if (eq < 0 || eq >= eol) return undefined;
      const key = text.slice(p, eq).trim();
      p = eq + 1;
      if (text.charCodeAt(p) !== QUOTE) return undefined;
      p++;
      let value = '';
      let start = p;
      for (;;) {
        if (p >= eol) return undefined;
        const ch = text.charCodeAt(p);
        if (ch === QUOTE) break;
        if (ch === BACKSLASH) {
          value += text.slice(start, p);
          const esc = text[p + 1];
          value += esc === 'n' ? '\n' : esc;
          p += 2;
          start = p;
          continue;
        }
        p++;
      }
      labels[key] = value + text.slice(start, p);
      p++; // closing quote
    }
  }
  while (p < eol && (text.charCodeAt(p) === SPACE || text.charCodeAt(p) === TAB)) p++;
  let end = p;
  while (end < eol) {
    const ch = text.charCodeAt(end);
    if (ch === SPACE || ch === TAB || ch === CR) break;
    end++;
  }
  const value = parseValue(text.slice(p, end));
  return value === undefined ? undefined : { labels, value };
}

function parseValue(s: string): number | undefined {
  if (s === '') return undefined;
  const v = Number(s);
  if (!Number.isNaN(v)) return v;
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  return undefined;
}
