// `infergate up [paths...]`: the whole local stack on the embedded default (examples/quickstart) — simulators,
// Endpoint Picker, body-based router when routes need it, the xDS control plane and a real Envoy over ADS — with
// a short progress display, ready-to-paste requests, and Ctrl-C/SIGTERM stopping every child.

import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../util/envoy';
import { Stack } from './stack';
import { UsageError } from './main';

export const QUICKSTART = path.join(projectRoot(), 'examples', 'quickstart');
const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

export async function runUp(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        gateway: { type: 'string' },
        'xds-port': { type: 'string', default: '18000' },
        'admin-port': { type: 'string', default: '19000' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const paths = positionals.length ? positionals : [QUICKSTART];
  const started = Date.now();
  const say = (line: string) =>
    console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`);
  let stack: Stack;
  try {
    stack = await Stack.start({
      paths,
      gateway: values.gateway,
      xdsPort: Number(values['xds-port']),
      envoyAdminPort: Number(values['admin-port']),
      progress: say,
    });
  } catch (err) {
    console.error(`infergate up: ${(err as Error).message}`);
    return 1;
  }
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      say(`${signal}: stopping every child…`);
      stack.stop().then(resolve, resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    for (const [name, child] of stack.children) {
      child.once('exit', (code, signal) => {
        if (!signal && stack.children.has(name)) say(`${name} exited (${code}); see ${stack.logDir}`);
      });
    }
  });
  const l = stack.listeners[0];
  const url = `http://${l.address}:${l.port}`;
  console.log(`
infergate is up: Gateway ${stack.gateway.key} on ${url} (Envoy admin http://127.0.0.1:${values['admin-port']},
control plane http://127.0.0.1:9091/debug/config, EPP metrics http://127.0.0.1:9090/metrics; logs in ${stack.logDir}).

  curl -s ${url}/v1/completions -H 'content-type: application/json' \\
    -d '{"model":"${MODEL}","prompt":"Write a haiku about Envoy","max_tokens":32}'

  curl -sN ${url}/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"${MODEL}","stream":true,"messages":[{"role":"user","content":"Hello!"}]}'

Ctrl-C stops everything.`);
  await stopped;
  return 0;
}
