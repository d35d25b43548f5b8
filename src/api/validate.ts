// One document → one typed, defaulted resource (or problems). The registry below is the list of kinds and
// apiVersions infergate reads; anything else is skipped with a warning, since a directory of manifests
// usually holds Deployments and ConfigMaps too.

import { decodeEndpointSlice, decodePodSpec, decodePodStatus, decodeSecret, decodeServiceSpec } from './core';
import { ANY, Ctx, type Obj, isJson, readObj } from './decode';
import { decodeGatewayClassSpec, decodeGatewaySpec } from './gateway';
import { decodeHTTPRouteSpec } from './httproute';
import { decodeModelRewriteSpec, decodeModelSpec, decodeObjectiveSpec } from './inference';
import { POOL_V1ALPHA2_FIELDS, POOL_V1_FIELDS, decodePoolV1, decodePoolV1alpha2 } from './inferencepool';
import { decodeMeta, peekName } from './meta';
import { REFERENCE_GRANT_FIELDS, decodeReferenceGrantSpec } from './referencegrant';
import {
  GATEWAY_GROUP,
  INFERENCE_GROUP,
  INFERENCE_X_GROUP,
  type Problem,
  type Resource,
  type SourceRef,
} from './types';

type Known = readonly string[] | typeof ANY;

interface KindEntry {
  kind: Resource['kind'];
  apiVersions: string[];
  clusterScoped?: boolean;
  /** Service and Namespace names are DNS labels. */
  nameIsLabel?: boolean;
  /** Top-level fields besides apiVersion, kind, metadata and status. */
  fields: string[];
  /** Known fields of `spec` (required when this is set). */
  spec?: Known;
  /** Builds the resource; `base` holds apiVersion, kind and metadata. */
  decode(top: Obj, spec: Obj | undefined, base: Base): Resource | undefined;
}

type Base = Pick<Resource, 'apiVersion' | 'metadata'>;

const GATEWAY_VERSIONS = [`${GATEWAY_GROUP}/v1`, `${GATEWAY_GROUP}/v1beta1`];
const X_V1ALPHA2 = `${INFERENCE_X_GROUP}/v1alpha2`;

const KINDS: KindEntry[] = [
  {
    kind: 'GatewayClass',
    apiVersions: GATEWAY_VERSIONS,
    clusterScoped: true,
    fields: ['spec'],
    spec: ['controllerName', 'description', 'parametersRef'],
    decode: (_t, s, b) => s && { ...b, kind: 'GatewayClass', spec: decodeGatewayClassSpec(s) },
  },
  {
    kind: 'Gateway',
    apiVersions: GATEWAY_VERSIONS,
    fields: ['spec'],
    spec: [
      'gatewayClassName',
      'listeners',
      'addresses',
      'infrastructure',
      'tls',
      'allowedListeners',
      'backendTLS',
    ],
    decode: (_t, s, b) => s && { ...b, kind: 'Gateway', spec: decodeGatewaySpec(s) },
  },
  {
    kind: 'HTTPRoute',
    apiVersions: GATEWAY_VERSIONS,
    fields: ['spec'],
    spec: ['parentRefs', 'hostnames', 'rules', 'useDefaultGateways'],
    decode: (_t, s, b) => s && { ...b, kind: 'HTTPRoute', spec: decodeHTTPRouteSpec(s) },
  },
  {
    // Since Gateway API v1.5 the CRD serves v1 too; v1beta1 stays the storage version (and is all v1.4 serves).
    kind: 'ReferenceGrant',
    apiVersions: [`${GATEWAY_GROUP}/v1beta1`, `${GATEWAY_GROUP}/v1`],
    fields: ['spec'],
    spec: REFERENCE_GRANT_FIELDS,
    decode: (_t, s, b) => s && { ...b, kind: 'ReferenceGrant', spec: decodeReferenceGrantSpec(s) },
  },
  {
    kind: 'InferencePool',
    apiVersions: [`${INFERENCE_GROUP}/v1`],
    fields: ['spec'],
    spec: POOL_V1_FIELDS,
    decode: (_t, s, b) => s && { ...b, kind: 'InferencePool', spec: decodePoolV1(s) },
  },
  {
    kind: 'InferencePool',
    apiVersions: [X_V1ALPHA2],
    fields: ['spec'],
    spec: POOL_V1ALPHA2_FIELDS,
    // Converted to v1; the user's apiVersion is kept so status and HTTPRoute group matching can use it.
    decode: (_t, s, b) =>
      s && {
        ...b,
        apiVersion: `${INFERENCE_GROUP}/v1`,
        originalApiVersion: b.apiVersion,
        kind: 'InferencePool',
        spec: decodePoolV1alpha2(s),
      },
  },
  {
    kind: 'InferenceObjective',
    apiVersions: [X_V1ALPHA2],
    fields: ['spec'],
    spec: ['priority', 'poolRef'],
    decode: (_t, s, b) => s && { ...b, kind: 'InferenceObjective', spec: decodeObjectiveSpec(s) },
  },
  {
    kind: 'InferenceModelRewrite',
    apiVersions: [X_V1ALPHA2],
    fields: ['spec'],
    spec: ['poolRef', 'rules'],
    decode: (_t, s, b) => s && { ...b, kind: 'InferenceModelRewrite', spec: decodeModelRewriteSpec(s) },
  },
  {
    kind: 'InferenceModel',
    apiVersions: [X_V1ALPHA2],
    fields: ['spec'],
    spec: ['modelName', 'criticality', 'targetModels', 'poolRef'],
    decode: (_t, s, b) => s && { ...b, kind: 'InferenceModel', spec: decodeModelSpec(s) },
  },
  {
    kind: 'Service',
    apiVersions: ['v1'],
    nameIsLabel: true,
    fields: ['spec'],
    spec: ANY,
    decode: (_t, s, b) => s && { ...b, kind: 'Service', spec: decodeServiceSpec(s) },
  },
  {
    kind: 'EndpointSlice',
    apiVersions: ['discovery.k8s.io/v1'],
    fields: ['addressType', 'endpoints', 'ports'],
    decode: (t, _s, b) => ({ ...b, kind: 'EndpointSlice', ...decodeEndpointSlice(t) }),
  },
  {
    kind: 'Pod',
    apiVersions: ['v1'],
    fields: ['spec'],
    decode: (t, _s, b) => {
      const spec = t.obj('spec', ANY);
      const status = t.obj('status', ANY);
      const pod: Resource = { ...b, kind: 'Pod' };
      if (spec) pod.spec = decodePodSpec(spec);
      if (status) pod.status = decodePodStatus(status);
      return pod;
    },
  },
  {
    kind: 'Secret',
    apiVersions: ['v1'],
    fields: ['type', 'data', 'stringData', 'immutable'],
    decode: (t, _s, b) => ({ ...b, kind: 'Secret', ...decodeSecret(t) }),
  },
  {
    kind: 'Namespace',
    apiVersions: ['v1'],
    clusterScoped: true,
    nameIsLabel: true,
    fields: ['spec'],
    decode: (_t, _s, b) => ({ ...b, kind: 'Namespace' }),
  },
];

