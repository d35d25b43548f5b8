// InferencePool: the v1 shape (inference.networking.k8s.io/v1) and the pre-GA v1alpha2 shape
// (inference.networking.x-k8s.io/v1alpha2), which is validated in its own field names and then converted.

import { type Obj, compact, unique } from './decode';
import { labelValue, qualifiedName } from './formats';
import type { EndpointPickerRef, FailureMode, InferencePoolSpec } from './types';

export const POOL_V1_FIELDS = ['selector', 'targetPorts', 'appProtocol', 'endpointPickerRef'];
export const POOL_V1ALPHA2_FIELDS = ['selector', 'targetPortNumber', 'extensionRef'];
const FAILURE_MODES = ['FailOpen', 'FailClose'];
const APP_PROTOCOLS = ['http', 'kubernetes.io/h2c'];
/** What implementations default a v1alpha2 extensionRef's portNumber to (the EPP's gRPC port). */
const V1ALPHA2_DEFAULT_EPP_PORT = 9002;

const labels = { required: true, min: 1, max: 64, key: qualifiedName, value: labelValue };

export function decodePoolV1(spec: Obj): InferencePoolSpec {
  const selector = spec.obj('selector', ['matchLabels'], { required: true });
  const matchLabels = selector?.strMap('matchLabels', labels) ?? {};
  const portObjs = spec.objList('targetPorts', ['number'], { required: true, min: 1, max: 8 }) ?? [];
  const targetPorts = portObjs.map((p) => ({
    number: p.int('number', { required: true, min: 1, max: 65535 }) ?? 0,
  }));
  unique(
    spec.ctx,
    targetPorts,
    (p) => (p.number ? String(p.number) : undefined),
    (i) => portObjs[i].at('number'),
  );
  const appProtocol = spec.str('appProtocol', { oneOf: APP_PROTOCOLS }) as InferencePoolSpec['appProtocol'];
  return compact({
    selector: { matchLabels },
    targetPorts,
    appProtocol: appProtocol ?? 'http',
    endpointPickerRef: decodeEndpointPickerRef(spec),
  });
}

function decodeEndpointPickerRef(spec: Obj): EndpointPickerRef | undefined {
  const ref = spec.obj('endpointPickerRef', ['group', 'kind', 'name', 'port', 'failureMode']);
  if (!ref) return undefined;
  const kind = ref.str('kind', { min: 1, max: 63 }) ?? 'Service';
  const port = ref.obj('port', ['number']);
  const number = port?.int('number', { required: true, min: 1, max: 65535 });
  // CEL: the port is the EPP Service's port, which only a Service reference needs.
  if (kind === 'Service' && !port) ref.error('port', 'required when kind is Service (the default)');
  return compact({
    group: ref.str('group', { max: 253 }) ?? '',
    kind,
    name: ref.str('name', { required: true, min: 1, max: 253 }) ?? '',
    port: number !== undefined ? { number } : undefined,
    failureMode: failureMode(ref),
  });
}

function failureMode(o: Obj): FailureMode {
  return (o.str('failureMode', { oneOf: FAILURE_MODES }) ?? 'FailClose') as FailureMode;
}

/** v1alpha2 → v1: selector → selector.matchLabels, targetPortNumber → targetPorts[0], extensionRef → endpointPickerRef. */
export function decodePoolV1alpha2(spec: Obj): InferencePoolSpec {
  const matchLabels = spec.strMap('selector', labels) ?? {};
  const targetPortNumber = spec.int('targetPortNumber', { required: true, min: 1, max: 65535 }) ?? 0;
  const ext = spec.obj('extensionRef', ['group', 'kind', 'name', 'portNumber', 'failureMode']);
  let endpointPickerRef: EndpointPickerRef | undefined;
  if (ext) {
    endpointPickerRef = {
      group: ext.str('group', { max: 253 }) ?? '',
      kind: ext.str('kind', { min: 1, max: 63 }) ?? 'Service',
      name: ext.str('name', { required: true, min: 1, max: 253 }) ?? '',
      port: { number: ext.int('portNumber', { min: 1, max: 65535 }) ?? V1ALPHA2_DEFAULT_EPP_PORT },
      failureMode: failureMode(ext),
    };
  }
  return compact({
    selector: { matchLabels },
    targetPorts: [{ number: targetPortNumber }],
    appProtocol: 'http',
    endpointPickerRef,
  });
}
