// `make conformance`: the upstream Gateway API Inference Extension conformance suite (v1.6.0, built from its Go
// module by scripts/conformance.sh) against infergate on the project's test cluster (scripts/cluster, bridge pod
// network: every Pod in a network namespace of its own, Services through the node agent's userspace proxy).
//
//   A  infergate as the Gateway: helm/infergate (controller + managed Envoy per Gateway), the suite's own lwepp
//   B  infergate as the endpoint picker too: every lwepp container runs `infergate epp` with lwepp's arguments
//
// Each configuration gets a fresh cluster. After the suite, the same cluster runs what EppUnAvailableFailOpen meant
// to check (the suite's version disables the wrong EPP, README.md). Reports go to conformance/reports/v1.6.0/.
//
//   node -r ts-node/register/transpile-only conformance/run.ts [--config A|B|both] [--run-test ShortName] [--keep]
//     [--out DIR]   (default conformance/reports/v1.6.0/gateway/infergate)

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { waitFor } from '../src/util/wait';
import { Cluster } from '../test/cluster/cluster';
import { replaceCrds, startNodeAgent } from '../test/kubernetes/fixtures';

const ROOT = path.resolve(__dirname, '..');
const GIE = 'v1.6.0';
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;
const REPORTS = path.join(ROOT, 'conformance', 'reports', GIE, 'gateway', 'infergate');
const APP_NS = 'inference-conformance-app-backend';
const INFRA_NS = 'inference-conformance-infra';

type Config = 'A' | 'B';
const MODES: Record<Config, string> = { A: 'gateway-lwepp', B: 'gateway-infergate-epp' };

function args(): { configs: Config[]; runTest?: string; keep: boolean; out: string } {
  const a = process.argv.slice(2);
  const get = (k: string) => {
    const i = a.indexOf(k);
    return i >= 0 ? a[i + 1] : undefined;
  };
  const c = get('--config') ?? 'both';
  if (!['A', 'B', 'both'].includes(c)) throw new Error(`--config A|B|both, got ${c}`);
  return {
    configs: c === 'both' ? ['A', 'B'] : [c as Config],
    runTest: get('--run-test'),
    keep: a.includes('--keep'),
    out: path.resolve(get('--out') ?? REPORTS),
  };
}

function conformancePaths() {
  const r = spawnSync('bash', [path.join(ROOT, 'scripts/conformance.sh'), 'path'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/conformance.sh path: ${r.stderr}`);
  const [suite, lwepp, echo, module, gatewayApi] = r.stdout.trim().split('\n');
  return { suite, lwepp, echo, module, gatewayApi };
}

const log = (m: string) => console.log(`conformance: ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs CMD in the cluster's namespace, streaming its output to LOGFILE (and stdout); resolves with the exit code. */
function execLogged(c: Cluster, cmd: string[], logFile: string, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    const out = fs.createWriteStream(logFile);
    const child = spawn(path.join(ROOT, 'scripts/cluster'), ['exec', c.dir, '--', ...cmd], { cwd: ROOT });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    for (const s of [child.stdout, child.stderr])
      s.on('data', (d: Buffer) => {
        out.write(d);
        process.stdout.write(d);
      });
    child.on('close', (code) => {
      clearTimeout(timer);
      out.end(() => resolve(code));
    });
  });
}

/** What `go test -v` printed for each top-level subtest of TestConformance: name → PASS|FAIL|SKIP. */
function outcomes(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const x of text.matchAll(/^\s*--- (PASS|FAIL|SKIP): TestConformance\/([A-Za-z]+) /gm))
    m.set(x[2], x[1]);
  return m;
}

interface Report {
  profiles: {
    name: string;
    core: { result: string; statistics: { Passed: number; Failed: number; Skipped: number } };
  }[];
}

