// Table of invalid inputs: every problem's file, document and field path, and which resources survive.

import { loadPaths, type ResourceSet } from '../../src/api';
import { type Expected, expectProblems, fixture } from './helpers';

interface Case {
  file: string;
  problems: Expected[];
  /** "Kind namespace/name" of every resource that must still load. */
  survivors: string[];
}

const CASES: Case[] = [
  {
    file: 'inferencepool-errors.yaml',
    problems: [
      {
        document: 0,
        path: 'spec.targetPorts[1].number',
        message: 'duplicate value 8000',
        resource: 'InferencePool default/dup-ports',
      },
      { document: 1, path: 'spec.targetPorts', message: 'at most 8 items, got 9' },
      { document: 2, path: 'spec.selector', message: 'required' },
      { document: 3, path: 'spec.endpointPickerRef.port', message: 'required when kind is Service' },
      { document: 4, path: 'spec.endpointPickerRef.failureMode', message: 'unsupported value "FailOpenish"' },
      { document: 5, path: 'spec.targetPort', message: 'unknown field' },
      { document: 5, path: 'spec.targetPorts', message: 'required' },
    ],
    survivors: ['InferencePool models/good'],
  },
  {
    file: 'inferencepool-v1alpha2.yaml',
    problems: [
      { document: 2, path: 'spec.targetPorts', message: 'unknown field' },
      { document: 2, path: 'spec.targetPortNumber', message: 'required' },
    ],
    survivors: [
      'InferencePool models/legacy',
      'InferencePool models/legacy',
      'InferencePool models/legacy-no-epp',
    ],
  },
  {
    file: 'httproute-errors.yaml',
    problems: [
      { document: 0, path: 'spec.rules[0].backendRefs[0].port', message: 'required for a Service backend' },
      {
        document: 0,
        path: 'spec.rules[0].backendRefs[1].weight',
        message: '1000001 is out of range 0..1000000',
      },
      { document: 1, path: 'spec.hostnames[0]', message: 'not an IP address' },
      { document: 1, path: 'spec.rules[0].matches[3].cookie', message: 'unknown field' },
      { document: 1, path: 'spec.rules[0].matches[0].path.value', message: 'must be an absolute path' },
      { document: 1, path: 'spec.rules[0].matches[1].path.value', message: 'lookahead and lookbehind' },
      { document: 1, path: 'spec.rules[0].matches[2].path.value', message: 'must not contain "//"' },
      { document: 1, path: 'spec.rules[0].matches[2].method', message: 'unsupported value "FETCH"' },
      { document: 1, path: 'spec.rules[0].matches[3].headers[0].name', message: 'valid HTTP header name' },
      { document: 1, path: 'spec.rules[0].matches[3].headers[2].name', message: 'duplicate value x-model' },
      {
        document: 1,
        path: 'spec.rules[0].matches[3].queryParams[0].type',
        message: 'unsupported value "Prefix"',
      },
      {
        document: 2,
        path: 'spec.rules[0].filters[0].urlRewrite',
        message: 'must not be set when type is RequestRedirect',
      },
      {
        document: 2,
        path: 'spec.rules[0].filters[0].requestRedirect',
        message: 'required when type is RequestRedirect',
      },
      {
        document: 2,
        path: 'spec.rules[0].filters[2].requestHeaderModifier.add[0].name',
        message: 'duplicate value x-a',
      },
      { document: 2, path: 'spec.rules[0].filters[3].type', message: 'unsupported value "Bogus"' },
      {
        document: 2,
        path: 'spec.rules[0].filters',
        message: 'RequestRedirect and URLRewrite filters cannot be used together',
      },
      { document: 2, path: 'spec.rules[0].matches', message: 'exactly one match, of type PathPrefix' },
      {
        document: 2,
        path: 'spec.rules[1].filters[0].requestRedirect.statusCode',
        message: 'unsupported value 304',
      },
      {
        document: 2,
        path: 'spec.rules[1].filters[0].requestRedirect.scheme',
        message: 'unsupported value "ftp"',
      },
      {
        document: 2,
        path: 'spec.rules[1].timeouts.backendRequest',
        message: 'longer than the request timeout',
      },
      { document: 2, path: 'spec.rules[1].filters', message: 'must not be used together with backendRefs' },
      { document: 2, path: 'spec.rules[2].timeouts.request', message: 'must be a duration' },
    ],
    survivors: ['HTTPRoute default/good'],
  },
  {
    file: 'gateway-errors.yaml',
    problems: [
      { document: 0, path: 'spec.listeners[0].tls', message: 'must not be set for protocol HTTP' },
      { document: 0, path: 'spec.listeners[1].port', message: '0 is out of range 1..65535' },
      { document: 0, path: 'spec.listeners[2].tls', message: 'required for protocol HTTPS' },
      { document: 0, path: 'spec.listeners[3].tls.mode', message: 'must be Terminate' },
      {
        document: 0,
        path: 'spec.listeners[3].tls.certificateRefs',
        message: 'required when mode is Terminate',
      },
      { document: 0, path: 'spec.listeners[4].protocol', message: 'unsupported value "GRPC"' },
      { document: 0, path: 'spec.listeners[5].hostname', message: 'not an IP address' },
      {
        document: 0,
        path: 'spec.listeners[6].allowedRoutes.namespaces.from',
        message: 'unsupported value "Everywhere"',
      },
      { document: 0, path: 'spec.listeners[1].name', message: 'duplicate value http' },
      { document: 0, path: 'spec.listeners[3]', message: 'duplicate value port 443, protocol HTTPS' },
      { document: 0, path: 'spec.listeners[7]', message: 'duplicate value port 80, protocol HTTP' },
      {
        document: 1,
        path: 'metadata.name',
        message: 'lowercase RFC 1123 subdomain',
        resource: 'Gateway default/Bad_Name',
      },
      { document: 1, path: 'spec.listeners', message: 'at least 1 items' },
      { document: 1, path: 'spec.gatewayClassName', message: 'required' },
    ],
    survivors: ['Gateway default/good'],
  },
  {
    file: 'referencegrant-errors.yaml',
    problems: [
      { document: 0, path: 'spec.from', message: 'required', resource: 'ReferenceGrant backends/no-from' },
      { document: 1, path: 'spec.from', message: 'must have at least 1 items' },
      { document: 1, path: 'spec.to[0].group', message: 'required' },
      {
        document: 2,
        path: 'spec.from[0].kind',
        message: 'invalid value "1HTTPRoute": must start with a letter',
      },
      { document: 2, path: 'spec.from[0].namespace', message: 'lowercase RFC 1123 label' },
      { document: 2, path: 'spec.to[0].namespace', message: 'unknown field' },
      { document: 2, path: 'spec.to[0].group', message: 'lowercase RFC 1123 subdomain' },
      { document: 2, path: 'spec.to[0].name', message: 'must not be empty' },
      {
        document: 3,
        message: 'unsupported kind ReferenceGrant (apiVersion gateway.networking.k8s.io/v1alpha2)',
        severity: 'warning',
      },
    ],
    survivors: ['ReferenceGrant backends/good'],
  },
  {
    file: 'inference-errors.yaml',
    problems: [
      {
        document: 0,
        path: 'spec.targetModels',
        message: 'weights must be set on all targetModels or on none',
      },
      { document: 0, path: 'spec.criticality', message: 'unsupported value "Important"' },
      { document: 1, path: 'spec.rules[0].matches[0].model.type', message: 'must be one of Exact' },
      { document: 1, path: 'spec.rules[0].matches[0].model.value', message: 'must not be empty' },
      { document: 1, path: 'spec.rules[0].targets', message: 'at least 1 items' },
      { document: 2, path: 'spec.priority', message: 'must be an integer' },
      { document: 2, path: 'spec.poolRef.name', message: 'required' },
    ],
    survivors: ['InferenceModel models/legacy'],
  },
  {
    file: 'core-errors.yaml',
    problems: [
      { document: 0, path: 'data[tls.crt]', message: 'must be base64' },
      { document: 0, path: 'data', message: 'tls.key is required' },
      { document: 1, path: 'status.podIP', message: 'must be an IPv4 or IPv6 address' },
      { document: 2, path: 'addressType', message: 'unsupported value "IPv5"' },
      { document: 2, path: 'endpoints[0].addresses', message: 'at least 1 items' },
      { document: 3, path: 'metadata.name', message: 'at most 63 characters' },
      { document: 3, path: 'spec.externalName', message: 'required when type is ExternalName' },
      { document: 3, path: 'spec.ports[0].port', message: 'out of range' },
    ],
    survivors: [],
  },
  {
    file: 'unknown.yaml',
    problems: [
      {
        document: 0,
        message: 'unsupported kind Deployment (apiVersion apps/v1): ignored',
        severity: 'warning',
      },
      {
        document: 1,
        message: 'unsupported kind InferencePool (apiVersion inference.networking.k8s.io/v1alpha1)',
        severity: 'warning',
      },
      { document: 2, path: 'kind', message: 'required' },
      { document: 3, path: 'surprise', message: 'unknown field', resource: 'Namespace ns' },
      { document: 3, path: 'metadata.extra', message: 'unknown field' },
      { document: 3, path: 'metadata.labels[bad key!]', message: 'invalid key "bad key!"' },
      { document: 4, message: 'a resource must be an object' },
    ],
    survivors: [],
  },
  {
    file: 'syntax-error.yaml',
    problems: [{ document: 1, message: 'YAML syntax error at line 10:14' }],
    survivors: ['Service default/after', 'Service default/before'],
  },
  {
    file: 'duplicate.yaml',
    problems: [
      {
        document: 1,
        message: 'duplicate resource: already defined in test/testdata/api/duplicate.yaml document 0',
        resource: 'Service default/svc',
      },
    ],
    survivors: ['Service default/svc', 'Service other/svc'],
  },
  {
    file: 'list.json',
    problems: [
      { document: 1, path: 'spec.targetPorts[0].number', message: '70000 is out of range' },
      { document: 2, message: 'unsupported kind Deployment', severity: 'warning' },
    ],
    survivors: ['Service default/epp'],
  },
  {
    file: 'array.json',
    problems: [{ document: 1, path: 'metadata.name', message: 'lowercase RFC 1123 label' }],
    survivors: ['Namespace models'],
  },
  {
    file: 'bad.json',
    problems: [{ document: 0, message: 'YAML syntax error at line 4:1' }],
    survivors: [],
  },
];

function names(set: ResourceSet): string[] {
  return Object.values(set)
    .flat()
    .map((r) =>
      r.metadata.namespace
        ? `${r.kind} ${r.metadata.namespace}/${r.metadata.name}`
        : `${r.kind} ${r.metadata.name}`,
    )
    .sort();
}

describe.each(CASES)('$file', ({ file, problems, survivors }) => {
  const result = loadPaths([fixture(file)]);

  it('reports every problem with its document and field path', () => {
    expectProblems(result.problems, fixture(file), problems);
  });

  it('keeps the valid documents', () => {
    expect(names(result.resources)).toEqual(survivors);
  });
});
