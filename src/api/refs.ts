// Object references shared by HTTPRoute parts: parentRefs, backendRefs and RequestMirror's backendRef.

import { type Obj, compact } from './decode';
import { dnsLabel, dnsSubdomain } from './formats';
import { GATEWAY_GROUP, type BackendObjectReference, type ParentReference } from './types';

export const PARENT_REF_FIELDS = ['group', 'kind', 'namespace', 'name', 'sectionName', 'port'];
export const BACKEND_REF_FIELDS = ['group', 'kind', 'name', 'namespace', 'port'];

export function decodeParentRef(p: Obj): ParentReference {
  return compact({
    group: p.str('group', { max: 253 }) ?? GATEWAY_GROUP,
    kind: p.str('kind', { min: 1, max: 63 }) ?? 'Gateway',
    namespace: p.str('namespace', { check: dnsLabel }),
    name: p.str('name', { required: true, min: 1, max: 253 }) ?? '',
    sectionName: p.str('sectionName', { check: dnsSubdomain }),
    port: p.int('port', { min: 1, max: 65535 }),
  });
}

export function decodeBackendObjectRef(b: Obj): BackendObjectReference {
  const ref: BackendObjectReference = compact({
    group: b.str('group', { max: 253 }) ?? '',
    kind: b.str('kind', { min: 1, max: 63 }) ?? 'Service',
    name: b.str('name', { required: true, min: 1, max: 253 }) ?? '',
    namespace: b.str('namespace', { check: dnsLabel }),
    port: b.int('port', { min: 1, max: 65535 }),
  });
  // CEL "Must have port for Service reference". An InferencePool's port is ignored (its targetPorts rule).
  if (ref.group === '' && ref.kind === 'Service' && !b.has('port'))
    b.error('port', 'required for a Service backend');
  return ref;
}
