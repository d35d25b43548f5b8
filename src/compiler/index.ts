// The compiler: resources → (stage 1) IR + status → (stage 2) xDS resources checked against Envoy's rules.
// Pure: callers do the I/O (src/api loads files, src/cli and src/xds print or serve the result).

import type { Problem, ResourceSet } from '../api/types';
import { buildIR } from './gatewayapi';
import type { IR, ResourceStatus } from './ir';
import { translate, type GatewayXds, type RuleViolation, type TranslateOptions } from './xds';

export interface CompileResult {
  ir: IR;
  statuses: ResourceStatus[];
  problems: Problem[];
  gateways: GatewayXds[];
  violations: RuleViolation[];
}

export function compile(
  resources: ResourceSet,
  options: TranslateOptions & { controllerName?: string },
): CompileResult {
  const { ir, statuses, problems } = buildIR(resources, { controllerName: options.controllerName });
  const { gateways, violations } = translate(ir, options);
  return { ir, statuses, problems, gateways, violations };
}

export { translate, translateGateway, validateResources, formatViolation } from './xds';
export type { XdsResources, GatewayXds, RuleViolation } from './xds';
export { staticBootstrap, adsBootstrap, BOOTSTRAP_TYPE } from './xds/bootstrap';
export { renderMessage } from './xds/render';
