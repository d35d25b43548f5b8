// `infergate bench <name>`: runs a benchmark harness from bench/ and writes its report under bench/results/.

import { main as benchCompile } from '../../bench/compile/run';
import { UsageError } from './main';

const BENCHES: Record<string, (args: string[]) => Promise<void>> = {
  compile: benchCompile,
};

export async function runBench(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  const bench = name ? BENCHES[name] : undefined;
  if (!bench) throw new UsageError(`bench needs one of: ${Object.keys(BENCHES).join(', ')}`);
  await bench(rest);
  return 0;
}
