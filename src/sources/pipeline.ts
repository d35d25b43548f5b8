// A source's state → snapshots: compile and publish one snapshot per Gateway (node group). The source rejects
// bad resources one by one (keeping last good versions, see store.ts); they are reported here and everything
// else is published. A Gateway whose output breaks Envoy's rules or is inconsistent keeps its own last good
// snapshot. Changes touching only Pods/EndpointSlices take the endpoint fast path (see endpoints.ts).

import { formatProblem, type ResourceSet } from '../api/types';
import { formatViolation, translate } from '../compiler';
import { buildIR } from '../compiler/gatewayapi';
import type { ResourceStatus } from '../compiler/ir';
import { logger } from '../util/log';
import type { SnapshotCache } from '../xds/cache';
import type { XdsMetrics } from '../xds/metrics';
import { shortType, XDS } from '../xds/resource-types';
import { buildSnapshot, replaceTypes, resourcesOf, typeSnapshot, type Snapshot } from '../xds/snapshot';
import { ClusterRetention } from './retire';
import { loadAssignments, onlyEndpointsChanged, shapeOf } from './endpoints';
import type { Rejection, SourceState } from './source';

const log = logger('sources.pipeline');

export type CompilePath = 'full' | 'endpoints';

export interface RunReport {
  at: string;
  ok: boolean;
  path?: CompilePath;
  durationMs: number;
  /** The rejected resources' errors, formatted; everything else was compiled and published. */
  errors: string[];
  warnings: string[];
  /** The resources the source rejected, each with file, document and field paths. */
  rejected: RejectedReport[];
  /** Groups that kept their last good snapshot, and why. */
  kept: Record<string, string[]>;
  published: Record<string, string>;
}

export interface RejectedReport {
  resource?: string;
  file?: string;
  document?: number;
  problems: string[];
  /** Resources still served at their last good version because of this rejection. */
  keptLastGood: string[];
}

export interface PipelineOptions {
  cache: SnapshotCache;
  metrics?: XdsMetrics;
  /** Address the compiled listeners bind (default 0.0.0.0). */
  listenAddress?: string;
  /** How long a cluster no route uses any more stays published (DEFAULT_CLUSTER_RETENTION_MS). */
  clusterRetentionMs?: number;
  /** The GatewayClass controllerName we own (default infergate.io/gateway-controller). */
  controllerName?: string;
}

export class ConfigPipeline {
  private last?: { resources: ResourceSet; shapes: Map<string, string> };
  private input?: SourceState;
  private statuses: ResourceStatus[] = [];
  private readonly kept = new Map<string, string[]>();
  /** What this pipeline last published per group: the base of the endpoint fast path. */
  private readonly published = new Map<string, Snapshot>();
  lastReport?: RunReport;
  lastGoodReport?: RunReport;
  private readonly retention: ClusterRetention;
  private expiryTimer?: NodeJS.Timeout;

  constructor(private readonly options: PipelineOptions) {
    this.retention = new ClusterRetention(options.clusterRetentionMs);
  }

  /** Stops the timer that republishes when a retired cluster's retention ends. */
  close(): void {
    clearTimeout(this.expiryTimer);
  }