export function isClusterScoped(kind: string): boolean {
  return KINDS.some((k) => k.kind === kind && k.clusterScoped);
}

/** "Kind namespace/name", or "Kind name" for cluster-scoped kinds: how problems and status name a resource. */
export function resourceName(kind: string, namespace: string, name: string): string {
  return isClusterScoped(kind) ? `${kind} ${name}` : `${kind} ${namespace}/${name}`;
}

export interface ValidateResult {
  /** Undefined when the document had an error or is of a kind infergate does not read. */
  resource?: Resource;
  problems: Problem[];
}

/** Validates and defaults one decoded YAML/JSON document. Never throws. */
export function validateResource(raw: unknown, source: SourceRef): ValidateResult {
  const ctx = new Ctx(source.file, source.document);
  const resource = decode(ctx, raw);
  if (resource) resource.source = source;
  return { resource: ctx.failed ? undefined : resource, problems: ctx.problems };
}

function decode(ctx: Ctx, raw: unknown): Resource | undefined {
  if (!isJson(raw)) return void ctx.error('', 'a resource must be an object');
  const { apiVersion, kind } = raw;
  if (typeof apiVersion !== 'string' || !apiVersion) return void ctx.error('apiVersion', 'required');
  if (typeof kind !== 'string' || !kind) return void ctx.error('kind', 'required');
  const entry = KINDS.find((k) => k.kind === kind && k.apiVersions.includes(apiVersion));
  if (!entry) return void ctx.warn('', `unsupported kind ${kind} (apiVersion ${apiVersion}): ignored`);

  const peek = peekName(raw.metadata);
  ctx.resource = resourceName(kind, peek.namespace ?? 'default', peek.name ?? '(unnamed)');
  const top = readObj(ctx, '', raw, ['apiVersion', 'kind', 'metadata', 'status', ...entry.fields]);
  const metadata = decodeMeta(ctx, raw.metadata, {
    clusterScoped: entry.clusterScoped ?? false,
    nameIsLabel: entry.nameIsLabel ?? false,
  });
  if (!top || !metadata) return undefined;
  const spec = entry.spec ? top.obj('spec', entry.spec, { required: true }) : undefined;
  return entry.decode(top, spec, { apiVersion, metadata });
}
