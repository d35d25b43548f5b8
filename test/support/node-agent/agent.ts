// The node agent: registers a Node, runs the Pods bound to it (pod.ts) on addresses from its pod CIDR, finishes
// their deletion as the kubelet does, and keeps a hosts file of Service names. In the bridge pod network each Pod
// gets a network namespace of its own (pod-network.ts) and a userspace proxy serves ClusterIPs (service-proxy.ts).

import * as fs from 'node:fs';
import * as path from 'node:path';

import { Kube, type KubeObject, type WatchEvent } from './kube';
import { PodRun, type ImageSpec, type Pod } from './pod';
import { attachNode, PodNetwork, type PodNetworkMode } from './pod-network';
import { proxyTable, ServiceProxy, type EndpointSlice, type Service } from './service-proxy';

export interface AgentOptions {
  kubeconfig: string;
  node: string;
  /** A /24 (or larger) inside the cluster namespace's 10.244.0.0/16: .1 is the node, pods get .2 upwards. */
  podCIDR: string;
  images: Record<string, ImageSpec>;
  /** Where pod logs and volumes go. */
  stateDir: string;
  /** The hosts file bound over /etc/hosts in the cluster namespace (scripts/cluster writes DIR/hosts). */
  hostsFile?: string;
  /** shared (default): every Pod on the cluster namespace's loopback; bridge: a namespace per Pod, see README. */
  podNetwork?: PodNetworkMode;
  log?: (msg: string) => void;
}

export class NodeAgent {
  private readonly kube: Kube;
  private readonly pods = new Map<string, PodRun>();
  private readonly used = new Set<string>();
  private readonly slices = new Map<string, EndpointSlice>();
  private readonly services = new Map<string, Service>();
  private readonly nets = new Map<string, PodNetwork>();
  private proxy?: ServiceProxy;
  private readonly stops: (() => void)[] = [];
  private heartbeat?: NodeJS.Timeout;
  private next = 0;
  private readonly log: (msg: string) => void;
  private readonly hostsHeader: string;

  constructor(private readonly o: AgentOptions) {
    this.kube = new Kube(o.kubeconfig);
    this.log = o.log ?? ((m) => console.log(`node-agent: ${m}`));
    this.hostsHeader = o.hostsFile ? fs.readFileSync(o.hostsFile, 'utf8').split('# node-agent')[0] : '';
  }

  private get base() {
    return this.o.podCIDR.split('/')[0].split('.').slice(0, 3).join('.');
  }

  private get bridge() {
    return this.o.podNetwork === 'bridge';
  }

  async start() {
    if (this.bridge) {
      // scripts/cluster keeps it for processes in the cluster namespace itself, on its lo.
      if (this.o.podCIDR.startsWith('10.244.0.'))
        throw new Error(
          `pod CIDR ${this.o.podCIDR}: 10.244.0.0/24 is the cluster namespace's own in bridge mode`,
        );
      await attachNode(`${this.base}.1`, Number(this.o.podCIDR.split('/')[1] ?? 24));
      this.proxy = new ServiceProxy(this.log);
    }
    await this.register();
    this.heartbeat = setInterval(
      () => void this.nodeStatus().catch((e) => this.log(`heartbeat: ${e.message}`)),
      10_000,
    );
    const onError = (e: Error) => this.log(`watch: ${e.message}`);
    const selector = encodeURIComponent(`spec.nodeName=${this.o.node}`);
    this.stops.push(
      this.kube.informer(`/api/v1/pods?fieldSelector=${selector}`, (e) => void this.onPod(e), onError),
    );
    if (this.o.hostsFile || this.bridge) {
      this.stops.push(
        this.kube.informer(
          '/apis/discovery.k8s.io/v1/endpointslices',
          (e) => this.track(this.slices, e),
          onError,
          (items) => this.relisted(this.slices, items),
        ),
      );
    }
    if (this.bridge) {
      this.stops.push(
        this.kube.informer(
          '/api/v1/services',
          (e) => this.track(this.services, e),
          onError,
          (items) => this.relisted(this.services, items),
        ),
      );
    }
  }

  async stop() {
    clearInterval(this.heartbeat);
    for (const s of this.stops) s();
    this.proxy?.close();
    await Promise.all([...this.pods.values()].map((p) => p.stop(2000)));
    this.pods.clear();
    await Promise.all([...this.nets.values()].map((n) => n.remove()));
    this.nets.clear();
  }

