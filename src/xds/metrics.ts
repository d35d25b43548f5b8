// Prometheus metrics of the control plane (prom-client, one registry per server so tests can run several).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class XdsMetrics {
  readonly registry = new Registry();
  readonly streams = new Gauge({
    name: 'infergate_xds_connected_streams',
    help: 'Open ADS streams.',
    labelNames: ['protocol'],
    registers: [this.registry],
  });
  readonly nodes = new Gauge({
    name: 'infergate_xds_connected_nodes',
    help: 'Nodes with at least one open ADS stream.',
    registers: [this.registry],
  });
  readonly pushes = new Counter({
    name: 'infergate_xds_pushes_total',
    help: 'xDS responses sent, by resource type and protocol.',
    labelNames: ['type', 'protocol'],
    registers: [this.registry],
  });
  readonly ackLatency = new Histogram({
    name: 'infergate_xds_push_ack_seconds',
    help: 'Time from sending a response to its ACK.',
    labelNames: ['type'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly nacks = new Counter({
    name: 'infergate_xds_nacks_total',
    help: 'Responses a node rejected (NACK), by resource type.',
    labelNames: ['type', 'group'],
    registers: [this.registry],
  });
  readonly nackResendsSuppressed = new Counter({
    name: 'infergate_xds_nack_resends_suppressed_total',
    help: 'Requests after a NACK that were not answered with the rejected version again.',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly snapshotInfo = new Gauge({
    name: 'infergate_xds_snapshot_info',
    help: 'The published snapshot version per node group (value 1).',
    labelNames: ['group', 'version'],
    registers: [this.registry],
  });
  readonly snapshotTypeInfo = new Gauge({
    name: 'infergate_xds_snapshot_type_info',
    help: 'The published version of each resource type per node group (value: resource count).',
    labelNames: ['group', 'type', 'version'],
    registers: [this.registry],
  });
  readonly compileDuration = new Histogram({
    name: 'infergate_compile_duration_seconds',
    help: 'Load + compile time per input change; path is full or endpoints (the Pod/EndpointSlice fast path).',
    labelNames: ['path'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly compileFailures = new Counter({
    name: 'infergate_compile_failures_total',
    help: 'Input changes that failed to compile; the last good snapshot stays published.',
    registers: [this.registry],
  });
  readonly lastCompileOk = new Gauge({
    name: 'infergate_compile_last_ok',
    help: '1 when the last input change compiled and was published, 0 when the last good snapshot is kept.',
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  private readonly groupVersions = new Map<string, string>();
  private readonly typeVersions = new Map<string, { type: string; version: string }[]>();

  setSnapshotVersion(
    group: string,
    version: string,
    types: { type: string; version: string; count: number }[],
  ) {
    const old = this.groupVersions.get(group);
    if (old !== undefined) this.snapshotInfo.remove(group, old);
    this.snapshotInfo.set({ group, version }, 1);
    this.groupVersions.set(group, version);
    for (const t of this.typeVersions.get(group) ?? [])
      this.snapshotTypeInfo.remove(group, t.type, t.version);
    for (const t of types) this.snapshotTypeInfo.set({ group, type: t.type, version: t.version }, t.count);
    this.typeVersions.set(group, types);
  }
}
