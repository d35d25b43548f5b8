// Readiness probes as the kubelet runs them: HTTP GET (2xx/3xx), TCP connect, gRPC health (SERVING).

import { ServingStatus, checkHealth } from '../../../src/epp/server/health';
import * as http from 'node:http';
import * as net from 'node:net';

export interface Probe {
  httpGet?: { path?: string; port: number | string; scheme?: string };
  tcpSocket?: { port: number | string };
  grpc?: { port: number; service?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
}

/** One probe attempt against HOST; PORT names are resolved by the caller. */
export function probeOnce(p: Probe, host: string, port: (p: number | string) => number): Promise<boolean> {
  const timeoutMs = (p.timeoutSeconds ?? 1) * 1000;
  if (p.httpGet) return httpProbe(host, port(p.httpGet.port), p.httpGet.path ?? '/', timeoutMs);
  if (p.tcpSocket) return tcpProbe(host, port(p.tcpSocket.port), timeoutMs);
  if (p.grpc) return grpcProbe(host, p.grpc.port, p.grpc.service ?? '', timeoutMs);
  return Promise.resolve(true);
}

function httpProbe(host: string, port: number, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: timeoutMs });
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('timeout', () => s.destroy());
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(false));
  });
}

function grpcProbe(host: string, port: number, service: string, timeoutMs: number): Promise<boolean> {
  return checkHealth(`${host}:${port}`, service, timeoutMs).then(
    (status) => status === ServingStatus.SERVING,
    () => false,
  );
}