  private async register() {
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.o.node,
        labels: { 'kubernetes.io/hostname': this.o.node, 'kubernetes.io/os': 'linux' },
      },
      spec: { podCIDR: this.o.podCIDR, podCIDRs: [this.o.podCIDR] },
    };
    await this.kube.request('POST', '/api/v1/nodes', node).catch((e: { status?: number }) => {
      if (e.status !== 409) throw e;
    });
    await this.nodeStatus();
    this.log(`registered Node ${this.o.node} (${this.o.podCIDR})`);
  }

  private nodeStatus() {
    const now = new Date().toISOString();
    const capacity = { cpu: '16', memory: '64Gi', pods: '250' };
    return this.kube.mergePatch(`/api/v1/nodes/${this.o.node}/status`, {
      status: {
        capacity,
        allocatable: capacity,
        addresses: [
          { type: 'InternalIP', address: `${this.base}.1` },
          { type: 'Hostname', address: this.o.node },
        ],
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'NodeAgentReady',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
        nodeInfo: {
          kubeletVersion: 'node-agent',
          containerRuntimeVersion: 'local-process://',
          operatingSystem: 'linux',
          architecture: 'amd64',
        },
      },
    });
  }

  // Round-robin from .2, so a deleted pod's address is not handed out again at once (stale clients would reach it).
  private allocate(): string {
    for (let n = 0; n < 253; n++) {
      const ip = `${this.base}.${2 + ((this.next + n) % 253)}`;
      if (!this.used.has(ip)) {
        this.next = (this.next + n + 1) % 253;
        this.used.add(ip);
        return ip;
      }
    }
    throw new Error(`pod CIDR ${this.o.podCIDR} is full`);
  }

  private async onPod(e: WatchEvent) {
    const pod = e.object as Pod;
    const uid = pod.metadata.uid ?? '';
    const run = this.pods.get(uid);
    if (e.type === 'DELETED' || pod.metadata.deletionTimestamp) {
      if (run) {
        this.pods.delete(uid);
        await run.stop(Math.min(Number(pod.metadata.deletionGracePeriodSeconds ?? 30), 10) * 1000);
        await this.nets.get(uid)?.remove();
        this.nets.delete(uid);
        this.used.delete(run.ip);
      }
      if (e.type !== 'DELETED') {
        // The kubelet's part of a graceful delete: once the processes are gone, remove the object for good.
        const p = `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`;
        await this.kube
          .request('DELETE', p, {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            gracePeriodSeconds: 0,
            preconditions: { uid },
          })
          .then(() => this.log(`${p}: deleted`))
          .catch((err: Error & { status?: number }) => {
            // A second event for the same deletion finds it gone already.
            if (err.status !== 404) this.log(`final delete of ${p}: ${err.message}`);
          });
      }
      return;
    }
    if (run || (e.type !== 'ADDED' && e.type !== 'MODIFIED')) return;
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const dir = path.join(
      this.o.stateDir,
      `${pod.metadata.namespace}_${pod.metadata.name}_${uid.slice(0, 8)}`,
    );
    fs.mkdirSync(dir, { recursive: true });
    const podIP = (pod.status as { podIP?: string } | undefined)?.podIP;
    const ip = podIP && !this.used.has(podIP) ? (this.used.add(podIP), podIP) : this.allocate();
    // Bridge mode: the Pod's namespace and veth, made before any of its containers starts.
    const net = this.bridge
      ? new PodNetwork(uid, ip, Number(this.o.podCIDR.split('/')[1] ?? 24), `${this.base}.1`)
      : undefined;
    const r = new PodRun(pod, ip, this.kube, this.o.images, dir, this.log, net?.path);
    // Registered before the first await: the Pod's next event must find it and not start it twice.
    this.pods.set(uid, r);
    if (net) {
      this.nets.set(uid, net);
      try {
        await net.create();
        this.log(`${r.name}: netns ${net.netns}, eth0 ${ip}`);
      } catch (err) {
        const why = `pod network: ${(err as Error).message}`;
        this.log(`${r.name}: ${why}`);
        return r.writeStatus(why).catch(() => undefined);
      }
    }
    await r.start().catch((err) => this.log(`${r.name}: ${err.message}`));
  }

  private track<T extends KubeObject>(m: Map<string, T>, e: WatchEvent) {
    const key = keyOf(e.object);
    if (e.type === 'DELETED') m.delete(key);
    else if (e.type === 'ADDED' || e.type === 'MODIFIED') m.set(key, e.object as T);
    else return;
    this.refresh();
  }

  // What a fresh list lacks was deleted while no watch was open; the list's own ADDED events refresh the rest.
  private relisted(m: Map<string, KubeObject>, items: KubeObject[]) {
    const live = new Set(items.map(keyOf));
    const before = m.size;
    for (const k of m.keys()) if (!live.has(k)) m.delete(k);
    if (m.size !== before) this.refresh();
  }

  private refresh() {
    if (this.o.hostsFile) this.writeHosts();
    this.proxy?.update(
      proxyTable(this.services.values(), this.slices.values(), {
        host: this.kube.server.hostname,
        port: Number(this.kube.server.port || 443),
      }),
    );
  }

  // No cluster DNS. Shared mode: each Service name resolves to its ready endpoints. Bridge mode: to its ClusterIP
  // (the proxy balances, as with real cluster DNS), a headless Service's to its ready endpoints. Written in place
  // (the file is a bind mount).
  private writeHosts() {
    const lines = ['# node-agent: Service names'];
    const add = (ip: string, ns: string | undefined, svc: string) =>
      lines.push(`${ip}\t${svc}.${ns}.svc ${svc}.${ns}.svc.cluster.local`);
    if (!this.bridge) add('127.0.0.1', 'default', 'kubernetes');
    const clusterIPs = new Set<string>();
    if (this.bridge) {
      for (const s of [...this.services.values()].sort((a, b) => byName(a, b))) {
        const ip = s.spec?.clusterIP;
        if (!ip || ip === 'None') continue;
        clusterIPs.add(`${s.metadata.namespace}/${s.metadata.name}`);
        add(ip, s.metadata.namespace, s.metadata.name);
      }
    }
    for (const s of [...this.slices.values()].sort((a, b) => byName(a, b))) {
      const svc = s.metadata.labels?.['kubernetes.io/service-name'];
      if (!svc || clusterIPs.has(`${s.metadata.namespace}/${svc}`)) continue;
      for (const ep of s.endpoints ?? []) {
        if (ep.conditions?.ready === false) continue;
        for (const a of ep.addresses) add(a, s.metadata.namespace, svc);
      }
    }
    fs.writeFileSync(this.o.hostsFile!, `${this.hostsHeader}${lines.join('\n')}\n`);
  }
}

const keyOf = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;

const byName = (a: KubeObject, b: KubeObject) =>
  `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`);
