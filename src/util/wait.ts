// Waiting on things that start and stop: polling a probe with a deadline, stopping a child process, and the two
// readiness probes the local stack, tests and benchmarks use. One copy of each, bounded in time.

import type { ChildProcess } from 'node:child_process';
import * as net from 'node:net';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface WaitOptions {
  timeoutMs?: number;
  everyMs?: number;
  /** Checked before each probe: a reason to give up at once (e.g. the process being waited on exited). */
  abortIf?: () => string | undefined;
}

/**
 * Polls `probe` until it returns something other than undefined or false. A probe that throws counts as "not yet";
 * on timeout the error names `what` and the last failure.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  o: WaitOptions = {},
): Promise<T> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const abort = o.abortIf?.();
    if (abort) throw new Error(`${what}: ${abort}`);
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(o.everyMs ?? 50);
  }
}

/** Stops a child: `signal` (SIGTERM), then SIGKILL after `killAfterMs`; resolves when it has exited. */
export async function stopProcess(
  child: ChildProcess,
  o: { signal?: NodeJS.Signals; killAfterMs?: number } = {},
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), o.killAfterMs ?? 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(o.signal ?? 'SIGTERM');
  });
}

/** True when `url` answers 2xx within 2 s (the body is drained). */
export async function httpOk(url: string, init: RequestInit = {}): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000), ...init });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** True when a TCP connection to host:port opens within 1 s. */
export function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}
