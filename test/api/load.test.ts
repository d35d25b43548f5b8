// Valid inputs: defaults, conversion, ordering, and how files and directories are found.

import { join } from 'node:path';
import { loadPaths, parseText } from '../../src/api';
import { fixture } from './helpers';

describe('valid.yaml', () => {
  const { resources, problems } = loadPaths([fixture('valid.yaml')]);

  it('loads every supported kind and only warns about the Deployment', () => {
    expect(problems).toEqual([
      expect.objectContaining({
        severity: 'warning',
        document: 12,
        message: expect.stringContaining('Deployment'),
      }),
    ]);
    const counts = Object.fromEntries(Object.entries(resources).map(([k, v]) => [k, v.length]));
    expect(counts).toEqual({
      gatewayClasses: 1,
      gateways: 1,
      httpRoutes: 1,
      referenceGrants: 2,
      inferencePools: 1,
      inferenceObjectives: 1,
      inferenceModelRewrites: 1,
      inferenceModels: 0,
      services: 1,
      endpointSlices: 1,
      pods: 1,
      secrets: 1,
      namespaces: 1,
    });
  });

  it('records the source and defaults the namespace (but not for cluster-scoped kinds)', () => {
    const [gw] = resources.gateways;
    expect(gw.source).toEqual({ file: fixture('valid.yaml'), document: 1 });
    expect(gw.metadata.namespace).toBe('default');
    expect(resources.gatewayClasses[0].metadata.namespace).toBe('');
    expect(resources.namespaces[0].metadata.namespace).toBe('');
    // The empty document between two "---" still counts.
    expect(resources.httpRoutes[0].source?.document).toBe(3);
  });

  it('applies Gateway defaults', () => {
    const [http, https] = resources.gateways[0].spec.listeners;
    expect(http.allowedRoutes).toEqual({ namespaces: { from: 'Same' } });
    expect(https.tls).toEqual({
      mode: 'Terminate',
      certificateRefs: [{ group: '', kind: 'Secret', name: 'gateway-cert' }],
    });
  });

  it('applies HTTPRoute defaults', () => {
    const spec = resources.httpRoutes[0].spec;
    expect(spec.parentRefs).toEqual([
      {
        group: 'gateway.networking.k8s.io',
        kind: 'Gateway',
        namespace: 'default',
        name: 'inference-gateway',
      },
    ]);
    const [pool, fallback] = spec.rules ?? [];
    expect(pool.matches).toEqual([{ path: { type: 'PathPrefix', value: '/' } }]);
    expect(pool.backendRefs).toEqual([
      { group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'vllm-qwen3-32b', weight: 1 },
    ]);
    expect(fallback.matches).toEqual([
      {
        path: { type: 'PathPrefix', value: '/' },
        headers: [{ type: 'Exact', name: 'x-model', value: 'qwen' }],
        method: 'POST',
      },
    ]);
    expect(fallback.backendRefs).toEqual([
      { group: '', kind: 'Service', name: 'fallback', port: 8000, weight: 10 },
    ]);
  });

  it('applies Inference Extension defaults', () => {
    expect(resources.inferencePools[0].spec).toEqual({
      selector: { matchLabels: { app: 'vllm-qwen3-32b' } },
      targetPorts: [{ number: 8000 }, { number: 8001 }],
      appProtocol: 'http',
      endpointPickerRef: {
        group: '',
        kind: 'Service',
        name: 'vllm-qwen3-32b-epp',
        port: { number: 9002 },
        failureMode: 'FailClose',
      },
    });
    expect(resources.inferenceObjectives[0].spec.poolRef).toEqual({
      group: 'inference.networking.k8s.io',
      kind: 'InferencePool',
      name: 'vllm-qwen3-32b',
    });
    expect(resources.inferenceModelRewrites[0].spec.rules[0].matches).toEqual([
      { model: { type: 'Exact', value: 'food-review' } },
    ]);
  });

  it('merges Secret stringData into data as base64', () => {
    expect(resources.secrets[0].data).toEqual({
      'tls.crt': 'Y2VydA==',
      'tls.key': Buffer.from('key').toString('base64'),
    });
  });

  it('reads ReferenceGrants of v1beta1 and v1, a `to` without name meaning every object of its kind', () => {
    expect(resources.referenceGrants.map((g) => [g.apiVersion, g.metadata.namespace, g.spec])).toEqual([
      [
        'gateway.networking.k8s.io/v1',
        'certs',
        {
          from: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'default' }],
          to: [{ group: '', kind: 'Secret' }],
        },
      ],
      [
        'gateway.networking.k8s.io/v1beta1',
        'models',
        {
          from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'apps' }],
          to: [
            { group: 'inference.networking.k8s.io', kind: 'InferencePool' },
            { group: '', kind: 'Service', name: 'vllm-qwen3-32b-epp' },
          ],
        },
      ],
    ]);
  });

  it('reads Pod status and container ports, ignoring the rest', () => {
    const [pod] = resources.pods;
    expect(pod.spec).toEqual({ containers: [{ name: 'vllm', ports: [{ containerPort: 8000 }] }] });
    expect(pod.status).toEqual({
      podIP: '10.0.0.5',
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
    });
  });
});

