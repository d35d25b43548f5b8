// Managed Envoy fleets: for each Gateway of ours, the leader server-side-applies a bootstrap ConfigMap, an Envoy
// Deployment and a Service (owned by the Gateway, so the garbage collector deletes them with it), deletes the ones
// whose Gateway is no longer ours, and reports what it observes: the Service's address for status.addresses and the
// Deployment's ready replicas for the Gateway's Programmed condition. Invalid parameters keep what was applied.

import { createHash } from 'node:crypto';
import { logger } from '../../../util/log';
import type { KubeClient } from '../client';
import { apiMessage, requestJson } from '../http';
import { Informer, type KubeObject } from '../informer';
import { collectionPath, SERVICE, type KindSpec } from '../kinds';
import type { ObjectLookup } from '../source';
import { DEFAULT_PARAMS, parseParams, type FleetParams } from './params';
import { GATEWAY_NAME_LABEL, MANAGED_BY, MANAGER, renderFleet, type FleetGateway, type Obj } from './render';

const log = logger('fleet');

const DEPLOYMENT: KindSpec = {
  kind: 'Deployment',
  group: 'apps',
  version: 'v1',
  plural: 'deployments',
  namespaced: true,
};
const CONFIG_MAP: KindSpec = {
  kind: 'ConfigMap',
  group: '',
  version: 'v1',
  plural: 'configmaps',
  namespaced: true,
};
const KINDS = [CONFIG_MAP, DEPLOYMENT, SERVICE];
const FIELD_MANAGER = 'infergate';

export interface FleetOptions {
  client: KubeClient;
  /** Where the managed Envoys reach the control plane's xDS (host:port; a Service name in a real cluster). */
  xdsAddress: string;
  namespace?: string;
  /** The source's informers (KubernetesSource.lookup): Gateways and GatewayClasses are read there, not with GETs. */
  lookup: ObjectLookup;
  /** Called when an owned object changes (a Deployment became ready, a Service got its address). */
  onChange?: () => void;
  /** Re-apply everything this often even when nothing changed (puts back edits), default 5 min. */
  reapplyMs?: number;
}

export interface GatewayCondition {
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export interface FleetReport {
  /** Gateway "ns/name" → status.addresses. */
  addresses: Map<string, { type: string; value: string }[]>;
  /** Gateway "ns/name" → its Programmed condition as the fleet sees it. */
  programmed: Map<string, GatewayCondition>;
  /** GatewayClass name → problems with its parametersRef (Accepted False, InvalidParameters). */
  classProblems: Map<string, string[]>;
  /** Gateway "ns/name" → problems with its infrastructure.parametersRef (Accepted False, InvalidParameters). */
  gatewayProblems: Map<string, string[]>;
  applied: number;
  deleted: number;
  errors: string[];
}

type Raw = Record<string, unknown> & { metadata?: Record<string, unknown>; spec?: Record<string, unknown> };

export class FleetReconciler {
  private readonly informers: Informer[];
  /** "Kind ns/name" → hash of what we last applied. */
  private readonly applied = new Map<string, string>();
  private lastFullApply = 0;
  applies = 0;
  deletes = 0;

  constructor(private readonly o: FleetOptions) {
    const events = { upsert: () => o.onChange?.(), remove: () => o.onChange?.() };
    this.informers = KINDS.map(
      (k) =>
        new Informer(
          o.client,
          k,
          { namespace: o.namespace, labelSelector: `${MANAGED_BY}=${MANAGER}`, resyncMs: 600_000 },
          events,
        ),
    );
  }

