// The scrape loop's HTTP/1.1 GET client (src/epp/scrape/http-get.ts): the pure header and chunked-body readers
// as tables, and the client against real Node HTTP and raw TCP servers (keep-alive reuse, chunked, close-framed
// bodies, non-200, an idle connection closed by the server, a server that never answers).

import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { KeepAliveGet, decodeChunked, parseHead } from '../../../src/epp/scrape/http-get';

describe('parseHead', () => {
  it.each([
    [
      'HTTP/1.1 200 OK\r\nContent-Length: 12',
      { status: 200, contentLength: 12, chunked: false, close: false },
    ],
    ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked', { status: 200, chunked: true, close: false }],
    [
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close',
      { status: 200, contentLength: 3, close: true },
    ],
    ['HTTP/1.0 200 OK\r\nContent-Length: 3', { status: 200, contentLength: 3, close: true }],
    ['HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive', { status: 200, close: false }],
    ['HTTP/1.1 200 OK\r\nX: y', { status: 200, chunked: false, close: true }],
    ['HTTP/1.1 503 Busy\r\nContent-Length: 0', { status: 503, contentLength: 0 }],
    ['HTTP/1.1 204 No Content', { status: 204, contentLength: 0, close: false }],
  ])('%j', (head, expected) => {
    expect(parseHead(head)).toMatchObject(expected);
  });

  it.each([
    ['SSH-2.0-OpenSSH'],
    ['HTTP/1.1 200 OK\r\nContent-Length: -1'],
    ['HTTP/1.1 200 OK\r\nContent-Length: x'],
  ])('refuses %j', (head) => {
    expect(parseHead(head)).toHaveProperty('error');
  });
});

describe('decodeChunked', () => {
  const b = (s: string) => Buffer.from(s, 'latin1');
  it('joins chunks, skipping extensions and trailers', () => {
    const r = decodeChunked(b('3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n'));
    expect(r).toEqual({ body: b('abcde'), used: 34 });
  });
  it.each([[''], ['3\r\nab'], ['3\r\nabc\r\n'], ['3\r\nabc\r\n0\r\n']])('incomplete %j', (s) => {
    expect(decodeChunked(b(s))).toBeUndefined();
  });
  it('refuses a bad size', () => {
    expect(decodeChunked(b('zz\r\n'))).toHaveProperty('error');
  });
});

describe('KeepAliveGet against real servers', () => {
  let server: http.Server;
  let port: number;
  const sockets = new Set<net.Socket>();
  let mode: 'length' | 'chunked' | 'status' | 'hang' | 'close' = 'length';
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (mode === 'hang') return;
      if (mode === 'status') {
        res.writeHead(503);
        return res.end('busy');
      }
      if (mode === 'chunked') {
        res.write('a 1\n');
        setTimeout(() => res.end('b 2\n'), 5);
        return;
      }
      if (mode === 'close') res.setHeader('connection', 'close');
      res.end(`path ${req.url}\n`);
    });
    server.on('connection', (s: net.Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('reuses one connection, reads chunked bodies, reports other statuses, reconnects after a close', async () => {
    const c = new KeepAliveGet({ host: '127.0.0.1', port, path: '/metrics' });
    try {
      mode = 'length';
      expect((await c.get(10_000)).toString()).toBe('path /metrics\n');
      expect((await c.get(10_000)).toString()).toBe('path /metrics\n');
      expect(sockets.size).toBe(1);
      mode = 'chunked';
      expect((await c.get(10_000)).toString()).toBe('a 1\nb 2\n');
      mode = 'status';
      await expect(c.get(10_000)).rejects.toThrow('HTTP 503');
      mode = 'close';
      expect((await c.get(10_000)).toString()).toBe('path /metrics\n');
      // The server closed that connection; an idle one closed by the server is replaced on the next GET too.
      mode = 'length';
      expect((await c.get(10_000)).toString()).toBe('path /metrics\n');
      for (const s of sockets) s.destroy();
      await new Promise((r) => setTimeout(r, 50));
      expect((await c.get(10_000)).toString()).toBe('path /metrics\n');
    } finally {
      c.close();
    }
  });

  it('times out a server that never answers, then works on a fresh connection', async () => {
    const c = new KeepAliveGet({ host: '127.0.0.1', port, path: '/m' });
    try {
      mode = 'hang';
      await expect(c.get(100)).rejects.toThrow('timeout after 100 ms');
      mode = 'length';
      expect((await c.get(10_000)).toString()).toBe('path /m\n');
    } finally {
      c.close();
    }
  });

  const rawServer = async (answer: string) => {
    const raw = net.createServer((s) => s.once('data', () => s.end(answer)));
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    return { raw, port: (raw.address() as AddressInfo).port };
  };

  it('reads a body framed by the close, and fails on garbage and on refused connections', async () => {
    const framed = await rawServer('HTTP/1.1 200 OK\r\n\r\nuntil close');
    const garbage = await rawServer('not http\r\n\r\n');
    try {
      const c = new KeepAliveGet({ host: '127.0.0.1', port: framed.port, path: '/' });
      expect((await c.get(10_000)).toString()).toBe('until close');
      c.close();
      const g = new KeepAliveGet({ host: '127.0.0.1', port: garbage.port, path: '/' });
      await expect(g.get(10_000)).rejects.toThrow('bad HTTP status line');
      g.close();
      const free = await new Promise<number>((r) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => {
          const p = (s.address() as AddressInfo).port;
          s.close(() => r(p));
        });
      });
      const refused = new KeepAliveGet({ host: '127.0.0.1', port: free, path: '/' });
      await expect(refused.get(10_000)).rejects.toThrow(/ECONNREFUSED/);
      refused.close();
    } finally {
      await new Promise((r) => framed.raw.close(r));
      await new Promise((r) => garbage.raw.close(r));
    }
  });
});