  /** Compiles and publishes `input` (by default the last one given, e.g. when a retention ends). */
  run(input: SourceState | undefined = this.input): RunReport {
    if (!input) throw new Error('ConfigPipeline.run: no input yet');
    this.input = input;
    const started = performance.now();
    const report: RunReport = {
      at: new Date().toISOString(),
      ok: false,
      durationMs: 0,
      errors: input.rejected.flatMap((r) => r.problems.map(formatProblem)),
      warnings: input.warnings.map(formatProblem),
      rejected: input.rejected.map(rejectedReport),
      kept: {},
      published: {},
    };

    const { ir, statuses, problems } = buildIR(input.resources, {
      controllerName: this.options.controllerName,
    });
    report.warnings.push(...problems.map(formatProblem));
    this.statuses = statuses;
    const shapes = new Map(ir.gateways.map((gw) => [gw.key, shapeOf(gw)]));
    const fast =
      this.last !== undefined &&
      this.kept.size === 0 &&
      onlyEndpointsChanged(this.last.resources, input.resources) &&
      shapes.size === this.last.shapes.size &&
      [...shapes].every(([k, s]) => this.last!.shapes.get(k) === s && this.published.has(k));

    if (fast) {
      report.path = 'endpoints';
      for (const gw of ir.gateways) {
        const base = this.published.get(gw.key)!;
        const retiredNames = new Set(this.retention.retiredIn(gw.key));
        // Retired clusters keep the endpoints they were published with.
        const retiredEndpoints = resourcesOf(base, XDS.ClusterLoadAssignment).filter((e) =>
          retiredNames.has(e.clusterName),
        );
        this.publish(
          replaceTypes(base, [
            typeSnapshot(XDS.ClusterLoadAssignment, [...loadAssignments(gw), ...retiredEndpoints]),
          ]),
          report,
        );
      }
    } else {
      report.path = 'full';
      const { gateways, violations } = translate(ir, {
        mode: 'ads',
        listenAddress: this.options.listenAddress ?? '0.0.0.0',
      });
      for (const gw of gateways) {
        const broken = violations.filter((v) => v.gateway === gw.key).map(formatViolation);
        if (broken.length) {
          this.keep(gw.key, broken, report);
          continue;
        }
        const previous = this.published.get(gw.key);
        const kept = this.retention.apply(
          gw.key,
          previous && {
            clusters: resourcesOf(previous, XDS.Cluster),
            endpoints: resourcesOf(previous, XDS.ClusterLoadAssignment),
          },
          gw.resources,
        );
        this.publish(buildSnapshot(gw.key, { ...gw.resources, ...kept }), report);
      }
      // A Gateway that is gone gets an empty snapshot: its Envoys drain their listeners.
      for (const group of this.options.cache.groups()) {
        if (!shapes.has(group)) this.publish(buildSnapshot(group, emptyResources()), report);
      }
    }
    report.ok = Object.keys(report.kept).length === 0 && report.rejected.length === 0;
    this.last = { resources: input.resources, shapes };
    this.scheduleExpiry();
    return this.finish(report, started);
  }

  /** When a retired cluster's retention ends, compile and publish again (without it). */
  private scheduleExpiry(): void {
    clearTimeout(this.expiryTimer);
    const wait = this.retention.nextExpiryIn();
    if (wait === undefined) return;
    this.expiryTimer = setTimeout(() => {
      // Forces the full path: the fast path would carry the retired clusters' endpoints over again.
      this.last = undefined;
      this.run();
    }, wait + 10);
    this.expiryTimer.unref();
  }

  /** What /debug/status shows. */
  status(): unknown {
    return {
      lastRun: this.lastReport,
      lastGoodRun: this.lastGoodReport,
      rejected: this.lastReport?.rejected ?? [],
      keptGroups: Object.fromEntries(this.kept),
      statuses: this.statuses,
    };
  }

  private publish(snapshot: Snapshot, report: RunReport): void {
    const result = this.options.cache.set(snapshot);
    if (!result.published) return this.keep(snapshot.group, result.problems, report);
    this.kept.delete(snapshot.group);
    this.published.set(snapshot.group, snapshot);
    report.published[snapshot.group] = snapshot.version;
    if (!result.changed) return;
    const types = [...snapshot.types.values()].map((t) => ({
      type: shortType(t.typeUrl),
      version: t.version,
      count: t.resources.size,
    }));
    this.options.metrics?.setSnapshotVersion(snapshot.group, snapshot.version, types);
    log.info('snapshot published', {
      group: snapshot.group,
      version: snapshot.version,
      path: report.path,
      types: Object.fromEntries(types.map((t) => [t.type, t.version])),
    });
  }

  private keep(group: string, reasons: string[], report: RunReport): void {
    this.kept.set(group, reasons);
    report.kept[group] = reasons;
    log.error('keeping last good snapshot', { group, reasons });
  }

  private finish(report: RunReport, started: number): RunReport {
    report.durationMs = Math.round((performance.now() - started) * 100) / 100;
    const m = this.options.metrics;
    if (report.path) m?.compileDuration.observe({ path: report.path }, report.durationMs / 1000);
    if (report.rejected.length) {
      log.warn('published without the rejected resources', {
        rejected: report.rejected.map((r) => r.resource ?? `${r.file} doc ${r.document}`),
      });
    }
    if (!report.ok) m?.compileFailures.inc();
    m?.lastCompileOk.set(report.ok ? 1 : 0);
    this.lastReport = report;
    if (report.ok) this.lastGoodReport = report;
    return report;
  }
}

function rejectedReport(r: Rejection): RejectedReport {
  return {
    resource: r.resource,
    file: r.file,
    document: r.document,
    problems: r.problems.map(formatProblem),
    keptLastGood: r.kept,
  };
}

function emptyResources() {
  return { listeners: [], routes: [], clusters: [], endpoints: [] };
}
