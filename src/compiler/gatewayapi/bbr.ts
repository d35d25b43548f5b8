// The body-based router: when a Gateway's routes match on X-Gateway-Model-Name or X-Gateway-Base-Model-Name,
// those headers must be set from the request body before route matching, by a BBR ext_proc server. Which
// Service runs it: the Gateway annotation `infergate.io/body-based-router: <service>[:<port>]`, else a Service
// named `body-based-router` in the Gateway's namespace, port 9004.

import type { Gateway } from '../../api/types';
import type { BodyBasedRouterIR, GatewayIR } from '../ir';
import { serviceEndpoints } from './backends';
import { type Context, namespaceOf, warn } from './context';

export const BBR_HEADERS = new Set(['x-gateway-model-name', 'x-gateway-base-model-name']);
export const BBR_ANNOTATION = 'infergate.io/body-based-router';
const DEFAULT_SERVICE = 'body-based-router';
const DEFAULT_PORT = 9004;

export function needsBodyBasedRouter(gw: GatewayIR): boolean {
  return gw.ports.some((p) =>
    p.virtualHosts.some((vh) =>
      vh.routes.some((r) => r.headers.some((h) => BBR_HEADERS.has(h.name.toLowerCase()))),
    ),
  );
}

/** Resolves the BBR Service; without one the model-header matches only see headers clients send themselves. */
export function resolveBodyBasedRouter(ctx: Context, gateway: Gateway): BodyBasedRouterIR | undefined {
  const ns = namespaceOf(gateway.metadata);
  const annotation = gateway.metadata.annotations?.[BBR_ANNOTATION];
  const [name, portText] = (annotation ?? DEFAULT_SERVICE).split(':');
  const port = portText ? Number(portText) : DEFAULT_PORT;
  const path = annotation ? `metadata.annotations[${JSON.stringify(BBR_ANNOTATION)}]` : undefined;
  const service = ctx.services.get(`${ns}/${name}`);
  const servicePort = service?.spec.ports?.find((p) => p.port === port);
  if (!service || !servicePort || service.spec.type === 'ExternalName') {
    warn(
      ctx,
      gateway,
      path,
      `routes match on X-Gateway-Model-Name/X-Gateway-Base-Model-Name but the body-based router Service ${ns}/${name} ` +
        `${service ? `has no port ${port}` : 'does not exist'}: those matches only see headers clients send`,
    );
    return undefined;
  }
  return {
    clusterName: `bbr/${ns}/${gateway.metadata.name}`,
    authority: `${name}.${ns}.svc:${port}`,
    service: name,
    port,
    tls: servicePort.appProtocol === 'https' || servicePort.appProtocol === 'kubernetes.io/tls',
    endpoints: serviceEndpoints(ctx, service, servicePort),
  };
}
