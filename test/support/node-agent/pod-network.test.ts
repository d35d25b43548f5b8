// The bridge pod network on the real test cluster: Pods that all bind 0.0.0.0:3000 each answer at their own Pod IP,
// a Pod's loopback is its own and its containers', in-cluster config reaches the API server at 10.96.0.1:443, a
// ClusterIP Service balances over ready endpoints through the agent's proxy, and a deleted Pod leaves nothing behind.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { waitFor } from '../../../src/util/wait';
import { Cluster, clusterToolsMissing, processesIn } from '../../cluster/cluster';
import { startNodeAgent } from '../../kubernetes/fixtures';
import { tmpDir } from '../tmp';

const missing = clusterToolsMissing();
if (missing) console.log(`pod-network test skipped: the pinned cluster binaries are not cached (${missing})`);
const describeCluster = missing ? describe.skip : describe;

// The "image": an HTTP server on $HOST:$PORT (0.0.0.0:3000 unless told) saying which pod and container it is;
// /get?url= fetches a URL from inside the Pod, /api asks the API server who the Pod's token is (in-cluster config),
// /unready fails its readiness probe from then on.
const ECHO = `
const fs = require('fs');
const http = require('http');
const https = require('https');
let ready = true;
const collect = (resolve) => (r) => {
  let body = '';
  r.on('data', (d) => (body += d));
  r.on('end', () => resolve({ status: r.statusCode, body }));
};
const get = (url) => new Promise((resolve) =>
  http.get(url, { timeout: 5000 }, collect(resolve)).on('error', (e) => resolve({ error: e.code || e.message })));
const api = () => new Promise((resolve) => {
  const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
  const req = https.request({
    host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT, method: 'POST',
    path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', ca: fs.readFileSync(sa + '/ca.crt'),
    headers: { authorization: 'Bearer ' + fs.readFileSync(sa + '/token', 'utf8'), 'content-type': 'application/json' },
  }, collect(resolve));
  req.on('error', (e) => resolve({ error: e.code || e.message }));
  req.end(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }));
});
http.createServer(async (q, s) => {
  const u = new URL(q.url, 'http://x');
  if (u.pathname === '/healthz') { s.statusCode = ready ? 200 : 503; return s.end(); }
  if (u.pathname === '/unready') { ready = false; return s.end('ok'); }
  if (u.pathname === '/get') return s.end(JSON.stringify(await get(u.searchParams.get('url'))));
  if (u.pathname === '/api') return s.end(JSON.stringify(await api()));
  s.end(JSON.stringify({ pod: process.env.POD_NAME, container: process.env.CONTAINER }));
}).listen(Number(process.env.PORT || 3000), process.env.HOST || '0.0.0.0');
`;

interface PodJson {
  metadata: { name: string; uid: string };
  status: { podIP?: string; conditions?: { type: string; status: string }[] };
}
const isReady = (p: PodJson) => !!p.status.conditions?.some((k) => k.type === 'Ready' && k.status === 'True');

// A container on its Pod's loopback only (HOST 127.0.0.1) has no probe: the agent probes the Pod IP.
const container = (name: string, env: Record<string, string> = {}) => ({
  name,
  image: 'test/echo:1',
  env: [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'CONTAINER', value: name },
    ...Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
  ],
  ports: [{ name: 'http', containerPort: Number(env.PORT ?? 3000) }],
  ...(env.HOST
    ? {}
    : {
        readinessProbe: {
          httpGet: { path: '/healthz', port: 'http' },
          periodSeconds: 1,
          failureThreshold: 1,
        },
      }),
});
// Envoy answering on 0.0.0.0:80 with its Pod's name in a header, admin on 127.0.0.1:19000: what every managed
// Envoy of the conformance suite's two Gateways binds.
const ENVOY = `
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 19000 } } }
static_resources:
  listeners:
  - name: http
    address: { socket_address: { address: 0.0.0.0, port_value: 80 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: http
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: / }
                direct_response: { status: 200, body: { inline_string: envoy } }
                response_headers_to_add:
                - header: { key: x-pod, value: "%ENVIRONMENT(POD_NAME)%" }
`;

const pod = (name: string, labels: Record<string, string>, containers: object[], volumes?: object[]) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { nodeName: 'node-a', containers, volumes },
});

