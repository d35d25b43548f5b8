// One Pod on the node agent: its containers as local processes sharing the pod's address (in bridge mode: inside
// the Pod's network namespace), each in a private mount namespace where its volumes are bind-mounted at their
// mountPath; readiness probes; the Pod's status.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Kube, KubeObject } from './kube';
import { probeOnce, type Probe } from './probes';
import { materialize, type PodSpec } from './volumes';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    configMapKeyRef?: { name: string; key: string };
    secretKeyRef?: { name: string; key: string };
  };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  workingDir?: string;
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
}
export type Pod = KubeObject & {
  spec: PodSpec & { containers: Container[]; nodeName?: string; restartPolicy?: string };
};

/** What runs for an image: the entrypoint standing in for the image's, given the container's args after it. */
export interface ImageSpec {
  entrypoint: string[];
}

interface Running {
  c: Container;
  child?: ChildProcess;
  ready: boolean;
  restarts: number;
  startedAt?: string;
  exit?: { code: number | null; at: string };
}

// Kubernetes' $(VAR) expansion in command, args and env values; $$(VAR) escapes it.
const expand = (s: string, env: Record<string, string>) =>
  s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name) => (m === '$$' ? '$' : (env[name] ?? m)));

export class PodRun {
  private readonly running: Running[];
  private stopped = false;
  private timers: NodeJS.Timeout[] = [];
  private lastStatus = '';
  private statusChain: Promise<void> = Promise.resolve();

  constructor(
    private pod: Pod,
    readonly ip: string,
    private readonly kube: Kube,
    private readonly images: Record<string, ImageSpec>,
    private readonly dir: string,
    private readonly log: (msg: string) => void,
    /** Bridge pod network: the Pod's network namespace (/run/netns/NAME) every container runs in. */
    private readonly netns?: string,
  ) {
    this.running = pod.spec.containers.map((c) => ({ c, ready: false, restarts: 0 }));
  }

  get name() {
    return `${this.pod.metadata.namespace}/${this.pod.metadata.name}`;
  }

  async start() {
    const unknown = this.pod.spec.containers.find((c) => !this.imageSpec(c.image));
    if (unknown) return this.writeStatus(`unknown image ${unknown.image}`);
    const volumes = await materialize(this.kube, this.pod, path.join(this.dir, 'volumes'));
    for (const r of this.running) await this.startContainer(r, volumes);
    await this.writeStatus();
  }

  // Exact name, then without tag or digest, then the repository's last path segment ("ghcr.io/x/infergate").
  private imageSpec(image: string): ImageSpec | undefined {
    const repo = image.replace(/@.*$/, '').replace(/:[^/]*$/, '');
    return this.images[image] ?? this.images[repo] ?? this.images[repo.split('/').pop() ?? ''];
  }

