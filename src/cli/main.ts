// The `infergate` command. Each subcommand lives in its own file; this one only dispatches.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../util/envoy';
import { runCompile, runValidate } from './compile';
import { runUp } from './up';
import { runBench } from './bench';
import { runSim } from './sim';
import { runServe } from './serve';
import { runEpp } from './epp';
import { runBbr } from './bbr';
import { runCrds } from './crds';

const USAGE = `infergate — an inference gateway for Envoy

Usage:
  infergate compile <paths...> [--mode static|ads] [--format yaml|json] [--xds-address host:port] [--out DIR]
                               [--gateway NS/NAME] [--node-id ID] [--admin-port 19000] [--listen-address 0.0.0.0]
  infergate validate <paths...>
  infergate version                  print the version (also --version)
  infergate up [paths...]            compile (default examples/quickstart) and run a real Envoy on it
  infergate bench <name>             run a benchmark (compile) and write bench/results/
  infergate sim [--port 8000] [--address 127.0.0.1] [--addresses a:p,b:p | --count N --base-address IP]
                [--model NAME] [--lora a,b] [--max-num-seqs N] [--kv-blocks N] ...   a simulated vLLM server
  infergate serve <paths...> [--xds-port 18000] [--admin-port 9091]        the xDS control plane
  infergate serve --kubernetes [--kubeconfig FILE] [--namespace NS] [--controller-name infergate.io/gateway-controller]
                [--lease-namespace NS] [--lease-name infergate-status-writer] [--leader-elect-lease-duration 15s]
                [--leader-elect-renew-deadline 10s] [--leader-elect-retry-period 2s] [--envoy-xds-address HOST:PORT]
                [--disable-envoy-provisioning] [--kube-api-qps 100] [--kube-api-burst 200]
  infergate epp --pool NAME [--pool-namespace NS] (<paths...> | --kubernetes [--kubeconfig FILE])
                [--config-file epp.yaml] [--grpc-port 9002]
                [--health-port 9003] [--metrics-port 9090] [--secure-serving]     the Endpoint Picker
                (also upstream's --pool-name, --grpc-health-port, --zap-encoder; in a Pod with no paths: --kubernetes)
  infergate bbr [--grpc-port 9004] [--health-port 9005]                     the body-based router
  infergate crds [--format yaml|json]        the CRDs infergate ships (InferenceObjective, InferenceModelRewrite,
                                             InferenceModel): infergate crds | kubectl apply --server-side -f -

Exit status: 0 on success, 1 on invalid input (every problem is listed), 2 on usage errors.`;

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  compile: runCompile,
  validate: runValidate,
  up: runUp,
  bench: runBench,
  sim: runSim,
  serve: runServe,
  epp: runEpp,
  bbr: runBbr,
  crds: runCrds,
};

export async function run(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (command === '--version' || command === 'version') {
    console.log(version());
    return 0;
  }
  const handler = COMMANDS[command];
  if (!handler) {
    console.error(`infergate: unknown or not yet available command ${JSON.stringify(command)}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await handler(args);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`infergate ${command}: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

export class UsageError extends Error {}

/** The version in the package.json this copy was installed from (a clone, an npm install, the image). */
function version(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function main(argv: string[]): void {
  run(argv).then(
    (code) => {
      process.exitCode = code;
      // A failed start (a first list refused, a port taken) may leave watches, retry timers or sockets behind that
      // would keep the process alive without serving: on failure, exit (stdout and stderr are synchronous here).
      if (code !== 0) setImmediate(() => process.exit(code));
    },
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exitCode = 1;
    },
  );
}