describeCluster('bridge pod network', () => {
  jest.setTimeout(300_000);
  const work = tmpDir('pod-network');
  const c = new Cluster(path.join(work, 'cluster'));
  let agent: ReturnType<typeof startNodeAgent> | undefined;
  const ips: Record<string, string> = {};

  /** curl from the cluster namespace (a host process there); exit code and body. */
  const curl = async (url: string) => {
    const r = await c.exec(['curl', '-s', '--max-time', '5', url]);
    return { code: r.code, body: r.stdout };
  };
  const json = async (url: string) => {
    const r = await curl(url);
    if (r.code !== 0) throw new Error(`curl ${url}: exit ${r.code}`);
    return JSON.parse(r.body) as Record<string, unknown>;
  };
  /** What a Pod sees when it fetches URL itself. */
  const fromPod = async (podName: string, url: string) =>
    (await json(`http://${ips[podName]}:3000/get?url=${encodeURIComponent(url)}`)) as {
      status?: number;
      body?: string;
      error?: string;
    };
  /** N requests in one exec; the pod names that answered, in order ('' for a failed one). */
  const answers = async (url: string, n: number) => {
    const script = `for i in $(seq ${n}); do curl -s --max-time 5 '${url}' || printf '{}'; echo; done`;
    const r = await c.exec(['sh', '-c', script]);
    return r.stdout
      .trim()
      .split('\n')
      .map((l) => String((JSON.parse(l) as { pod?: string }).pod ?? ''));
  };
  const getPod = async (name: string) => c.getJson<PodJson>(['pod', name]);

  beforeAll(async () => {
    fs.writeFileSync(path.join(work, 'echo.js'), ECHO);
    const images = { 'test/echo': { entrypoint: [process.execPath, path.join(work, 'echo.js')] } };
    fs.writeFileSync(path.join(work, 'images.json'), JSON.stringify(images));
    await c.up({ podNetwork: 'bridge' });
    // No --pod-network: the agent takes the mode scripts/cluster recorded.
    agent = startNodeAgent(c, ['--images', path.join(work, 'images.json')]);
    const started = agent;
    started.child.on('exit', (code) => code && console.log(`node agent exited ${code}:\n${started.log()}`));
    await c.apply(pod('echo-a', { app: 'echo' }, [container('web')]));
    await c.apply(pod('echo-b', { app: 'echo' }, [container('web')]));
    await c.apply(
      pod('duo', { app: 'duo' }, [container('web'), container('side', { HOST: '127.0.0.1', PORT: '3001' })]),
    );
    for (const name of ['echo-a', 'echo-b', 'duo']) {
      const p = await waitFor(
        `${name} Ready`,
        async () => {
          const got = await getPod(name).catch(() => undefined);
          return got && isReady(got) ? got : undefined;
        },
        { timeoutMs: 120_000, everyMs: 500 },
      );
      ips[name] = p.status.podIP ?? '';
    }
  }, 300_000);

  afterAll(async () => {
    agent?.child.kill('SIGTERM');
    if (process.env.NODE_AGENT_LOG) console.log(`node agent log:\n${agent?.log() ?? ''}`);
    await c.down();
  }, 60_000);

  test('the mode is recorded and the cluster namespace has ClusterIPs and host addresses on lo, no Pod CIDR', async () => {
    expect(fs.readFileSync(path.join(c.dir, 'run/pod-network'), 'utf8').trim()).toBe('bridge');
    const lo = (await c.exec(['ip', '-o', 'addr', 'show', 'dev', 'lo'])).stdout;
    expect(lo).toContain('10.96.0.0/16');
    expect(lo).toContain('10.244.0.0/24');
    expect(lo).not.toContain('10.244.0.0/16');
    expect((await c.exec(['ip', '-o', 'addr', 'show', 'dev', 'ig0'])).stdout).toContain('10.244.1.1/24');
  });

  test('Pods bound to 0.0.0.0:3000 each answer at their own Pod IP', async () => {
    expect(new Set(Object.values(ips)).size).toBe(3);
    for (const ip of Object.values(ips)) expect(ip).toMatch(/^10\.244\.1\.\d+$/);
    expect(await json(`http://${ips['echo-a']}:3000/`)).toEqual({ pod: 'echo-a', container: 'web' });
    expect(await json(`http://${ips['echo-b']}:3000/`)).toEqual({ pod: 'echo-b', container: 'web' });
    // Nothing listens on the cluster namespace's own loopback.
    expect((await curl('http://127.0.0.1:3000/')).code).toBe(7);
  });

  test('Pods reach each other at their Pod IPs', async () => {
    const r = await fromPod('echo-a', `http://${ips.duo}:3000/`);
    expect(JSON.parse(r.body ?? '{}')).toEqual({ pod: 'duo', container: 'web' });
  });

  test('a Pod reaches a process of the cluster namespace on a host address, directly and through a Service', async () => {
    const server = c.spawn([
      'node',
      '-e',
      "require('http').createServer((q, s) => s.end('host process')).listen(4000, '10.244.0.10')",
    ]);
    try {
      await c.apply({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'host' },
        spec: { ports: [{ name: 'http', port: 4000 }] },
      });
      await c.apply({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'host-1', labels: { 'kubernetes.io/service-name': 'host' } },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 4000 }],
        endpoints: [{ addresses: ['10.244.0.10'], conditions: { ready: true } }],
      });
      await waitFor(
        'the host process by Service name from a Pod',
        async () => (await fromPod('echo-a', 'http://host.default.svc:4000/')).body === 'host process',
        { timeoutMs: 30_000, everyMs: 500 },
      );
      expect(await fromPod('echo-a', 'http://10.244.0.10:4000/')).toMatchObject({ body: 'host process' });
    } finally {
      server.kill('SIGTERM');
    }
  });

  test('a Pod’s 127.0.0.1 is its own, shared by its containers', async () => {
    const self = await fromPod('echo-a', 'http://127.0.0.1:3000/');
    expect(JSON.parse(self.body ?? '{}')).toEqual({ pod: 'echo-a', container: 'web' });
    const side = await fromPod('duo', 'http://127.0.0.1:3001/');
    expect(JSON.parse(side.body ?? '{}')).toEqual({ pod: 'duo', container: 'side' });
    // duo's sidecar is on duo's loopback only; the API server on the cluster namespace's only.
    expect(await fromPod('echo-a', 'http://127.0.0.1:3001/')).toEqual({ error: 'ECONNREFUSED' });
    expect(await fromPod('echo-a', 'http://127.0.0.1:6443/')).toEqual({ error: 'ECONNREFUSED' });
  });

  test('in-cluster config reaches the API server at 10.96.0.1:443 with the Pod’s token', async () => {
    const r = (await json(`http://${ips['echo-a']}:3000/api`)) as { status: number; body: string };
    expect(r.status).toBe(201);
    const review = JSON.parse(r.body) as { status: { userInfo: { username: string } } };
    expect(review.status.userInfo.username).toBe('system:serviceaccount:default:default');
  });

  test('a ClusterIP Service spreads over its ready endpoints and follows one going unready', async () => {
    await c.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'echo' },
      spec: { selector: { app: 'echo' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] },
    });
    const svc = await c.getJson<{ spec: { clusterIP: string } }>(['service', 'echo']);
    const vip = svc.spec.clusterIP;
    expect(vip).toMatch(/^10\.96\./);
    // Both endpoints behind one address: targetPort "http" resolved through the EndpointSlice's port "web".
    await waitFor(
      'both echo pods answering at the ClusterIP',
      async () => {
        const got = new Set(await answers(`http://${vip}/`, 6));
        return got.has('echo-a') && got.has('echo-b') && got.size === 2;
      },
      { timeoutMs: 60_000, everyMs: 500 },
    );
    // The Service name resolves to the ClusterIP, in the cluster namespace and inside a Pod.
    const hosts = (await c.exec(['getent', 'hosts', 'echo.default.svc.cluster.local'])).stdout;
    expect(hosts.split(/\s+/)[0]).toBe(vip);
    const inPod = await fromPod('duo', 'http://echo.default.svc/');
    expect(['echo-a', 'echo-b']).toContain((JSON.parse(inPod.body ?? '{}') as { pod: string }).pod);

    expect(await curl(`http://${ips['echo-b']}:3000/unready`)).toEqual({ code: 0, body: 'ok' });
    await waitFor(
      'only echo-a answering at the ClusterIP',
      async () => (await answers(`http://${vip}/`, 6)).every((p) => p === 'echo-a'),
      { timeoutMs: 60_000, everyMs: 500 },
    );
  });

  test('a changed Service port moves its listener', async () => {
    const vip = (await c.getJson<{ spec: { clusterIP: string } }>(['service', 'echo'])).spec.clusterIP;
    await c.kubectl([
      'patch',
      'service',
      'echo',
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'replace', path: '/spec/ports/0/port', value: 81 }]),
    ]);
    await waitFor('echo on :81', async () => (await answers(`http://${vip}:81/`, 1))[0] === 'echo-a', {
      timeoutMs: 30_000,
      everyMs: 500,
    });
    expect((await curl(`http://${vip}:80/`)).code).toBe(7);
  });

  test('two Envoys on 0.0.0.0:80 with admin on 127.0.0.1:19000 both run, each behind its own Pod IP', async () => {
    const conf = path.join(work, 'envoy');
    await c.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'envoy' },
      data: { 'envoy.yaml': ENVOY },
    });
    const envoy = {
      name: 'envoy',
      image: 'docker.io/envoyproxy/envoy:distroless-v1.40.0',
      args: ['-c', path.join(conf, 'envoy.yaml'), '--log-level', 'warn'],
      env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
      ports: [{ name: 'http', containerPort: 80 }],
      readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1 },
      volumeMounts: [{ name: 'conf', mountPath: conf }],
    };
    const gw = (name: string) =>
      pod(name, { app: 'gw' }, [envoy, container('web')], [{ name: 'conf', configMap: { name: 'envoy' } }]);
    await c.apply(gw('gw-a'));
    await c.apply(gw('gw-b'));
    await c.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'gw' },
      spec: { selector: { app: 'gw' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    for (const name of ['gw-a', 'gw-b']) {
      const p = await waitFor(
        `${name} Ready`,
        async () => {
          const got = await getPod(name).catch(() => undefined);
          return got && isReady(got) ? got : undefined;
        },
        { timeoutMs: 120_000, everyMs: 500 },
      );
      ips[name] = p.status.podIP ?? '';
      const head = await c.exec(['curl', '-si', '--max-time', '5', `http://${ips[name]}/`]);
      expect(head.stdout).toMatch(new RegExp(`x-pod: ${name}\\r?\\n`));
      const admin = await fromPod(name, 'http://127.0.0.1:19000/ready');
      expect(admin).toMatchObject({ status: 200, body: 'LIVE\n' });
    }
    const vip = (await c.getJson<{ spec: { clusterIP: string } }>(['service', 'gw'])).spec.clusterIP;
    await waitFor(
      'both Envoys behind the gw ClusterIP',
      async () => {
        const r = await c.exec([
          'sh',
          '-c',
          `for i in 1 2 3 4 5 6; do curl -si --max-time 5 http://${vip}/ | grep -i '^x-pod:'; done`,
        ]);
        const pods = new Set(
          r.stdout
            .split('\n')
            .filter(Boolean)
            .map((l) => l.split(':')[1].trim()),
        );
        return pods.has('gw-a') && pods.has('gw-b');
      },
      { timeoutMs: 60_000, everyMs: 500 },
    );
  });

  test('a Service with no ready endpoint resets at once; a deleted Service stops listening', async () => {
    await c.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'nobody' },
      spec: { selector: { app: 'nobody' }, ports: [{ port: 8080 }] },
    });
    const vip = (await c.getJson<{ spec: { clusterIP: string } }>(['service', 'nobody'])).spec.clusterIP;
    // 56: the connection was accepted, then reset (7 would be nothing listening yet).
    await waitFor('nobody reset by the proxy', async () => (await curl(`http://${vip}:8080/`)).code === 56, {
      timeoutMs: 30_000,
      everyMs: 500,
    });
    await c.kubectl(['delete', 'service', 'nobody']);
    await waitFor('nobody closed', async () => (await curl(`http://${vip}:8080/`)).code === 7, {
      timeoutMs: 30_000,
      everyMs: 500,
    });
  });

  test('a deleted Pod leaves no network namespace or veth behind', async () => {
    const uid = (await getPod('echo-b')).metadata.uid.replace(/-/g, '');
    const netns = async () => (await c.exec(['ip', 'netns', 'list'])).stdout;
    const veths = async () => (await c.exec(['ip', '-o', 'link', 'show', 'type', 'veth'])).stdout;
    expect(await netns()).toContain(`pod-${uid}`);
    expect(await veths()).toContain(`ve${uid.slice(0, 12)}`);
    const count = (await veths()).trim().split('\n').length;
    expect(count).toBe(Object.keys(ips).length);
    await c.kubectl(['delete', 'pod', 'echo-b', '--wait=true', '--timeout=60s']);
    await waitFor('echo-b netns gone', async () => !(await netns()).includes(`pod-${uid}`), {
      timeoutMs: 30_000,
      everyMs: 500,
    });
    expect(await veths()).not.toContain(`ve${uid.slice(0, 12)}`);
    expect((await veths()).trim().split('\n')).toHaveLength(count - 1);
    expect((await curl(`http://${ips['echo-b']}:3000/`)).code).not.toBe(0);
  });

  test('down stops the processes in Pod namespaces even when the agent died without stopping them', async () => {
    const ids = (
      await c.exec(['sh', '-c', 'for f in /run/netns/*; do stat -L -c "net:[%i]" "$f"; done'])
    ).stdout
      .trim()
      .split('\n');
    expect(ids).toHaveLength(Object.keys(ips).length - 1);
    for (const id of ids) expect(processesIn(id).length).toBeGreaterThan(0);
    agent?.child.kill('SIGKILL');
    expect((await c.down()).code).toBe(0);
    for (const id of ids) expect(processesIn(id)).toEqual([]);
    expect(processesIn(c.netns())).toEqual([]);
  });
});
