// bench/epp-memory/flow-queue.ts: heap per request queued by flow control. A director with the flowControl gate
// and an empty pool (scale from zero: every request queues) takes N requests through decide(); what the stream
// already holds (the RequestInput, its parsed body, its AbortController) is allocated before the baseline, so the
// delta is what queueing itself costs: the controller's item, its heap slots, the abort listener, the pending
// decision promise and its closures. Run:
//   node --expose-gc -r ts-node/register/transpile-only bench/epp-memory/flow-queue.ts [N]

import { emptyResourceSet } from '../../src/api/types';
import { parseEndpointPickerConfig } from '../../src/epp/config/loader';
import { Datastore } from '../../src/epp/datastore/datastore';
import { createDirector } from '../../src/epp/director';
import { EppMetrics } from '../../src/epp/observability/metrics';
import type { RequestInput } from '../../src/epp/types';

const gc = (globalThis as { gc?: () => void }).gc;

function heap(): number {
  for (let i = 0; i < 4; i++) gc?.();
  return process.memoryUsage().heapUsed;
}

export async function main(args: string[]): Promise<void> {
  if (!gc) throw new Error('run with node --expose-gc');
  const n = Number(args[0] ?? 10000);
  const rs = emptyResourceSet();
  rs.inferencePools.push({
    apiVersion: 'inference.networking.k8s.io/v1',
    kind: 'InferencePool',
    metadata: { name: 'pool', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'x' } }, targetPorts: [{ number: 8000 }] },
  });
  const ds = new Datastore({ name: 'pool', namespace: 'default' });
  ds.apply(rs);
  const config = parseEndpointPickerConfig(
    'apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\nfeatureGates: [flowControl]\n' +
      'flowControl: {defaultRequestTTL: 1h}\n',
    {},
  );
  const director = createDirector({ datastore: ds, config, metrics: new EppMetrics() });
  const prompt = 'x'.repeat(1000);
  const inputs: RequestInput[] = [];
  const aborts: AbortController[] = [];
  for (let i = 0; i < n; i++) {
    const ac = new AbortController();
    aborts.push(ac);
    const body = { model: 'm', prompt };
    inputs.push({
      stream: {},
      requestId: `r${i}`,
      headers: { 'x-gateway-inference-fairness-id': `tenant-${i % 10}` },
      path: '/v1/completions',
      parsed: { api: 'completions', model: 'm', stream: false, body, prefixInput: Buffer.from(prompt) },
      signal: ac.signal,
      bodyBytes: 1024,
    });
  }
  // One request through first, so lazily created label children and bands are not counted per request.
  void director.decide({ ...inputs[0], stream: {}, signal: new AbortController().signal });
  const before = heap();
  const pending = inputs.map((input) => director.decide(input));
  await new Promise((r) => setImmediate(r));
  const after = heap();
  const queued = director.flowControl?.size ?? 0;
  const perRequest = (after - before) / n;
  console.log(
    JSON.stringify({
      requests: n,
      queued,
      heapDeltaBytes: after - before,
      bytesPerQueuedRequest: Math.round(perRequest),
    }),
  );
  for (const ac of aborts) ac.abort();
  await Promise.all(pending);
  director.close();
}

if (require.main === module) void main(process.argv.slice(2));
