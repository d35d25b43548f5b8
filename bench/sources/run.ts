// bench/sources: what the shared FileSource costs against re-loading every path (what serve did before), for the
// compile bench's 10,000-route input split into one file per 100 documents. Measured: the first read, a
// re-read after one Pod changed in one file (only that file is parsed again), and a re-read with nothing changed.
// Run: npx ts-node --transpile-only bench/sources/run.ts [--routes 10000] [--repeat 5]

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadPaths } from '../../src/api/load';
import { FileSource } from '../../src/sources/file-source';
import { generateInput } from '../compile/inputs';

process.env.INFERGATE_LOG_LEVEL ??= 'error';

const { values } = parseArgs({
  options: { routes: { type: 'string', default: '10000' }, repeat: { type: 'string', default: '5' } },
});
const docs = generateInput(Number(values.routes), 100).split(/^---$/m);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-bench-sources-'));
const PER_FILE = 100;
for (let i = 0; i * PER_FILE < docs.length; i++) {
  const name = path.join(dir, `part-${String(i).padStart(4, '0')}.yaml`);
  fs.writeFileSync(name, docs.slice(i * PER_FILE, (i + 1) * PER_FILE).join('---'));
}
const files = fs.readdirSync(dir).sort();
const podFile = path.join(
  dir,
  files.find((f) => fs.readFileSync(path.join(dir, f), 'utf8').includes('kind: Pod'))!,
);

const ms = (f: () => void) => {
  const t = performance.now();
  f();
  return performance.now() - t;
};
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows: Record<string, number[]> = { loadPaths: [], first: [], onePodChanged: [], unchanged: [] };
for (let i = 0; i < Number(values.repeat); i++) {
  rows.loadPaths.push(ms(() => loadPaths([dir])));
  const source = new FileSource([dir], { watch: false });
  rows.first.push(ms(() => source.refresh()));
  const text = fs.readFileSync(podFile, 'utf8');
  fs.writeFileSync(podFile, text.replace(/podIP: (\S+)/, `podIP: 10.255.0.${i + 1}`));
  rows.onePodChanged.push(ms(() => source.refresh()));
  rows.unchanged.push(ms(() => source.refresh()));
  fs.writeFileSync(podFile, text);
}
console.log(`${docs.length} documents in ${files.length} files, median of ${values.repeat} runs`);
for (const [k, v] of Object.entries(rows))
  console.log(`${k.padEnd(14)} ${median(v).toFixed(1).padStart(8)} ms`);
fs.rmSync(dir, { recursive: true, force: true });
