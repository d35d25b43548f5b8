// The node agent on the real test cluster: a Deployment scheduled onto its Node runs as local processes on pod-CIDR
// addresses with their env, ConfigMap and service-account volumes, turns Ready through its HTTP probe, is reachable
// by Service name, and a deleted Pod's process stops.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { waitFor } from '../../../src/util/wait';
import { Cluster, clusterToolsMissing } from '../../cluster/cluster';
import { tmpDir } from '../tmp';

const missing = clusterToolsMissing();
if (missing) console.log(`node-agent test skipped: the pinned cluster binaries are not cached (${missing})`);
const describeCluster = missing ? describe.skip : describe;

const MAIN = path.join(__dirname, 'main.ts');

// The "image": a server on $(LISTEN) answering with its ConfigMap file, the token's length and its namespace file.
const ECHO = `
const fs = require('fs');
const [host, port] = process.env.LISTEN.split(':');
const mnt = process.env.MNT;
require('http').createServer((q, s) => {
  if (q.url === '/healthz') return s.end('ok');
  s.end(JSON.stringify({
    pod: process.env.POD_NAME, ip: host,
    message: fs.readFileSync(mnt + '/config/message', 'utf8'),
    token: fs.readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/token', 'utf8').length,
    namespace: fs.readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8'),
  }));
}).listen(Number(port), host);
`;

interface PodList {
  items: {
    metadata: { name: string };
    status: { podIP?: string; conditions?: { type: string; status: string }[] };
  }[];
}

describeCluster('node agent', () => {
  jest.setTimeout(300_000);
  const work = tmpDir('node-agent');
  const c = new Cluster(path.join(work, 'cluster'));
  const mnt = path.join(work, 'mnt');
  let agent: ReturnType<Cluster['spawn']> | undefined;

  beforeAll(async () => {
    fs.writeFileSync(path.join(work, 'echo.js'), ECHO);
    const images = { 'test/echo': { entrypoint: [process.execPath, path.join(work, 'echo.js')] } };
    fs.writeFileSync(path.join(work, 'images.json'), JSON.stringify(images));
    await c.up();
    agent = c.spawn([
      'node',
      '-r',
      'ts-node/register/transpile-only',
      MAIN,
      '--node',
      'node-a',
      '--pod-cidr',
      '10.244.1.0/24',
      '--images',
      path.join(work, 'images.json'),
    ]);
    let log = '';
    agent.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    agent.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    agent.on('exit', (code) => code && console.log(`node agent exited ${code}:\n${log}`));
  }, 300_000);

  afterAll(async () => {
    agent?.kill('SIGTERM');
    await c.down();
  }, 60_000);

  const readyPods = async () => {
    const list = JSON.parse(
      (await c.kubectl(['get', 'pods', '-l', 'app=echo', '-o', 'json'])).stdout,
    ) as PodList;
    const ready = list.items.filter((p) =>
      p.status.conditions?.some((k) => k.type === 'Ready' && k.status === 'True'),
    );
    return ready.length === 2 ? ready : undefined;
  };

  test('a Deployment becomes Ready on pod-CIDR addresses and answers by Service name', async () => {
    await waitFor(
      'Node node-a Ready',
      async () => (await c.kubectl(['get', 'node', 'node-a'], undefined, true)).stdout.includes(' Ready'),
      { timeoutMs: 60_000, everyMs: 500 },
    );
    await c.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'echo' },
      data: { message: 'hello from a ConfigMap' },
    });
    await c.apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'echo' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'echo' } },
        template: {
          metadata: { labels: { app: 'echo' } },
          spec: {
            containers: [
              {
                name: 'echo',
                image: 'test/echo:1',
                args: [],
                env: [
                  { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'LISTEN', value: '$(POD_IP):8000' },
                  { name: 'MNT', value: mnt },
                ],
                ports: [{ name: 'http', containerPort: 8000 }],
                readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
                volumeMounts: [{ name: 'config', mountPath: path.join(mnt, 'config') }],
              },
            ],
            volumes: [{ name: 'config', configMap: { name: 'echo' } }],
          },
        },
      },
    });
    await c.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'echo' },
      spec: { selector: { app: 'echo' }, ports: [{ port: 8000 }] },
    });
    const pods = await waitFor('2 Ready echo pods', readyPods, { timeoutMs: 120_000, everyMs: 500 });
    const ips = pods.map((p) => p.status.podIP ?? '');
    for (const ip of ips) expect(ip).toMatch(/^10\.244\.1\.\d+$/);
    expect(new Set(ips).size).toBe(2);

    const body = await waitFor(
      'echo.default.svc answering',
      async () => {
        const r = await c.exec([
          'curl',
          '-sf',
          '--max-time',
          '2',
          'http://echo.default.svc.cluster.local:8000/',
        ]);
        return r.code === 0 ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined;
      },
      { timeoutMs: 30_000, everyMs: 500 },
    );
    expect(body).toMatchObject({ message: 'hello from a ConfigMap', namespace: 'default' });
    expect(ips).toContain(body.ip);
    expect(body.token).toBeGreaterThan(100);
  });

  test('deleting a Pod stops its process and the Deployment’s replacement becomes Ready', async () => {
    const before = (await readyPods())!;
    const victim = before[0];
    await c.kubectl(['delete', 'pod', victim.metadata.name, '--wait=true', '--timeout=60s']);
    const r = await c.exec(['curl', '-s', '--max-time', '2', `http://${victim.status.podIP}:8000/healthz`]);
    expect(r.code).not.toBe(0);
    const after = await waitFor(
      'a replacement Ready pod',
      async () => {
        const p = await readyPods();
        return p && !p.some((x) => x.metadata.name === victim.metadata.name) ? p : undefined;
      },
      { timeoutMs: 120_000, everyMs: 500 },
    );
    expect(after).toHaveLength(2);
  });
});
