// What the JSON nesting bound costs on the parse path: the byte scan against JSON.parse of the same body, medians
// of 200 runs. Run: npx ts-node --transpile-only bench/epp-decision/depth-scan.ts

import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../src/epp/extproc/parse';

const prompt = (n: number) => Buffer.from(JSON.stringify({ model: 'm', prompt: 'x'.repeat(n) }));
const chat = (n: number) =>
  Buffer.from(
    JSON.stringify({
      model: 'm',
      messages: Array.from({ length: n / 100 }, () => ({ role: 'user', content: 'y'.repeat(90) })),
    }),
  );

function medianUs(f: () => void, runs = 200): number {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = process.hrtime.bigint();
    f();
    t.push(Number(process.hrtime.bigint() - s) / 1e3);
  }
  return t.sort((a, b) => a - b)[runs >> 1];
}

const cases: [string, Buffer][] = [
  ['16 KB prompt', prompt(16 * 1024)],
  ['1 MB prompt', prompt(1 << 20)],
  ['1 MB chat, ~10,000 messages', chat(1 << 20)],
];
for (const [name, body] of cases) {
  const scan = medianUs(() => nestsDeeperThan(body, MAX_JSON_DEPTH));
  const parse = medianUs(() => JSON.parse(body.toString()));
  console.log(`${name}: depth scan ${scan.toFixed(1)} µs, JSON.parse ${parse.toFixed(1)} µs`);
}
