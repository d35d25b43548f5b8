// Pure: one Gateway of ours + its fleet parameters → the ConfigMap (ADS bootstrap), Deployment (Envoy) and Service
// the controller owns for it. Same inputs, same objects, byte for byte, so an unchanged fleet is never re-applied.

import { createHash } from 'node:crypto';
import { renderBootstrap } from '../../../compiler/output';
import { adsBootstrap } from '../../../compiler/xds/bootstrap';
import type { FleetParams } from './params';

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGER = 'infergate';
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
export const GATEWAY_CLASS_LABEL = 'gateway.networking.k8s.io/gateway-class-name';
export const BOOTSTRAP_HASH = 'infergate.io/bootstrap-hash';
export const BOOTSTRAP_KEY = 'bootstrap.json';

export interface FleetGateway {
  namespace: string;
  name: string;
  uid: string;
  className: string;
  /** Distinct listener ports and their protocol (HTTP/HTTPS): the Service's ports. */
  ports: { port: number; protocol: string }[];
  /** spec.infrastructure labels and annotations: copied onto every object and the Pods. */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface FleetObjects {
  configMap: Obj;
  deployment: Obj;
  service: Obj;
}

export type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; [k: string]: unknown };
  [k: string]: unknown;
};

/** `infergate-<gateway>`, cut to a DNS label (63) with a hash of the Gateway's key when too long. */
export function fleetName(namespace: string, name: string): string {
  const full = `infergate-${name}`;
  if (full.length <= 63) return full;
  const hash = createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 8);
  return `${full.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

/** The labels that select a Gateway's Envoy Pods (stable: a Deployment's selector cannot change). */
export function selectorLabels(gw: Pick<FleetGateway, 'name'>): Record<string, string> {
  return { [MANAGED_BY]: MANAGER, [GATEWAY_NAME_LABEL]: gw.name };
}

export function renderFleet(gw: FleetGateway, params: FleetParams, xdsAddress: string): FleetObjects {
  const name = fleetName(gw.namespace, gw.name);
  const labels = {
    ...gw.labels,
    'app.kubernetes.io/name': 'envoy',
    'app.kubernetes.io/component': 'gateway-proxy',
    [GATEWAY_CLASS_LABEL]: gw.className,
    ...selectorLabels(gw),
  };
  const metadata = (extra: Record<string, unknown> = {}) => ({
    name,
    namespace: gw.namespace,
    labels,
    ...(gw.annotations && Object.keys(gw.annotations).length ? { annotations: gw.annotations } : {}),
    ownerReferences: [
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        name: gw.name,
        uid: gw.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
    ...extra,
  });
  const bootstrap = renderBootstrap(
    adsBootstrap(xdsAddress, {
      gateway: `${gw.namespace}/${gw.name}`,
      adminPort: params.adminPort,
      readyPort: params.readyPort,
    }),
    'json',
  );
  const bootstrapHash = createHash('sha256').update(bootstrap).digest('hex').slice(0, 16);
  const ports = [...new Map(gw.ports.map((p) => [p.port, p])).values()].sort((a, b) => a.port - b.port);
  const configMap: Obj = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(),
    data: { [BOOTSTRAP_KEY]: bootstrap },
  };
  const deployment: Obj = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(),
    spec: {
      replicas: params.replicas,
      selector: { matchLabels: selectorLabels(gw) },
      template: {
        metadata: {
          labels,
          annotations: { ...gw.annotations, [BOOTSTRAP_HASH]: bootstrapHash },
        },
        spec: {
          terminationGracePeriodSeconds: 30,
          containers: [
            {
              name: 'envoy',
              image: params.image,
              args: [
                '--config-path',
                `/etc/envoy/${BOOTSTRAP_KEY}`,
                '--service-node',
                '$(POD_NAME)',
                '--log-level',
                params.logLevel,
                '--disable-hot-restart',
                '--drain-strategy',
                'immediate',
                '--drain-time-s',
                '15',
              ],
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              ],
              ports: [
                ...ports.map((p) => ({ containerPort: p.port, protocol: 'TCP' })),
                { name: 'ready', containerPort: params.readyPort, protocol: 'TCP' },
              ],
              readinessProbe: {
                httpGet: { path: '/ready', port: params.readyPort },
                periodSeconds: 2,
                timeoutSeconds: 1,
                failureThreshold: 3,
              },
              resources: params.resources,
              volumeMounts: [{ name: 'bootstrap', mountPath: '/etc/envoy', readOnly: true }],
            },
          ],
          volumes: [{ name: 'bootstrap', configMap: { name } }],
        },
      },
    },
  };
  const service: Obj = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(),
    spec: {
      type: params.serviceType,
      selector: selectorLabels(gw),
      ports: ports.map((p) => ({
        name: `${p.protocol === 'HTTPS' ? 'https' : 'http'}-${p.port}`,
        port: p.port,
        targetPort: p.port,
        protocol: 'TCP',
      })),
    },
  };
  return { configMap, deployment, service };
}
