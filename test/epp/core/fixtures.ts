// Shared builders for the decision-core tests: endpoint states, parsed requests and a datastore fed in memory.

import { emptyResourceSet, type InferencePool, type Pod, type ResourceSet } from '../../../src/api/types';
import { Datastore } from '../../../src/epp/datastore/datastore';
import type { EndpointMetrics, EndpointState, ParsedRequest, RequestInput } from '../../../src/epp/types';

export function metrics(over: Partial<EndpointMetrics> = {}): EndpointMetrics {
  return {
    waitingQueueSize: 0,
    runningRequestsSize: 0,
    kvCacheUsagePercent: 0,
    activeModels: [],
    waitingModels: [],
    maxActiveModels: 0,
    updateTime: 1_000_000,
    ...over,
  };
}

export function state(i: number, m?: Partial<EndpointMetrics>, port = 8000): EndpointState {
  const address = `10.0.0.${i}`;
  return {
    endpoint: {
      name: `pod-${i}-rank-0`,
      pod: `pod-${i}`,
      namespace: 'default',
      address,
      port,
      key: `${address}:${port}`,
      labels: {},
    },
    metrics: m ? metrics(m) : undefined,
  };
}

export function pool(name = 'pool', ports = [8000], selector = { app: 'vllm' }): InferencePool {
  return {
    apiVersion: 'inference.networking.k8s.io/v1',
    kind: 'InferencePool',
    metadata: { name, namespace: 'default' },
    spec: { selector: { matchLabels: selector }, targetPorts: ports.map((number) => ({ number })) },
  };
}

export function pod(
  name: string,
  ip: string,
  opts: {
    ready?: boolean;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deleting?: boolean;
  } = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      labels: opts.labels ?? { app: 'vllm' },
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
      ...(opts.deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}),
    },
    status: { podIP: ip, conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }] },
  };
}

/** A datastore holding a pool with `n` ready pods 10.0.0.1..n on port 8000. */
export function datastoreWith(n: number, extra: (rs: ResourceSet) => void = () => {}): Datastore {
  const rs = emptyResourceSet();
  rs.inferencePools.push(pool());
  for (let i = 1; i <= n; i++) rs.pods.push(pod(`pod-${i}`, `10.0.0.${i}`));
  extra(rs);
  const ds = new Datastore({ name: 'pool', namespace: 'default' });
  ds.apply(rs);
  return ds;
}

export function parsed(model: string, prompt = 'hello', body: Record<string, unknown> = {}): ParsedRequest {
  return {
    api: 'completions',
    model,
    stream: false,
    body: { model, prompt, ...body },
    prefixInput: new TextEncoder().encode(prompt),
  };
}

export function input(model: string, over: Partial<RequestInput> = {}, prompt = 'hello'): RequestInput {
  return {
    stream: {},
    requestId: `r-${Math.random()}`,
    headers: {},
    path: '/v1/completions',
    parsed: parsed(model, prompt),
    ...over,
  };
}

/** An EndpointPickerConfig that opts in to header-based-testing-filter (test-epp-endpoint-selection pins pods). */
export const TESTING_FILTER_CONFIG = `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: header-based-testing-filter
- type: queue-scorer
schedulingProfiles:
- name: default
  plugins: [{pluginRef: header-based-testing-filter}, {pluginRef: queue-scorer}]
`;
