// Prefill/decode disaggregation contracts shared by the deciders and the P/D profile handler (llm-d
// pkg/plugins/profile): the decider capability, the pod role label and the header naming the prefill pod.

import type { EndpointState } from '../types';
import { PluginKind, type Plugin, type SchedulingRequest } from './types';

/** Request header carrying the chosen prefill pod ("host:port") to the decode pod (llm-d's sidecar contract). */
export const PREFILLER_HEADER = 'x-prefiller-host-port';

/** Pod label naming the role a model server plays (llm-d). */
export const ROLE_LABEL = 'llm-d.ai/role';

/** Decides, once the decode pod is chosen, whether the prompt is prefilled on a separate prefill pod. */
export interface PdDecider extends Plugin {
  /** True: run the prefill profile and hand its pick to `decode`; false: the decode pod prefills locally. */
  disaggregate(req: SchedulingRequest, decode: EndpointState): boolean;
}

export const PD_DECIDER = new PluginKind<PdDecider>('pd decider');
