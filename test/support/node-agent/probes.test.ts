// The node agent's readiness probes against real servers: gRPC health (SERVING / NOT_SERVING / down), TCP, HTTP.

import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import { probeOnce } from './probes';

const asPort = (p: number | string) => Number(p);

test('gRPC health: SERVING passes, NOT_SERVING and a stopped server fail', async () => {
  let status = 1;
  const server = new grpc.Server();
  server.register(
    '/grpc.health.v1.Health/Check',
    (_call: unknown, cb: (err: null, reply: Buffer) => void) => cb(null, Buffer.from([0x08, status])),
    (b: Buffer) => b,
    (b: Buffer) => b,
    'unary',
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const probe = { grpc: { port } };
  expect(await probeOnce(probe, '127.0.0.1', asPort)).toBe(true);
  status = 2;
  expect(await probeOnce(probe, '127.0.0.1', asPort)).toBe(false);
  server.forceShutdown();
  expect(await probeOnce(probe, '127.0.0.1', asPort)).toBe(false);
});

test('HTTP passes on 2xx only and TCP on an open port only', async () => {
  const server = http.createServer((q, s) => {
    s.statusCode = q.url === '/ok' ? 200 : 503;
    s.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  expect(await probeOnce({ httpGet: { path: '/ok', port } }, '127.0.0.1', asPort)).toBe(true);
  expect(await probeOnce({ httpGet: { path: '/bad', port } }, '127.0.0.1', asPort)).toBe(false);
  expect(await probeOnce({ tcpSocket: { port: 'http' } }, '127.0.0.1', () => port)).toBe(true);
  await new Promise((resolve) => server.close(resolve));
  expect(await probeOnce({ tcpSocket: { port } }, '127.0.0.1', asPort)).toBe(false);
});
