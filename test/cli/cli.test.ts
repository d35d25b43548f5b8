// The `infergate` command as users run it: a real process, real files, real Envoy validating the output.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, infergate } from '../support/cli';
import { envoyValidate, freePort, tmpDir } from '../support/envoy';
import { checkHealth, ServingStatus } from '../../src/epp/server/health';
import { stopProcess, waitFor } from '../../src/util/wait';

const QUICKSTART = path.join(ROOT, 'examples', 'quickstart');
const BROKEN = path.join(ROOT, 'test', 'testdata', 'cli', 'broken');

describe('infergate compile', () => {
  it('--mode static: the quickstart bootstrap passes envoy --mode validate', () => {
    const r = infergate('compile', QUICKSTART, '--mode', 'static');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('envoy.load_balancing_policies.override_host');
    const verdict = envoyValidate(r.stdout);
    expect(verdict.output).toContain('OK');
    expect(verdict.ok).toBe(true);
  });

  it('--mode ads: an ADS bootstrap for the xDS server that Envoy accepts', () => {
    const r = infergate('compile', QUICKSTART, '--mode', 'ads', '--xds-address', '127.0.0.1:18000');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('DELTA_GRPC');
    expect(r.stdout).toContain('port_value: 18000');
    expect(envoyValidate(r.stdout).ok).toBe(true);
  });

  it('--format json is JSON Envoy accepts', () => {
    const r = infergate('compile', QUICKSTART, '--format', 'json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.node.cluster).toBe('default/inference-gateway');
    expect(envoyValidate(r.stdout).ok).toBe(true);
  });

  it('--out writes the bootstrap and one file per xDS type', () => {
    const out = tmpDir('out');
    const r = infergate('compile', QUICKSTART, '--mode', 'ads', '--out', out);
    expect(r.code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual([
      'bootstrap.yaml',
      'clusters.yaml',
      'endpoints.yaml',
      'listeners.yaml',
      'routes.yaml',
    ]);
    const clusters = fs.readFileSync(path.join(out, 'clusters.yaml'), 'utf8');
    expect(clusters).toContain('inferencepool/default/vllm-llama3-8b-instruct');
    expect(clusters).toContain('type: EDS');
    const endpoints = fs.readFileSync(path.join(out, 'endpoints.yaml'), 'utf8');
    for (const ip of ['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14'])
      expect(endpoints).toContain(ip);
  });

  it('invalid input: exit 1, every problem with file, document and field path, nothing on stdout', () => {
    const r = infergate('compile', BROKEN);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    const expectLine = (file: string, doc: number, fieldPath: string) =>
      expect(lines.some((l) => l.includes(`${file} doc ${doc}`) && l.includes(fieldPath))).toBe(true);
    expectLine('gateway.yaml', 0, 'spec.listeners[0].port');
    expectLine('gateway.yaml', 0, 'spec.listeners[0].colour');
    expectLine('pool.yaml', 0, 'spec.targetPorts[1].number');
    expectLine('pool.yaml', 0, 'spec.endpointPickerRef.port');
    expectLine('pool.yaml', 0, 'spec.endpointPickerRef.failureMode');
    expectLine('pool.yaml', 1, 'spec.rules[0].backendRefs[0].weight');
  });

  it('infergate.io/epp-processing-mode STREAMED on the GatewayClass: a config Envoy accepts, bodies STREAMED behind a buffer', () => {
    const dir = tmpDir('streamed-mode');
    try {
      for (const f of fs.readdirSync(QUICKSTART))
        fs.copyFileSync(path.join(QUICKSTART, f), path.join(dir, f));
      const gw = path.join(dir, 'gateway.yaml');
      fs.writeFileSync(
        gw,
        fs
          .readFileSync(gw, 'utf8')
          .replace(
            'metadata:\n  name: infergate\n',
            'metadata:\n  name: infergate\n  annotations:\n    infergate.io/epp-processing-mode: STREAMED\n',
          ),
      );
      const r = infergate('compile', dir, '--mode', 'static');
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('envoy.filters.http.buffer');
      expect(r.stdout).toContain('send_body_without_waiting_for_header_response: true');
      expect(r.stdout).not.toContain('FULL_DUPLEX_STREAMED');
      expect(envoyValidate(r.stdout).ok).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('usage errors exit 2', () => {
    expect(infergate('compile', QUICKSTART, '--mode', 'dynamic').code).toBe(2);
    expect(infergate('compile').code).toBe(2);
    expect(infergate('frobnicate').code).toBe(2);
  });
});

describe('infergate validate', () => {
  it('prints status conditions and exits 0 on valid input', () => {
    const r = infergate('validate', QUICKSTART);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('kind: InferencePool');
    expect(r.stdout).toContain('reason: ResolvedRefs');
  });

  it('exits 1 on broken input', () => {
    const r = infergate('validate', BROKEN);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('spec.targetPorts[1].number');
  });
});

describe('infergate epp with the upstream EPP’s (and lwepp’s) arguments', () => {
  it('refuses contradictory or unknown values with exit 2, saying which flag', () => {
    const base = ['epp', '--pool-name', 'vllm-llama3-8b-instruct', QUICKSTART];
    const ports = infergate(...base, '--health-port', '9003', '--grpc-health-port', '9005');
    expect(ports.code).toBe(2);
    expect(ports.stderr).toContain('--health-port and --grpc-health-port name different ports');
    const zap = infergate(...base, '--zap-encoder', 'xml');
    expect(zap.code).toBe(2);
    expect(zap.stderr).toContain('--zap-encoder must be json or console');
  });

  it('--pool-name, --pool-namespace, --zap-encoder json, --grpc-port and --grpc-health-port: SERVING on that port', async () => {
    const [grpc, health, metrics] = [await freePort(), await freePort(), await freePort()];
    const child = spawn(process.execPath, [
      path.join(ROOT, 'bin', 'infergate.js'),
      'epp',
      '--pool-name',
      'vllm-llama3-8b-instruct',
      '--pool-namespace',
      'default',
      '--zap-encoder',
      'json',
      '--grpc-port',
      String(grpc),
      '--grpc-health-port',
      String(health),
      '--metrics-port',
      String(metrics),
      '--address',
      '127.0.0.1',
      QUICKSTART,
    ]);
    let logs = '';
    child.stderr.on('data', (d: Buffer) => (logs += d.toString()));
    try {
      // The fixture's probes ask for service "inference-extension".
      await waitFor(
        'SERVING on --grpc-health-port',
        async () =>
          (await checkHealth(`127.0.0.1:${health}`, 'inference-extension', 2000)) === ServingStatus.SERVING,
        {
          timeoutMs: 60_000,
          everyMs: 200,
          abortIf: () => (child.exitCode !== null ? `epp exited ${child.exitCode}:\n${logs}` : undefined),
        },
      );
      expect(logs).toContain(`health ${health}`);
    } finally {
      await stopProcess(child);
    }
  }, 90_000);
});