  async start(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.start()));
  }

  stop(): void {
    for (const i of this.informers) i.stop();
  }

  private cached(kind: KindSpec, namespace: string, name: string): KubeObject | undefined {
    return this.informers[KINDS.indexOf(kind)].get(namespace, name);
  }

  private gatewayApi(kind: string, namespace: string | undefined, name: string): Raw | undefined {
    const ref = { group: 'gateway.networking.k8s.io', version: 'v1', kind, namespace, name };
    return this.o.lookup(ref) as Raw | undefined;
  }

  /** One pass over the Gateways of ours (their "ns/name" keys, from the latest compile). */
  async reconcile(gateways: string[]): Promise<FleetReport> {
    const report: FleetReport = {
      addresses: new Map(),
      programmed: new Map(),
      classProblems: new Map(),
      gatewayProblems: new Map(),
      applied: 0,
      deleted: 0,
      errors: [],
    };
    const full = Date.now() - this.lastFullApply > (this.o.reapplyMs ?? 300_000);
    if (full) this.lastFullApply = Date.now();
    const classes = new Map<string, Promise<{ params?: FleetParams; problems: string[] }>>();
    // Gateways we keep (rendered or kept as they are because their parameters are invalid): never deleted.
    const keep = new Set<string>();
    for (const key of gateways) {
      const [namespace, name] = key.split('/');
      keep.add(key);
      try {
        const gw = this.gatewayApi('Gateway', namespace, name);
        if (!gw) continue; // deleted since the compile
        const spec = gw.spec ?? {};
        const className = String(spec.gatewayClassName ?? '');
        if (!classes.has(className)) classes.set(className, this.classParams(className));
        const cls = await classes.get(className)!;
        if (cls.problems.length) {
          report.classProblems.set(className, cls.problems);
          this.observe(key, report);
          continue;
        }
        const infra = (spec.infrastructure ?? {}) as {
          labels?: Record<string, string>;
          annotations?: Record<string, string>;
          parametersRef?: { group?: string; kind?: string; name?: string };
        };
        let params = cls.params!;
        if (infra.parametersRef) {
          const r = await this.localParams(namespace, infra.parametersRef, params);
          if (r.problems.length) {
            report.gatewayProblems.set(key, r.problems);
            this.observe(key, report);
            continue;
          }
          params = r.params!;
        }
        const fleet: FleetGateway = {
          namespace,
          name,
          uid: String(gw.metadata?.uid ?? ''),
          className,
          ports: ((spec.listeners ?? []) as { port?: number; protocol?: string }[])
            .filter((l) => typeof l.port === 'number')
            .map((l) => ({ port: l.port!, protocol: String(l.protocol ?? 'HTTP') })),
          labels: infra.labels,
          annotations: infra.annotations,
        };
        const objs = renderFleet(fleet, params, this.o.xdsAddress);
        for (const obj of [objs.configMap, objs.service, objs.deployment]) {
          if (await this.apply(obj, full)) report.applied++;
        }
      } catch (err) {
        report.errors.push(`Gateway ${key}: ${(err as Error).message}`);
      }
      this.observe(key, report);
    }
    report.deleted = await this.collect(keep, report);
    if (report.applied || report.deleted || report.errors.length)
      log.info('fleet reconciled', {
        gateways: gateways.length,
        applied: report.applied,
        deleted: report.deleted,
        errors: report.errors,
      });
    return report;
  }

  private async get(path: string): Promise<Raw | undefined> {
    const r = await requestJson(this.o.client, 'GET', path);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}: ${apiMessage(r)}`);
    return r.body as Raw;
  }

  private async classParams(className: string): Promise<{ params?: FleetParams; problems: string[] }> {
    const cls = this.gatewayApi('GatewayClass', undefined, className);
    const ref = (cls?.spec?.parametersRef ?? undefined) as
      { group?: string; kind?: string; name?: string; namespace?: string } | undefined;
    if (!ref) return { params: DEFAULT_PARAMS, problems: [] };
    const where = `GatewayClass ${className}: spec.parametersRef`;
    if ((ref.group ?? '') !== '' || ref.kind !== 'ConfigMap')
      return {
        problems: [`${where}: only core ConfigMaps are supported, not ${ref.group || 'core'}/${ref.kind}`],
      };
    if (!ref.namespace) return { problems: [`${where}.namespace: required for a ConfigMap`] };
    return this.configMapParams(ref.namespace, String(ref.name), DEFAULT_PARAMS, where);
  }

  private async localParams(
    namespace: string,
    ref: { group?: string; kind?: string; name?: string },
    base: FleetParams,
  ): Promise<{ params?: FleetParams; problems: string[] }> {
    const where = 'spec.infrastructure.parametersRef';
    if ((ref.group ?? '') !== '' || ref.kind !== 'ConfigMap')
      return {
        problems: [`${where}: only core ConfigMaps are supported, not ${ref.group || 'core'}/${ref.kind}`],
      };
    return this.configMapParams(namespace, String(ref.name), base, where);
  }

  private async configMapParams(
    namespace: string,
    name: string,
    base: FleetParams,
    where: string,
  ): Promise<{ params?: FleetParams; problems: string[] }> {
    const cm = await this.get(`/api/v1/namespaces/${namespace}/configmaps/${name}`);
    if (!cm) return { problems: [`${where}: ConfigMap ${namespace}/${name} not found`] };
    const r = parseParams(
      cm.data as Record<string, string> | undefined,
      `ConfigMap ${namespace}/${name}`,
      base,
    );
    return r.ok ? { params: r.params, problems: [] } : { problems: r.problems };
  }

  /** Server-side apply when what we would apply changed, the object is gone, or a periodic re-apply is due. */
  private async apply(obj: Obj, force: boolean): Promise<boolean> {
    const kind = KINDS.find((k) => k.kind === obj.kind)!;
    const id = `${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}`;
    const hash = createHash('sha256').update(JSON.stringify(obj)).digest('hex');
    const present = this.cached(kind, obj.metadata.namespace, obj.metadata.name);
    if (!force && present && this.applied.get(id) === hash) return false;
    const path =
      `${collectionPath(kind, obj.metadata.namespace)}/${obj.metadata.name}` +
      `?fieldManager=${FIELD_MANAGER}&force=true`;
    const r = await requestJson(this.o.client, 'PATCH', path, obj, 'application/apply-patch+yaml');
    if (r.status !== 200 && r.status !== 201) {
      this.applied.delete(id);
      throw new Error(`apply ${id}: HTTP ${r.status}: ${apiMessage(r)}`);
    }
    this.applied.set(id, hash);
    this.applies++;
    return true;
  }

  /** Deletes owned objects whose Gateway is not among ours any more. */
  private async collect(keep: Set<string>, report: FleetReport): Promise<number> {
    let n = 0;
    for (const [i, kind] of KINDS.entries()) {
      for (const o of this.informers[i].list_()) {
        const gwName = (o.metadata.labels as Record<string, string> | undefined)?.[GATEWAY_NAME_LABEL];
        const owner = ((o.metadata.ownerReferences ?? []) as { kind?: string; controller?: boolean }[]).find(
          (r) => r.kind === 'Gateway' && r.controller,
        );
        if (!gwName || !owner || keep.has(`${o.metadata.namespace}/${gwName}`)) continue;
        if (o.metadata.deletionTimestamp) continue;
        const id = `${kind.kind} ${o.metadata.namespace}/${o.metadata.name}`;
        const r = await requestJson(
          this.o.client,
          'DELETE',
          `${collectionPath(kind, o.metadata.namespace)}/${o.metadata.name}`,
          { propagationPolicy: 'Background' },
        );
        if (r.status === 200 || r.status === 202 || r.status === 404) {
          this.applied.delete(id);
          this.deletes++;
          n++;
          log.info('deleted: its Gateway is not ours any more', { object: id });
        } else report.errors.push(`delete ${id}: HTTP ${r.status}: ${apiMessage(r)}`);
      }
    }
    return n;
  }

  /** Address and Programmed for one Gateway, from the owned objects the informers hold. */
  private observe(key: string, report: FleetReport): void {
    const [namespace, name] = key.split('/');
    const owned = (kind: KindSpec) =>
      this.informers[KINDS.indexOf(kind)]
        .list_()
        .find(
          (o) =>
            o.metadata.namespace === namespace &&
            (o.metadata.labels as Record<string, string> | undefined)?.[GATEWAY_NAME_LABEL] === name,
        );
    const svc = owned(SERVICE) as Raw | undefined;
    const dep = owned(DEPLOYMENT) as Raw | undefined;
    const addresses: { type: string; value: string }[] = [];
    const sspec = (svc?.spec ?? {}) as { type?: string; clusterIP?: string };
    const ingress = ((svc?.status as { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } })
      ?.loadBalancer?.ingress ?? []) as { ip?: string; hostname?: string }[];
    for (const i of ingress) {
      if (i.ip) addresses.push({ type: 'IPAddress', value: i.ip });
      else if (i.hostname) addresses.push({ type: 'Hostname', value: i.hostname });
    }
    if (svc && sspec.type !== 'LoadBalancer' && sspec.clusterIP && sspec.clusterIP !== 'None')
      addresses.push({ type: 'IPAddress', value: sspec.clusterIP });
    report.addresses.set(key, addresses);
    if (!dep || !svc) {
      report.programmed.set(key, {
        status: 'False',
        reason: 'Pending',
        message: 'the Envoy Deployment and Service are not created yet',
      });
      return;
    }
    const want = Number((dep.spec as { replicas?: number })?.replicas ?? 1);
    const ready = Number((dep.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0);
    const depName = `${namespace}/${dep.metadata?.name}`;
    if (ready === 0)
      report.programmed.set(key, {
        status: 'False',
        reason: 'Pending',
        message: `Envoy Deployment ${depName}: 0 of ${want} replicas ready`,
      });
    else if (!addresses.length)
      report.programmed.set(key, {
        status: 'False',
        reason: 'AddressNotAssigned',
        message: `Service ${namespace}/${svc.metadata?.name} (${sspec.type}) has no address yet`,
      });
    else
      report.programmed.set(key, {
        status: 'True',
        reason: 'Programmed',
        message: `Envoy Deployment ${depName}: ${ready} of ${want} replicas ready`,
      });
  }
}
