// node-agent CLI, run inside the cluster's namespace:
//   scripts/cluster exec DIR -- node -r ts-node/register/transpile-only test/support/node-agent/main.ts \
//     --node NAME --pod-cidr 10.244.1.0/24 [--images FILE.json] [--state DIR] [--hosts DIR/hosts]
//     [--pod-network shared|bridge]   (default: what scripts/cluster up recorded in DIR/run/pod-network)
// Stops every pod process on SIGTERM/SIGINT.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { NodeAgent } from './agent';
import type { ImageSpec } from './pod';

const ROOT = path.resolve(__dirname, '../../..');

/** infergate's own image and Envoy's, whatever their registry and tag; --images adds or overrides. */
export const DEFAULT_IMAGES: Record<string, ImageSpec> = {
  infergate: { entrypoint: [process.execPath, path.join(ROOT, 'bin/infergate.js')] },
  envoy: { entrypoint: [path.join(ROOT, '.tools/bin/envoy')] },
};

function parseArgs(argv: string[]) {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    if (!k.startsWith('--') || argv[i + 1] === undefined)
      throw new Error(`bad argument ${k} (flags take a value)`);
    out[k.slice(2)] = argv[i + 1];
  }
  return out;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const kubeconfig = a.kubeconfig ?? process.env.KUBECONFIG;
  if (!kubeconfig || !a.node || !a['pod-cidr']) {
    throw new Error(
      'usage: main.ts --node NAME --pod-cidr CIDR [--kubeconfig F] [--images F] [--state D] [--hosts F] ' +
        '[--pod-network shared|bridge]',
    );
  }
  const recorded = path.join(path.dirname(kubeconfig), 'run/pod-network');
  const podNetwork =
    a['pod-network'] ?? (fs.existsSync(recorded) ? fs.readFileSync(recorded, 'utf8').trim() : 'shared');
  if (podNetwork !== 'shared' && podNetwork !== 'bridge')
    throw new Error(`--pod-network ${podNetwork}: shared or bridge`);
  const extra = a.images ? (JSON.parse(fs.readFileSync(a.images, 'utf8')) as Record<string, ImageSpec>) : {};
  const stateDir = a.state ?? path.join(path.dirname(kubeconfig), 'node-agent', a.node);
  const hosts = a.hosts ?? path.join(path.dirname(kubeconfig), 'hosts');
  const agent = new NodeAgent({
    kubeconfig,
    node: a.node,
    podCIDR: a['pod-cidr'],
    images: { ...DEFAULT_IMAGES, ...extra },
    stateDir,
    hostsFile: fs.existsSync(hosts) ? hosts : undefined,
    podNetwork,
  });
  const stop = async () => {
    await agent.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  await agent.start();
}

main().catch((err) => {
  console.error(`node-agent: ${err.message}`);
  process.exit(1);
});
