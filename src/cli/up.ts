// `infergate up`: the local stack on the embedded default (examples/quickstart). Until the EPP, simulator and
// xDS server land, it compiles the resources to a static bootstrap and runs a real Envoy on it.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { staticBootstrap } from '../compiler';
import { renderBootstrap } from '../compiler/output';
import { findEnvoy, projectRoot } from '../util/envoy';
import { loadAndCompile } from './compile';

export const QUICKSTART = path.join(projectRoot(), 'examples', 'quickstart');

export async function runUp(args: string[]): Promise<number> {
  const paths = args.length ? args : [QUICKSTART];
  const { result, ok } = loadAndCompile(paths, 'static');
  if (!ok) return 1;
  if (!result.gateways.length) {
    console.error('no Gateway to run');
    return 1;
  }
  const gw = result.gateways[0];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-up-'));
  const config = path.join(dir, 'envoy.yaml');
  fs.writeFileSync(config, renderBootstrap(staticBootstrap(gw.resources, { gateway: gw.key }), 'yaml'));
  const envoy = findEnvoy();
  console.log(`infergate up: Gateway ${gw.key}, Envoy ${envoy}, config ${config}`);
  const child = spawn(
    envoy,
    ['-c', config, '--log-level', 'warn', '--drain-time-s', '1', '--base-id', String(process.pid % 60000)],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const stop = () => child.kill('SIGTERM');
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const port = gw.resources.listeners[0]?.address?.address;
  if (port?.$case === 'socketAddress') {
    const p = port.value.portSpecifier?.$case === 'portValue' ? port.value.portSpecifier.value : undefined;
    console.log(`Envoy is listening on 127.0.0.1:${p}; admin on 127.0.0.1:19000. Try:`);
    console.log(`  curl -s http://127.0.0.1:${p}/v1/completions -H 'content-type: application/json' \\`);
    console.log(`    -d '{"model":"meta-llama/Llama-3.1-8B-Instruct","prompt":"Hello","max_tokens":16}'`);
  }
  return await new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ? 0 : (code ?? 1))),
  );
}
