// envoy/: the Envoy configurations users run by hand. Each passes `envoy --mode validate`; the generated ones are
// regenerated here and must equal the checked-in file below its comment header (UPDATE_ENVOY=1 rewrites the body
// and keeps the header), so the files never drift from the code; the hand-written standalone one must keep the
// shape of the upstream-style configuration the EPP tests send traffic through.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { formatJson } from '../src/compiler/output';
import { DEFAULT_PARAMS } from '../src/sources/kubernetes/fleet/params';
import { BOOTSTRAP_KEY, renderFleet } from '../src/sources/kubernetes/fleet/render';
import { envoyValidate } from './support/envoy';
import { infergate, ROOT } from './support/cli';

const ENVOY_DIR = path.join(ROOT, 'envoy');
const UPDATE = process.env.UPDATE_ENVOY === '1';

/** A file's leading comment block and the rest. */
function split(text: string): { header: string; body: string } {
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length && (lines[i].startsWith('#') || lines[i].trim() === '')) i++;
  return { header: lines.slice(0, i).join('\n'), body: lines.slice(i).join('\n') };
}

/** Compares the file's body with `generated`, or rewrites the body under the same header in update mode. */
function expectGenerated(file: string, generated: string): void {
  const full = path.join(ENVOY_DIR, file);
  const { header, body } = split(fs.readFileSync(full, 'utf8'));
  expect(header).toMatch(/^# /);
  if (UPDATE) {
    fs.writeFileSync(full, `${header.replace(/\n+$/, '')}\n${generated}`);
    return;
  }
  if (body !== generated)
    throw new Error(
      `envoy/${file} differs from what the code generates: UPDATE_ENVOY=1 npx jest test/envoy-configs.test.ts, then review`,
    );
}

function expectValid(file: string): void {
  const r = envoyValidate(fs.readFileSync(path.join(ENVOY_DIR, file), 'utf8'));
  if (!r.ok) throw new Error(`envoy --mode validate rejected envoy/${file}:\n${r.output}`);
}

/** Every socket address replaced by one placeholder: two configurations equal but for where they listen/connect. */
function withoutAddresses(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutAddresses);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = k === 'socket_address' ? 'ADDRESS' : withoutAddresses(x);
    return out;
  }
  return v;
}

describe('envoy/', () => {
  it('README.md names every configuration in the folder', () => {
    const readme = fs.readFileSync(path.join(ENVOY_DIR, 'README.md'), 'utf8');
    const configs = fs.readdirSync(ENVOY_DIR).filter((f) => f.endsWith('.yaml'));
    expect(configs.sort()).toEqual([
      'fleet-ads-bootstrap.yaml',
      'managed-fleet-bootstrap.yaml',
      'standalone-epp.yaml',
    ]);
    for (const f of configs) expect(readme).toContain(f);
  });

  it('fleet-ads-bootstrap.yaml is what `infergate compile --mode ads` emits, and Envoy accepts it', () => {
    const r = infergate(
      'compile',
      path.join(ROOT, 'examples', 'quickstart'),
      '--mode',
      'ads',
      '--gateway',
      'default/inference-gateway',
      '--xds-address',
      '127.0.0.1:18000',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expectGenerated('fleet-ads-bootstrap.yaml', r.stdout);
    expectValid('fleet-ads-bootstrap.yaml');
  });

  it("managed-fleet-bootstrap.yaml is the managed Deployment's ConfigMap bootstrap, and Envoy accepts it", () => {
    const fleet = renderFleet(
      {
        namespace: 'default',
        name: 'inference-gateway',
        uid: '00000000-0000-0000-0000-000000000000',
        className: 'infergate',
        ports: [{ port: 8080, protocol: 'HTTP' }],
      },
      DEFAULT_PARAMS,
      'infergate.infergate-system.svc.cluster.local:18000',
    );
    const json = (fleet.configMap.data as Record<string, string>)[BOOTSTRAP_KEY];
    expectGenerated('managed-fleet-bootstrap.yaml', formatJson(JSON.parse(json), 'yaml'));
    // The same document the ConfigMap holds, and the path the Deployment mounts it at.
    const file = fs.readFileSync(path.join(ENVOY_DIR, 'managed-fleet-bootstrap.yaml'), 'utf8');
    expect(YAML.parse(file)).toEqual(JSON.parse(json));
    expect(JSON.stringify(fleet.deployment)).toContain(`/etc/envoy/${BOOTSTRAP_KEY}`);
    expectValid('managed-fleet-bootstrap.yaml');
  });

  it('standalone-epp.yaml has the shape of the upstream-style config the EPP tests run, and Envoy accepts it', () => {
    const mine = YAML.parse(fs.readFileSync(path.join(ENVOY_DIR, 'standalone-epp.yaml'), 'utf8')) as Record<
      string,
      never
    >;
    const tested = YAML.parse(
      fs
        .readFileSync(path.join(ROOT, 'test', 'testdata', 'epp', 'upstream-style-envoy.yaml'), 'utf8')
        .replace(/\$\{[A-Z_]+\}/g, '1'),
    ) as Record<string, never>;
    expect(withoutAddresses(mine)).toEqual(withoutAddresses(tested));
    // What makes it upstream-style, stated rather than only inherited.
    const text = JSON.stringify(mine);
    expect(text).toContain('"type":"ORIGINAL_DST"');
    expect(text).toContain('"http_header_name":"x-gateway-destination-endpoint"');
    expect(text).toContain('"request_body_mode":"FULL_DUPLEX_STREAMED"');
    expect(text).toContain('"response_body_mode":"FULL_DUPLEX_STREAMED"');
    expectValid('standalone-epp.yaml');
  });
});
