// `infergate sim`: one or many simulated vLLM servers in this process, until SIGINT or SIGTERM.

import { parseArgs } from 'node:util';
import { DEFAULT_OPTIONS, ENGINE_FLAVORS, SIM_ROLES, startSimFleet, type SimOptionsInput } from '../sim';
import type { EngineFlavor, OutputMode, SimRole } from '../sim';
import { UsageError } from './main';

const D = DEFAULT_OPTIONS;
const USAGE = `infergate sim — simulated vLLM-compatible model servers

Where:
  --address 127.0.0.1 --port 8000         one server (the default)
  --addresses 127.0.0.11:8000,127.0.0.12:8000   one server per address:port
  --count N --base-address 127.0.0.11 --port 8000   N servers on consecutive addresses

Model:   --model ${D.model}  --lora a,b  --engine vllm|sglang|triton-trtllm  --mode random|echo  --seed ${D.seed}
Engine:  --max-num-seqs ${D.maxNumSeqs}  --max-waiting ${D.maxWaiting} (0: unlimited; else 429 beyond)  --kv-blocks ${D.kvBlocks}
         --block-size ${D.blockSize}  --chars-per-token ${D.charsPerToken}  --max-loras ${D.maxLoras}
Latency: --ttft-overhead-ms ${D.ttftOverheadMs}  --prefill-ms-per-token ${D.prefillMsPerToken}  --inter-token-ms ${D.interTokenMs}
         --itl-batch-slope ${D.itlBatchSlope}  --lora-load-ms ${D.loraLoadMs}  --jitter ${D.jitter}
P/D:     --role prefill|decode|both (default ${D.role}: aggregated; decode/both honour x-prefiller-host-port)
         --kv-transfer-ms-per-token ${D.kvTransferMsPerToken}  --prefill-chunk-tokens ${D.prefillChunkTokens} (0: prefill does not slow decode)
Metrics: --legacy-gpu-cache-metric (also expose vllm:gpu_cache_usage_perc)
Faults:  --error-rate 0..1  --added-latency-ms MS  --stall-rate 0..1  --drop-stream-rate 0..1  --unhealthy`;

const NUMBER_FLAGS = {
  seed: 'seed',
  'max-num-seqs': 'maxNumSeqs',
  'max-waiting': 'maxWaiting',
  'kv-blocks': 'kvBlocks',
  'block-size': 'blockSize',
  'chars-per-token': 'charsPerToken',
  'max-loras': 'maxLoras',
  'ttft-overhead-ms': 'ttftOverheadMs',
  'prefill-ms-per-token': 'prefillMsPerToken',
  'inter-token-ms': 'interTokenMs',
  'itl-batch-slope': 'itlBatchSlope',
  'lora-load-ms': 'loraLoadMs',
  jitter: 'jitter',
  'kv-transfer-ms-per-token': 'kvTransferMsPerToken',
  'prefill-chunk-tokens': 'prefillChunkTokens',
} as const;

const FAULT_FLAGS = {
  'error-rate': 'errorRate',
  'added-latency-ms': 'addedLatencyMs',
  'stall-rate': 'stallRate',
  'drop-stream-rate': 'dropStreamRate',
} as const;

const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;