  private async env(c: Container): Promise<Record<string, string>> {
    const ns = this.pod.metadata.namespace ?? 'default';
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      HOSTNAME: this.pod.metadata.name,
      // In bridge mode the agent's Service proxy serves default/kubernetes at its ClusterIP, as in a real cluster.
      KUBERNETES_SERVICE_HOST: this.netns ? '10.96.0.1' : '127.0.0.1',
      KUBERNETES_SERVICE_PORT: this.netns ? '443' : '6443',
    };
    for (const e of c.env ?? []) {
      const f = e.valueFrom;
      if (e.value !== undefined) env[e.name] = expand(e.value, env);
      else if (f?.fieldRef) env[e.name] = this.field(f.fieldRef.fieldPath);
      else if (f?.configMapKeyRef || f?.secretKeyRef) {
        const ref = (f.configMapKeyRef ?? f.secretKeyRef)!;
        const kind = f.configMapKeyRef ? 'configmaps' : 'secrets';
        const obj = await this.kube.request<{ data?: Record<string, string> }>(
          'GET',
          `/api/v1/namespaces/${ns}/${kind}/${ref.name}`,
        );
        const v = obj.data?.[ref.key] ?? '';
        env[e.name] = kind === 'secrets' ? Buffer.from(v, 'base64').toString() : v;
      }
    }
    return env;
  }

  private field(p: string): string {
    const m = this.pod.metadata;
    const values: Record<string, string | undefined> = {
      'metadata.name': m.name,
      'metadata.namespace': m.namespace,
      'metadata.uid': m.uid,
      'spec.nodeName': this.pod.spec.nodeName,
      'status.podIP': this.ip,
      'status.hostIP': this.ip.replace(/\.\d+$/, '.1'),
    };
    return values[p] ?? '';
  }

  private async startContainer(r: Running, volumes: Map<string, string>) {
    const env = await this.env(r.c);
    // Deleted while its volumes, env or network were being made: nothing may start after stop().
    if (this.stopped) return;
    const entry = this.imageSpec(r.c.image)!.entrypoint;
    // A command naming a binary of the image replaces its entrypoint in a real runtime; here the image map's
    // entrypoint stands for that binary, and the command's remaining words follow it.
    const argv = [...entry, ...(r.c.command?.slice(1) ?? []), ...(r.c.args ?? [])].map((a) => expand(a, env));
    const mounts = (r.c.volumeMounts ?? []).flatMap((m) => {
      const src = volumes.get(m.name);
      return src ? [m.subPath ? path.join(src, m.subPath) : src, m.mountPath] : [];
    });
    const script =
      'while [ "$1" != -- ]; do mkdir -p "$2" && mount --bind "$1" "$2" || exit 97; shift 2; done; shift; exec "$@"';
    const logFile = fs.openSync(path.join(this.dir, `${r.c.name}.log`), 'a');
    const inMountNs = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...mounts];
    // nsenter and unshare exec what follows, so the child's pid stays the container process's own.
    const cmd = this.netns ? ['nsenter', `--net=${this.netns}`, ...inMountNs] : inMountNs;
    r.child = spawn(cmd[0], [...cmd.slice(1), '--', ...argv], {
      env,
      cwd: r.c.workingDir ?? this.dir,
      stdio: ['ignore', logFile, logFile],
    });
    fs.closeSync(logFile);
    r.startedAt = new Date().toISOString();
    r.exit = undefined;
    r.ready = false;
    this.log(`${this.name}/${r.c.name}: started ${argv.join(' ')} (pid ${r.child.pid})`);
    r.child.on('exit', (code) => void this.exited(r, code, volumes));
    this.probe(r);
  }

  private async exited(r: Running, code: number | null, volumes: Map<string, string>) {
    r.child = undefined;
    r.ready = false;
    r.exit = { code, at: new Date().toISOString() };
    if (this.stopped) return;
    this.log(`${this.name}/${r.c.name}: exited ${code}`);
    const policy = this.pod.spec.restartPolicy ?? 'Always';
    if (policy === 'Always' || (policy === 'OnFailure' && code !== 0)) {
      r.restarts++;
      this.timers.push(setTimeout(() => void this.startContainer(r, volumes).catch(() => undefined), 1000));
    }
    await this.writeStatus();
  }

  private probe(r: Running) {
    const p = r.c.readinessProbe;
    if (!p) {
      r.ready = true;
      return;
    }
    const port = (x: number | string) =>
      typeof x === 'number' ? x : (r.c.ports?.find((cp) => cp.name === x)?.containerPort ?? Number(x));
    let ok = 0;
    let bad = 0;
    const tick = async () => {
      if (this.stopped || !r.child) return;
      const pass = await probeOnce(p, this.ip, port);
      ok = pass ? ok + 1 : 0;
      bad = pass ? 0 : bad + 1;
      const was = r.ready;
      if (ok >= (p.successThreshold ?? 1)) r.ready = true;
      if (bad >= (p.failureThreshold ?? 3)) r.ready = false;
      if (r.ready !== was)
        await this.writeStatus().catch((e) => this.log(`${this.name}: status: ${e.message}`));
      if (!this.stopped && r.child)
        this.timers.push(setTimeout(() => void tick(), (p.periodSeconds ?? 10) * 1000));
    };
    this.timers.push(setTimeout(() => void tick(), (p.initialDelaySeconds ?? 0) * 1000));
  }

  /**
   * The Pod's status from its processes; written only when it changed. Writes run one at a time, each computing the
   * status when it starts: concurrent probes of a multi-container Pod otherwise raced, and an older patch landing
   * last left a ready container reported unready for good.
   */
  writeStatus(waitingReason?: string): Promise<void> {
    const run = () => this.writeStatusNow(waitingReason);
    const next = this.statusChain.then(run, run);
    this.statusChain = next.catch(() => undefined);
    return next;
  }

  private async writeStatusNow(waitingReason?: string) {
    if (this.stopped) return;
    const now = new Date().toISOString();
    const all = this.running;
    const ready = !waitingReason && all.every((r) => r.ready && r.child);
    const done = all.every((r) => r.exit && !r.child);
    const phase = waitingReason
      ? 'Pending'
      : done
        ? all.every((r) => r.exit?.code === 0)
          ? 'Succeeded'
          : 'Failed'
        : 'Running';
    const cond = (type: string, ok: boolean) => ({ type, status: ok ? 'True' : 'False' });
    const status = {
      phase,
      podIP: this.ip,
      podIPs: [{ ip: this.ip }],
      hostIP: this.field('status.hostIP'),
      conditions: [
        cond('PodScheduled', true),
        cond('Initialized', true),
        cond('ContainersReady', ready),
        cond('Ready', ready),
      ],
      containerStatuses: all.map((r) => ({
        name: r.c.name,
        image: r.c.image,
        imageID: '',
        ready: r.ready && !!r.child,
        started: !!r.child,
        restartCount: r.restarts,
        state: r.child
          ? { running: { startedAt: r.startedAt } }
          : r.exit
            ? { terminated: { exitCode: r.exit.code ?? 137, finishedAt: r.exit.at, reason: 'Completed' } }
            : { waiting: { reason: waitingReason ?? 'ContainerCreating' } },
      })),
    };
    const key = JSON.stringify(status);
    if (key === this.lastStatus) return;
    const conditions = status.conditions.map((c) => ({ ...c, lastTransitionTime: now }));
    const ns = this.pod.metadata.namespace;
    await this.kube.mergePatch(`/api/v1/namespaces/${ns}/pods/${this.pod.metadata.name}/status`, {
      status: { ...status, conditions, startTime: this.pod.metadata.creationTimestamp },
    });
    // Only once it is written: a failed write is retried by the next change.
    this.lastStatus = key;
  }

  /** SIGTERM every process, SIGKILL after GRACEMS; resolves when all have exited. */
  async stop(graceMs: number) {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    await Promise.all(
      this.running.map(
        (r) =>
          new Promise<void>((resolve) => {
            const child = r.child;
            if (!child || child.exitCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    this.log(`${this.name}: stopped`);
  }
}
