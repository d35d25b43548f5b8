// Pool membership as a pure function: Ready pods matching the InferencePool selector × its targetPorts (restricted
// by the active-ports annotation), named "<pod>-rank-<i>" as the reference EPP names them.

import { ACTIVE_PORTS_ANNOTATION, type InferencePool, type Pod } from '../../api/types';
import type { Endpoint } from '../types';

/** PodReady=True, not being deleted, and an IP assigned. */
export function isPodReady(pod: Pod): boolean {
  if (pod.metadata.deletionTimestamp) return false;
  if (!pod.status?.podIP) return false;
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function matchesSelector(
  labels: Record<string, string> | undefined,
  selector: Record<string, string>,
): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}

/** The ports listed in the active-ports annotation, or undefined when it is absent or empty. */
export function activePorts(pod: Pod): Set<number> | undefined {
  const raw = pod.metadata.annotations?.[ACTIVE_PORTS_ANNOTATION];
  if (!raw || raw.trim() === '') return undefined;
  const ports = new Set<number>();
  for (const part of raw.split(',')) {
    const n = Number(part.trim());
    if (Number.isInteger(n) && n > 0 && n < 65536) ports.add(n);
  }
  return ports;
}

export function endpointKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Every endpoint of the pool, sorted by pod name then rank (deterministic for tests and logs). */
export function poolEndpoints(pool: InferencePool, pods: readonly Pod[]): Endpoint[] {
  const out: Endpoint[] = [];
  const ns = pool.metadata.namespace;
  const selector = pool.spec.selector.matchLabels;
  for (const pod of pods) {
    if (pod.metadata.namespace !== ns || !matchesSelector(pod.metadata.labels, selector) || !isPodReady(pod))
      continue;
    const active = activePorts(pod);
    const address = pod.status!.podIP!;
    pool.spec.targetPorts.forEach(({ number: port }, i) => {
      if (active && !active.has(port)) return;
      out.push({
        name: `${pod.metadata.name}-rank-${i}`,
        pod: pod.metadata.name,
        namespace: ns,
        address,
        port,
        key: endpointKey(address, port),
        labels: pod.metadata.labels ?? {},
      });
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
