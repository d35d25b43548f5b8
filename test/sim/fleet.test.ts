// Many servers in one process, the CLI flag parsing, and the real `infergate sim` process with a clean stop.

import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { resolveOptions, startSimFleet, type SimFleet } from '../../src/sim';
import { parseSimArgs } from '../../src/cli/sim';
import { MODEL, post, scrape, stream } from './helpers';

describe('fleet', () => {
  let fleet: SimFleet | undefined;
  afterEach(async () => fleet?.close());

  it('serves two addresses from one process, each naming itself', async () => {
    fleet = await startSimFleet(['127.0.0.21:0', '127.0.0.22:0'], { interTokenMs: 1, ttftOverheadMs: 1 });
    const [a, b] = fleet.servers;
    expect([a.address, b.address]).toEqual(['127.0.0.21', '127.0.0.22']);
    for (const s of fleet.servers) {
      const r = await post(`${s.url}/v1/completions`, { model: MODEL, prompt: 'hi', max_tokens: 2 });
      expect(r.status).toBe(200);
      expect(r.headers.get('x-infergate-sim')).toBe(`${s.address}:${s.port}`);
      const st = await stream(`${s.url}/v1/chat/completions`, {
        model: MODEL,
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(st.done).toBe(true);
      expect((await scrape(s)).value('vllm:generation_tokens_total')).toBe(18);
    }
  });

  it('closes the servers it started when one address fails', async () => {
    const first = await startSimFleet(['127.0.0.23:0']);
    const port = first.servers[0].port;
    await expect(startSimFleet(['127.0.0.24:0', `127.0.0.23:${port}`])).rejects.toThrow(/EADDRINUSE/);
    await first.close();
  });
});

describe('CLI flags', () => {
  const addresses = (args: string[]) => {
    const parsed = parseSimArgs(args);
    if (parsed === 'help') throw new Error('help');
    return parsed;
  };

  it('takes a single address, a list, or a count from a base address', () => {
    expect(addresses([]).addresses).toEqual(['127.0.0.1:8000']);
    expect(addresses(['--address', '127.0.0.5', '--port', '9000']).addresses).toEqual(['127.0.0.5:9000']);
    expect(addresses(['--addresses', '127.0.0.21:8000, 127.0.0.22:8000']).addresses).toEqual([
      '127.0.0.21:8000',
      '127.0.0.22:8000',
    ]);
    expect(addresses(['--count', '3', '--base-address', '127.0.0.254', '--port', '8001']).addresses).toEqual([
      '127.0.0.254:8001',
      '127.0.0.255:8001',
      '127.0.1.0:8001',
    ]);
  });

  it('maps every engine, latency and fault flag onto options', () => {
    const { options } = addresses([
      '--model', 'm', '--lora', 'a,b', '--engine', 'sglang', '--mode', 'echo', '--seed', '5',
      '--max-num-seqs', '4', '--max-waiting', '9', '--kv-blocks', '100', '--block-size', '8', '--max-loras', '2',
      '--ttft-overhead-ms', '1', '--prefill-ms-per-token', '0.5', '--inter-token-ms', '3', '--itl-batch-slope', '0.1',
      '--lora-load-ms', '7', '--jitter', '0.2', '--legacy-gpu-cache-metric', '--error-rate', '0.1',
      '--added-latency-ms', '20', '--stall-rate', '0.01', '--drop-stream-rate', '0.02', '--unhealthy',
    ]); // prettier-ignore
    expect(options).toMatchObject({
      model: 'm',
      loras: ['a', 'b'],
      engine: 'sglang',
      mode: 'echo',
      seed: 5,
      maxNumSeqs: 4,
      maxWaiting: 9,
      kvBlocks: 100,
      blockSize: 8,
      maxLoras: 2,
      ttftOverheadMs: 1,
      prefillMsPerToken: 0.5,
      interTokenMs: 3,
      itlBatchSlope: 0.1,
      loraLoadMs: 7,
      jitter: 0.2,
      legacyGpuCacheMetric: true,
      faults: { errorRate: 0.1, addedLatencyMs: 20, stallRate: 0.01, dropStreamRate: 0.02, unhealthy: true },
    });
  });

  it('rejects bad flags', () => {
    expect(() => parseSimArgs(['--max-num-seqs', 'lots'])).toThrow(/number/);
    expect(() => parseSimArgs(['--engine', 'tgi'])).toThrow(/engine/);
    expect(() => parseSimArgs(['--addresses', 'a:1', '--count', '2'])).toThrow(/excludes/);
    expect(() => parseSimArgs(['--bogus'])).toThrow();
    expect(() => parseSimArgs(['--role', 'encode'])).toThrow(/--role must be one of prefill, decode, both/);
    expect(parseSimArgs(['--help'])).toBe('help');
  });

  it('reads the P/D flags, and resolveOptions rejects bad values', () => {
    const parsed = parseSimArgs([
      '--role',
      'decode',
      '--kv-transfer-ms-per-token',
      '0.01',
      '--prefill-chunk-tokens',
      '512',
    ]);
    expect(parsed !== 'help' && parsed.options).toMatchObject({
      role: 'decode',
      kvTransferMsPerToken: 0.01,
      prefillChunkTokens: 512,
    });
    expect(() => resolveOptions({ prefillChunkTokens: 1.5, kvTransferMsPerToken: -1 })).toThrow(
      'kvTransferMsPerToken must be ≥ 0 (got -1); prefillChunkTokens must be an integer ≥ 0 (got 1.5)',
    );
    expect(resolveOptions().role).toBe('both');
  });
});

describe('infergate sim process', () => {
  it('prints where it listens, answers, and stops cleanly on SIGTERM', async () => {
    const root = path.join(__dirname, '..', '..');
    const script = `require('ts-node').register({ transpileOnly: true, project: ${JSON.stringify(path.join(root, 'tsconfig.json'))} });
      require(${JSON.stringify(path.join(root, 'src', 'cli', 'sim.ts'))}).runSim(process.argv.slice(1)).then((c) => { process.exitCode = c; });`;
    const child = spawn(process.execPath, ['-e', script, '--', '--addresses', '127.0.0.25:0,127.0.0.26:0'], {
      cwd: root,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Generous: loading the sources through ts-node takes ~11 s alone on 2 cores, far longer on a busy machine.
    const deadline = Date.now() + 120_000;
    while ((out.match(/listening on/g) ?? []).length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const urls = [...out.matchAll(/listening on (http:\/\/\S+)/g)].map((m) => m[1]);
    if (urls.length !== 2) throw new Error(`expected two "listening on" lines, got:\n${out}`);
    for (const url of urls) {
      expect(
        (await post(`${url}/v1/completions`, { model: MODEL, prompt: 'hi', max_tokens: 1 })).status,
      ).toBe(200);
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('SIGTERM, stopped');
  }, 180_000);
});