async function runOne(config: Config, opts: ReturnType<typeof args>, p: ReturnType<typeof conformancePaths>) {
  const t0 = Date.now();
  const secs = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `infergate-conformance-${config}-`));
  const c = new Cluster(dir);
  await c.up({ podNetwork: 'bridge' });
  log(`${config}: cluster up (${secs()}) in ${dir}`);
  let agent: ReturnType<typeof startNodeAgent> | undefined;
  try {
    // The suite accepts only the Gateway API CRDs of the version it was built with (v1.6.1); the cluster has v1.6.3.
    await replaceCrds(c, [path.join(p.gatewayApi, 'config/crd/standard')]);

    const images: Record<string, { entrypoint: string[] }> = {
      'echo-basic': { entrypoint: [p.echo] },
      lwepp:
        config === 'A'
          ? { entrypoint: [p.lwepp] }
          : {
              // lwepp's image defaults: TLS with a self-signed certificate, the test header honoured.
              entrypoint: [
                process.execPath,
                path.join(ROOT, 'bin/infergate.js'),
                'epp',
                '--secure-serving',
                '--config-file',
                path.join(ROOT, 'conformance/infergate-epp.yaml'),
              ],
            },
    };
    const imagesFile = path.join(dir, 'images.json');
    fs.writeFileSync(imagesFile, JSON.stringify(images));
    agent = startNodeAgent(c, ['--images', imagesFile]);

    const helm = await c.exec(
      [
        'helm',
        'install',
        'infergate',
        path.join(ROOT, 'helm/infergate'),
        '--namespace',
        'infergate-system',
        '--create-namespace',
        // No load balancer here: the Gateways' address is their Envoy Service's ClusterIP (the node agent proxies it).
        '--set',
        'gatewayClass.envoy.serviceType=ClusterIP',
        // lwepp implements ext_proc's STREAMED body mode only (README.md); infergate's EPP speaks FULL_DUPLEX_STREAMED.
        ...(config === 'A'
          ? ['--set-string', 'gatewayClass.annotations.infergate\\.io/epp-processing-mode=STREAMED']
          : []),
        '--wait',
        '--timeout',
        '300s',
      ],
      { timeoutMs: 330_000 },
    );
    if (helm.code !== 0) throw new Error(`helm install helm/infergate failed:\n${helm.stderr}`);
    log(`${config}: helm/infergate installed (${secs()})`);

    fs.mkdirSync(opts.out, { recursive: true });
    const report = path.join(opts.out, `${VERSION}-${MODES[config]}-gateway-report.yaml`);
    const suiteLog = path.join(dir, 'suite.log');
    const code = await execLogged(
      c,
      [
        'env',
        `KUBECONFIG=${dir}/kubeconfig`,
        p.suite,
        '-test.run',
        'TestConformance',
        '-test.v',
        '-test.timeout',
        '50m',
        '-gateway-class',
        'infergate',
        '-mode',
        MODES[config],
        '-report-output',
        report,
        '-organization',
        'infergate',
        '-project',
        'infergate',
        '-url',
        'https://github.com/infergate/infergate',
        '-version',
        `v${VERSION}`,
        '-contact',
        'https://github.com/infergate/infergate/issues',
        '-cleanup-base-resources=false',
        ...(opts.runTest ? ['-run-test', opts.runTest] : []),
      ],
      suiteLog,
      55 * 60_000,
    );
    const text = fs.readFileSync(suiteLog, 'utf8');
    const seen = outcomes(text);
    log(
      `${config}: suite exited ${code} after ${secs()}: ${[...seen].map(([k, v]) => `${k} ${v}`).join(', ')}`,
    );
    fs.copyFileSync(suiteLog, path.join(opts.out, `${VERSION}-${MODES[config]}-suite.log`));

    // What EppUnAvailableFailOpen meant: the secondary pool's own EPP unavailable, traffic still served.
    const failOpen = await failOpenCheck(c);
    log(`${config}: fail-open check: ${failOpen}`);

    if (!fs.existsSync(report)) throw new Error(`${config}: the suite wrote no report (${suiteLog})`);
    const r = YAML.parse(fs.readFileSync(report, 'utf8')) as Report;
    const core = r.profiles.find((x) => x.name === 'Gateway')?.core;
    const passed = [...seen.values()].filter((v) => v === 'PASS').length;
    const failed = [...seen.values()].filter((v) => v === 'FAIL').length;
    if (!core) throw new Error(`${config}: no Gateway profile in ${report}`);
    if (core.statistics.Passed !== passed || core.statistics.Failed !== failed)
      throw new Error(
        `${config}: report statistics ${JSON.stringify(core.statistics)} differ from the suite's output (${passed} passed, ${failed} failed)`,
      );
    log(
      `${config}: report ${path.relative(ROOT, report)}: ${core.result} ${JSON.stringify(core.statistics)}`,
    );
    return {
      config,
      result: core.result,
      statistics: core.statistics,
      code,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    fs.writeFileSync(path.join(dir, 'node-agent.log'), agent?.log() ?? '');
    if (!opts.keep) {
      agent?.child.kill('SIGTERM');
      await sleep(1000);
      await c.down();
      fs.rmSync(dir, { recursive: true, force: true });
    } else log(`${config}: kept ${dir} (scripts/cluster down ${dir})`);
  }
}

