// `infergate bench <name>`: runs a benchmark harness from bench/ and writes its report under bench/results/.

import { main as benchCompile } from '../../bench/compile/run';
import { main as benchEppDecision } from '../../bench/epp-decision/run';
import { main as benchXdsFanout } from '../../bench/xds-fanout/run';
import { main as benchEppThroughput } from '../../bench/epp-throughput/run';
import { main as benchRouting } from '../../bench/routing/run';
import { main as benchEppMemory } from '../../bench/epp-memory/run';
import { main as benchPeers } from '../../bench/peers/run';
import { main as benchFlow } from '../../bench/routing/flow';
import { main as benchDisagg } from '../../bench/routing/disagg';
import { main as benchBursts } from '../../bench/routing/bursts';
import { UsageError } from './main';

const BENCHES: Record<string, (args: string[]) => Promise<unknown>> = {
  compile: benchCompile,
  'epp-decision': benchEppDecision,
  'xds-fanout': benchXdsFanout,
  'epp-throughput': benchEppThroughput,
  routing: benchRouting,
  'epp-memory': benchEppMemory,
  // infergate vs GIE v1.5.0 and llm-d v0.7.1 on one data path (bench/peers/README.md; make bench-peers).
  peers: benchPeers,
  // EPP capabilities under load (bench/routing/README.md): flow control, P/D disaggregation, bursts.
  flow: benchFlow,
  disagg: benchDisagg,
  bursts: benchBursts,
};

export async function runBench(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  const bench = name ? BENCHES[name] : undefined;
  if (!bench) throw new UsageError(`bench needs one of: ${Object.keys(BENCHES).join(', ')}`);
  const code = await bench(rest);
  return typeof code === 'number' ? code : 0;
}