describe('v1alpha2 InferencePool', () => {
  const { resources } = loadPaths([fixture('inferencepool-v1alpha2.yaml')]);

  it('converts to the v1 shape and keeps the original apiVersion', () => {
    const legacy = resources.inferencePools.find((p) => p.originalApiVersion && p.metadata.name === 'legacy');
    expect(legacy).toMatchObject({
      apiVersion: 'inference.networking.k8s.io/v1',
      originalApiVersion: 'inference.networking.x-k8s.io/v1alpha2',
    });
    expect(legacy?.spec).toEqual({
      selector: { matchLabels: { app: 'vllm-llama3-8b' } },
      targetPorts: [{ number: 8000 }],
      appProtocol: 'http',
      // portNumber defaults to 9002, the EPP's gRPC port.
      endpointPickerRef: {
        group: '',
        kind: 'Service',
        name: 'legacy-epp',
        port: { number: 9002 },
        failureMode: 'FailOpen',
      },
    });
    const noEpp = resources.inferencePools.find((p) => p.metadata.name === 'legacy-no-epp');
    expect(noEpp?.spec.endpointPickerRef).toBeUndefined();
  });

  it('lets a v1 and a v1alpha2 pool share a name, sorted by namespace, name, then apiVersion', () => {
    expect(
      resources.inferencePools.map((p) => [p.metadata.name, p.originalApiVersion ?? p.apiVersion]),
    ).toEqual([
      ['legacy', 'inference.networking.k8s.io/v1'],
      ['legacy', 'inference.networking.x-k8s.io/v1alpha2'],
      ['legacy-no-epp', 'inference.networking.x-k8s.io/v1alpha2'],
    ]);
  });
});

describe('loadPaths', () => {
  it('walks directories recursively in path order, skipping dot-entries and other extensions', () => {
    const dir = fixture('dir');
    const { resources, problems } = loadPaths([dir]);
    expect(problems).toEqual([]);
    expect(resources.services.map((s) => [s.metadata.name, s.source?.file])).toEqual([
      ['a', join(dir, 'nested', 'a.yml')],
      ['b', join(dir, 'b.yaml')],
      ['c', join(dir, 'a.json')],
    ]);
  });

  it('reports a missing path and still loads the rest', () => {
    const missing = fixture('no-such-file.yaml');
    const { resources, problems } = loadPaths([missing, fixture('dir')]);
    expect(problems).toEqual([{ file: missing, message: 'cannot read: ENOENT', severity: 'error' }]);
    expect(resources.services).toHaveLength(3);
  });

  it('reads a file named twice only once', () => {
    const f = fixture('duplicate.yaml');
    expect(loadPaths([f, f]).problems).toHaveLength(1);
  });
});

describe('parseText', () => {
  it('sorts each kind by namespace, then name', () => {
    const text = ['b/z', 'a/y', 'b/a']
      .map((nn) => nn.split('/'))
      .map(
        ([ns, name]) =>
          `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: {ports: [{port: 80}]}\n`,
      )
      .join('---\n');
    const { resources } = parseText(text, 'inline.yaml');
    expect(resources.services.map((s) => `${s.metadata.namespace}/${s.metadata.name}`)).toEqual([
      'a/y',
      'b/a',
      'b/z',
    ]);
  });

  it('skips empty documents and comment-only files', () => {
    expect(parseText('# nothing here\n---\n---\n', 'empty.yaml')).toEqual({
      resources: expect.objectContaining({ services: [] }),
      problems: [],
    });
  });

  it('reads a single JSON object', () => {
    const text = JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } });
    const { resources, problems } = parseText(text, 'ns.json');
    expect(problems).toEqual([]);
    expect(resources.namespaces[0].source).toEqual({ file: 'ns.json', document: 0 });
  });

  it('numbers the items of a kind: List in YAML by element', () => {
    const text =
      'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n- {apiVersion: v1, kind: Namespace, metadata: {name: B}}\n';
    const { resources, problems } = parseText(text, 'list.yaml');
    expect(resources.namespaces.map((n) => n.metadata.name)).toEqual(['a']);
    expect(problems).toEqual([expect.objectContaining({ document: 1, path: 'metadata.name' })]);
  });

  it('rejects duplicate mapping keys (strict YAML)', () => {
    const { problems } = parseText(
      'apiVersion: v1\nkind: Namespace\nkind: Namespace\nmetadata: {name: a}\n',
      'dup.yaml',
    );
    expect(problems).toEqual([
      expect.objectContaining({
        document: 0,
        severity: 'error',
        message: expect.stringMatching(/^YAML syntax error at line 3:1: duplicated mapping key/),
      }),
    ]);
  });
});