export function parseSimArgs(args: string[]): { addresses: string[]; options: SimOptionsInput } | 'help' {
  const numeric = Object.fromEntries(
    [...Object.keys(NUMBER_FLAGS), ...Object.keys(FAULT_FLAGS)].map((k) => [k, str]),
  );
  const { values: v } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      ...numeric,
      address: str,
      addresses: str,
      port: str,
      count: str,
      'base-address': str,
      model: str,
      lora: str,
      engine: str,
      mode: str,
      role: str,
      'legacy-gpu-cache-metric': bool,
      unhealthy: bool,
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) return 'help';
  const num = (flag: string): number | undefined => {
    const raw = (v as Record<string, unknown>)[flag];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n)) {
      throw new UsageError(`--${flag} needs a number (got ${JSON.stringify(raw)})`);
    }
    return n;
  };
  const options: SimOptionsInput = { faults: {} };
  for (const [flag, key] of Object.entries(NUMBER_FLAGS)) options[key] = num(flag);
  for (const [flag, key] of Object.entries(FAULT_FLAGS)) options.faults![key] = num(flag);
  if (v.unhealthy) options.faults!.unhealthy = true;
  if (v['legacy-gpu-cache-metric']) options.legacyGpuCacheMetric = true;
  if (v.model !== undefined) options.model = v.model as string;
  if (v.lora !== undefined) options.loras = splitList(v.lora as string);
  if (v.engine !== undefined) {
    if (!ENGINE_FLAVORS.includes(v.engine as EngineFlavor)) {
      throw new UsageError(`--engine must be one of ${ENGINE_FLAVORS.join(', ')}`);
    }
    options.engine = v.engine as EngineFlavor;
  }
  if (v.mode !== undefined) {
    if (v.mode !== 'random' && v.mode !== 'echo') throw new UsageError('--mode must be random or echo');
    options.mode = v.mode as OutputMode;
  }
  if (v.role !== undefined) {
    if (!SIM_ROLES.includes(v.role as SimRole))
      throw new UsageError(`--role must be one of ${SIM_ROLES.join(', ')}`);
    options.role = v.role as SimRole;
  }
  return {
    addresses: addressesOf(v as Record<string, string | undefined>, num('port') ?? 8000, num('count')),
    options,
  };
}

function addressesOf(
  v: Record<string, string | undefined>,
  port: number,
  count: number | undefined,
): string[] {
  if (v.addresses !== undefined) {
    if (v.address !== undefined || count !== undefined)
      throw new UsageError('--addresses excludes --address and --count');
    const list = splitList(v.addresses);
    if (list.length === 0) throw new UsageError('--addresses needs at least one address:port');
    return list;
  }
  if (count === undefined) {
    if (v['base-address'] !== undefined) throw new UsageError('--base-address needs --count');
    return [`${v.address ?? '127.0.0.1'}:${port}`];
  }
  if (!Number.isInteger(count) || count < 1) throw new UsageError('--count must be a positive integer');
  if (v.address !== undefined) throw new UsageError('--count uses --base-address, not --address');
  const base = (v['base-address'] ?? '127.0.0.11').split('.').map(Number);
  if (base.length !== 4 || base.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
    throw new UsageError('--base-address must be an IPv4 address');
  }
  const start = ((base[0] << 24) | (base[1] << 16) | (base[2] << 8) | base[3]) >>> 0;
  return Array.from({ length: count }, (_, i) => {
    const n = start + i;
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}:${port}`;
  });
}

function splitList(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

export async function runSim(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseSimArgs>;
  try {
    parsed = parseSimArgs(args);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError((err as Error).message);
  }
  if (parsed === 'help') {
    console.log(USAGE);
    return 0;
  }
  let fleet;
  try {
    fleet = await startSimFleet(parsed.addresses, parsed.options);
  } catch (err) {
    // Bad option values are usage errors; a port in use is not.
    if ((err as NodeJS.ErrnoException).code) throw err;
    throw new UsageError((err as Error).message);
  }
  const o = fleet.servers[0].options;
  console.log(
    `infergate sim: ${o.model} (${o.engine} metrics, role ${o.role}, max-num-seqs ${o.maxNumSeqs}, ${o.kvBlocks}×${o.blockSize} KV blocks` +
      `${o.loras.length ? `, LoRA ${o.loras.join(',')}` : ''})`,
  );
  for (const s of fleet.servers) console.log(`infergate sim: listening on ${s.url}`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (sig: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(sig);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await fleet.close();
  console.log(`infergate sim: ${signal}, stopped`);
  return 0;
}
