// The bridge pod network's per-Pod part: a network namespace with lo and a veth eth0 carrying the Pod IP, its other
// end on the cluster's bridge (scripts/cluster up --pod-network bridge makes the bridge; the agent gives it .1).

import { execFile } from 'node:child_process';

/** The bridge scripts/cluster makes in bridge mode. */
export const BRIDGE = 'ig0';

export type PodNetworkMode = 'shared' | 'bridge';

function ip(...args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('ip', args, (err, _out, stderr) =>
      err ? reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(),
    ),
  );
}
const quietly = (p: Promise<void>) => p.catch(() => undefined);

/** The node's side: its gateway address (.1 of the pod CIDR) on the bridge, so Pods route through it. */
export async function attachNode(gateway: string, prefix: number): Promise<void> {
  await ip('addr', 'replace', `${gateway}/${prefix}`, 'dev', BRIDGE);
}

/** One Pod's namespace and veth; names come from the Pod's uid so a restarted agent finds its leftovers. */
export class PodNetwork {
  readonly netns: string;
  private readonly veth: string;
  private creating?: Promise<void>;

  constructor(
    uid: string,
    readonly ip: string,
    private readonly prefix: number,
    private readonly gateway: string,
  ) {
    const id = uid.replace(/-/g, '');
    // A link name has at most 15 characters.
    this.veth = `ve${id.slice(0, 12)}`;
    this.netns = `pod-${id}`;
  }

  /** The path containers enter with nsenter --net=. */
  get path() {
    return `/run/netns/${this.netns}`;
  }

  create(): Promise<void> {
    this.creating = this.make();
    return this.creating;
  }

  private async make() {
    await this.removeLinks();
    await ip('netns', 'add', this.netns);
    await ip('link', 'add', this.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.netns);
    await ip('link', 'set', this.veth, 'master', BRIDGE, 'up');
    const n = ['-n', this.netns];
    await ip(...n, 'link', 'set', 'lo', 'up');
    await ip(...n, 'addr', 'add', `${this.ip}/${this.prefix}`, 'dev', 'eth0');
    await ip(...n, 'link', 'set', 'eth0', 'up');
    await ip(...n, 'route', 'add', 'default', 'via', this.gateway);
  }

  /** After any create still running (a Pod deleted while starting must not leave its veth made after this). */
  async remove(): Promise<void> {
    await this.creating?.catch(() => undefined);
    await this.removeLinks();
  }

  // Deleting one end of a veth deletes both; the namespace goes once no process is left in it.
  private async removeLinks() {
    await quietly(ip('link', 'del', this.veth));
    await quietly(ip('netns', 'del', this.netns));
  }
}