/**
 * The secondary pool (FailOpen) with its own EPP Service selecting nothing: requests through the secondary Gateway
 * still reach the secondary pool's pods, with and without a body. Returns a one-line summary; throws on failure.
 */
async function failOpenCheck(c: Cluster): Promise<string> {
  const route = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'infergate-failopen-check', namespace: APP_NS },
    spec: {
      parentRefs: [{ name: 'conformance-secondary', namespace: INFRA_NS }],
      hostnames: ['secondary.example.com'],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/failopen-check' } }],
          backendRefs: [
            { group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'secondary-inference-pool' },
          ],
        },
      ],
    },
  };
  await c.apply(route);
  const gw = await c.getJson<{ status: { addresses?: { value: string }[] } }>([
    'gateway',
    '-n',
    INFRA_NS,
    'conformance-secondary',
  ]);
  const addr = gw.status.addresses?.[0]?.value;
  if (!addr) throw new Error('conformance-secondary has no address');
  const send = async (body: boolean) => {
    const r = await c.exec([
      'curl',
      '-s',
      '--max-time',
      '10',
      '-H',
      'Host: secondary.example.com',
      ...(body
        ? ['-H', 'content-type: application/json', '--data', '{"model":"m","prompt":"fail open"}']
        : []),
      '-w',
      '\n%{http_code}',
      `http://${addr}/failopen-check`,
    ]);
    const lines = r.stdout.trim().split('\n');
    const code = lines.pop() ?? '';
    let pod = '';
    try {
      pod = (JSON.parse(lines.join('\n')) as { pod?: string }).pod ?? '';
    } catch {
      // not an echo
    }
    return { code, pod };
  };
  const isSecondary = (x: { code: string; pod: string }) =>
    x.code === '200' && x.pod.startsWith('secondary-inference-model-server');
  await waitFor(
    'the fail-open check route to serve',
    async () => ((await send(false)).code === '200' ? true : undefined),
    { timeoutMs: 60_000, everyMs: 500 },
  );
  const svc = 'secondary-endpoint-picker-svc';
  const original = await c.getJson<{ spec: { selector: Record<string, string> } }>([
    'service',
    '-n',
    APP_NS,
    svc,
  ]);
  const setSelector = (selector: Record<string, string>) =>
    c.kubectl([
      'patch',
      'service',
      svc,
      '-n',
      APP_NS,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { selector } }),
    ]);
  await setSelector({ app: 'do-not-match-for-testing' });
  try {
    await waitFor(
      `${svc} with no endpoints`,
      async () => {
        const s = await c.getJson<{ items: { endpoints?: unknown[] }[] }>([
          'endpointslices',
          '-n',
          APP_NS,
          '-l',
          `kubernetes.io/service-name=${svc}`,
        ]);
        return s.items.every((x) => (x.endpoints ?? []).length === 0) ? true : undefined;
      },
      { timeoutMs: 30_000, everyMs: 500 },
    );
    const t = Date.now();
    // Converged when three in a row are served, as the suite's own traffic assertions count it.
    let streak = 0;
    const early: string[] = [];
    await waitFor(
      'fail-open: 3 consecutive 200s from the secondary pool',
      async () => {
        const x = await send(true);
        if (isSecondary(x)) streak++;
        else {
          streak = 0;
          early.push(x.code);
        }
        return streak >= 3 ? true : undefined;
      },
      { timeoutMs: 60_000, everyMs: 500 },
    );
    const converged = Date.now() - t;
    const results = [];
    for (let i = 0; i < 10; i++) results.push(await send(i % 2 === 0));
    const bad = results.filter((x) => !isSecondary(x));
    if (bad.length)
      throw new Error(`fail-open: ${bad.length}/10 not served by the secondary pool: ${JSON.stringify(bad)}`);
    return `EPP Service emptied → served by the secondary pool after ${converged} ms (${early.length} earlier replies: ${early.join(',') || 'none'}), then 10/10 (5 with a body)`;
  } finally {
    await setSelector(original.spec.selector);
  }
}

async function main() {
  const opts = args();
  const p = conformancePaths();
  const results = [];
  let ok = true;
  for (const config of opts.configs) {
    try {
      const r = await runOne(config, opts, p);
      results.push(r);
      // One test (--run-test): the others count as skipped and the report says partial.
      const passed = opts.runTest
        ? r.statistics.Passed === 1 && r.statistics.Failed === 0
        : r.result === 'success';
      if (!passed) ok = false;
    } catch (err) {
      ok = false;
      log(`${config}: ${(err as Error).message}`);
    }
  }
  log(`summary: ${JSON.stringify(results)}`);
  process.exit(ok ? 0 : 1);
}

void main();
