// Tiny HTTP backends for routing tests: each answers with its own name and echoes what it saw.

import * as http from 'node:http';

export interface Backend {
  name: string;
  address: string;
  port: number;
  requests: number;
  close: () => Promise<void>;
}

export async function startBackend(name: string, address: string, port = 0): Promise<Backend> {
  const backend: Backend = { name, address, port, requests: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    backend.requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({
        backend: name,
        method: req.method,
        path: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
      res.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  backend.port = (server.address() as { port: number }).port;
  backend.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return backend;
}
