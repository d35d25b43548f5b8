// A small client for the test cluster's API server, used inside its namespace for the bench's own setup and
// probes (creating 1,000 Pods and writing their status one kubectl call at a time would take minutes): the
// kubeconfig's bearer token and CA, keep-alive HTTPS, and a bounded-concurrency map.

import * as fs from 'node:fs';
import * as https from 'node:https';
import { parse } from 'yaml';

export class Api {
  private readonly agent: https.Agent;
  private readonly server: URL;
  private readonly token: string;

  constructor(kubeconfigPath: string) {
    const kc = parse(fs.readFileSync(kubeconfigPath, 'utf8')) as {
      clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
      users: { user: { token: string } }[];
    };
    const cluster = kc.clusters[0].cluster;
    this.server = new URL(cluster.server);
    this.token = kc.users[0].user.token;
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 32,
      ca: Buffer.from(cluster['certificate-authority-data'], 'base64'),
    });
  }

  /** One request; resolves with the status and body text, rejects only on a transport error. */
  request(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ status: number; text: string }> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: this.server.hostname,
          port: this.server.port,
          method,
          path,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: 'application/json',
            ...(data ? { 'content-type': contentType, 'content-length': Buffer.byteLength(data) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  /** request(), throwing unless the status is 2xx. */
  async ok(method: string, path: string, body?: unknown, contentType?: string): Promise<string> {
    const r = await this.request(method, path, body, contentType);
    if (r.status < 200 || r.status > 299)
      throw new Error(`${method} ${path}: HTTP ${r.status}: ${r.text.slice(0, 500)}`);
    return r.text;
  }

  async json<T>(path: string): Promise<T> {
    return JSON.parse(await this.ok('GET', path)) as T;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs f over items with at most `width` in flight; rejects with the first failure. */
export async function forEachLimit<T>(items: T[], width: number, f: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await f(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

/** apiserver_request_total from the API server's /metrics, summed by "verb resource[/subresource]". */
export async function apiRequestCounts(api: Api): Promise<Record<string, number>> {
  const text = await api.ok('GET', '/metrics');
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = Object.fromEntries(
      [...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]] as [string, string]),
    );
    const key = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}`;
    out[key] = (out[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

/** b − a per key, dropping zeros. */
export function diffCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) if (v - (a[k] ?? 0) > 0) out[k] = v - (a[k] ?? 0);
  return out;
}
