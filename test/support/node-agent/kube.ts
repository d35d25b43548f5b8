// The few API calls the node agent makes, over node:https with the kubeconfig's CA and token (scripts/cluster writes
// one with both inline). Test infrastructure: no client library, so it stays independent of src/sources/kubernetes.

import * as fs from 'node:fs';
import * as https from 'node:https';
import { parse } from 'yaml';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
}

export class Kube {
  readonly server: URL;
  private readonly ca: Buffer;
  private readonly token: string;

  constructor(kubeconfigPath: string) {
    const cfg = parse(fs.readFileSync(kubeconfigPath, 'utf8'));
    const cluster = cfg.clusters[0].cluster;
    this.server = new URL(cluster.server);
    this.ca = Buffer.from(cluster['certificate-authority-data'], 'base64');
    this.token = cfg.users[0].user.token;
  }

  // A connection per request (agent: false) and an explicit length: simple and nothing shared between requests.
  private options(method: string, path: string, body?: string, contentType?: string): https.RequestOptions {
    return {
      method,
      host: this.server.hostname,
      port: this.server.port,
      path,
      ca: this.ca,
      agent: false,
      headers: {
        authorization: `Bearer ${this.token}`,
        accept: 'application/json',
        ...(body !== undefined
          ? { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }
          : {}),
      },
    };
  }

  /** One request; resolves with the parsed body, rejects with the API's message on a non-2xx status. */
  request<T = KubeObject>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const text = body === undefined ? undefined : JSON.stringify(body);
      const req = https.request(this.options(method, path, text, contentType), (res) => {
        let got = '';
        res.on('data', (d: Buffer) => (got += d.toString()));
        res.on('end', () => {
          let parsed: { message?: string } = {};
          try {
            parsed = got ? JSON.parse(got) : {};
          } catch {
            parsed = { message: got.trim() };
          }
          if ((res.statusCode ?? 500) >= 300) {
            const err = new Error(`${method} ${path}: ${res.statusCode} ${parsed.message ?? got}`);
            Object.assign(err, { status: res.statusCode });
            reject(err);
          } else resolve(parsed as T);
        });
      });
      // Status writes run one at a time (pod.ts): a request that never answers must not hold the rest forever.
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
      req.on('error', reject);
      req.end(text);
    });
  }

  mergePatch(path: string, body: unknown): Promise<KubeObject> {
    return this.request('PATCH', path, body, 'application/merge-patch+json');
  }

  /**
   * List, then watch from the list's resourceVersion, calling onEvent for each object (the list as ADDED). When a
   * watch ends or breaks it lists again, so a missed event is never lost; onList gets each list's objects, so a
   * caller can drop what was deleted between a watch's end and the next list. Returns a stop function.
   */
  informer(
    path: string,
    onEvent: (e: WatchEvent) => void,
    onError: (err: Error) => void,
    onList?: (items: KubeObject[]) => void,
  ): () => void {
    let stopped = false;
    let current: ReturnType<typeof https.request> | undefined;
    const sep = path.includes('?') ? '&' : '?';
    const loop = async () => {
      while (!stopped) {
        try {
          const list = await this.request<{ items: KubeObject[]; metadata: { resourceVersion: string } }>(
            'GET',
            path,
          );
          onList?.(list.items);
          for (const object of list.items) onEvent({ type: 'ADDED', object });
          await this.watch(
            `${path}${sep}watch=1&resourceVersion=${list.metadata.resourceVersion}`,
            onEvent,
            (r) => {
              current = r;
            },
          );
        } catch (err) {
          if (!stopped) onError(err as Error);
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    };
    void loop();
    return () => {
      stopped = true;
      current?.destroy();
    };
  }

  private watch(
    path: string,
    onEvent: (e: WatchEvent) => void,
    started: (r: ReturnType<typeof https.request>) => void,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = https.request(this.options('GET', path), (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`watch ${path}: ${res.statusCode}`));
          res.resume();
          return;
        }
        let buf = '';
        res.on('data', (d: Buffer) => {
          buf += d.toString();
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (!line.trim()) continue;
            const e = JSON.parse(line) as WatchEvent;
            if (e.type === 'ERROR') return reject(new Error(`watch ${path}: ${JSON.stringify(e.object)}`));
            onEvent(e);
          }
        });
        res.on('end', resolve);
        res.on('error', reject);
      });
      req.on('error', reject);
      started(req);
      req.end();
    });
  }
}
