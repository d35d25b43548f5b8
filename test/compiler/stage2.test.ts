// Stage 2 goldens: for every test/testdata/compiler/<case>.in.yaml, the xDS resources compiled in ADS mode are
// compared with <case>.xds.yaml (UPDATE_GOLDEN=1 rewrites them), no emitted resource breaks Envoy's rules, and
// the static bootstrap of every Gateway passes the real `envoy --mode validate`.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { parseText } from '../../src/api/load';
import { compile, formatViolation, staticBootstrap } from '../../src/compiler';
import { renderBootstrap } from '../../src/compiler/output';
import { renderMessage } from '../../src/compiler/xds/render';
import { T } from '../../src/compiler/xds/types';
import { caseNames, COMPILER_CASES, golden } from '../support/golden';
import { envoyValidate } from '../support/envoy';

function load(name: string) {
  const file = path.join(COMPILER_CASES, `${name}.in.yaml`);
  return parseText(fs.readFileSync(file, 'utf8'), `${name}.in.yaml`).resources;
}

function renderXds(name: string): string {
  const result = compile(load(name), { mode: 'ads' });
  const doc = result.gateways.map((g) => ({
    gateway: g.key,
    listeners: g.resources.listeners.map((m) => renderMessage(T.Listener.name, m)),
    routes: g.resources.routes.map((m) => renderMessage(T.RouteConfiguration.name, m)),
    clusters: g.resources.clusters.map((m) => renderMessage(T.Cluster.name, m)),
    endpoints: g.resources.endpoints.map((m) => renderMessage(T.ClusterLoadAssignment.name, m)),
    secrets: g.resources.secrets.map((m) => renderMessage(T.Secret.name, m)),
  }));
  return stringify(
    { violations: result.violations.map(formatViolation), gateways: doc },
    { lineWidth: 0, aliasDuplicateObjects: false },
  );
}

const cases = caseNames(COMPILER_CASES);

describe('stage 2 goldens (IR → xDS)', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThanOrEqual(20));

  it.each(cases)('%s', (name) => {
    const actual = renderXds(name);
    expect(actual).toEqual(golden(path.join(COMPILER_CASES, `${name}.xds.yaml`), actual));
  });

  it.each(cases)('%s: no Listener carries a private key, in either mode', (name) => {
    for (const mode of ['ads', 'static'] as const) {
      for (const g of compile(load(name), { mode }).gateways) {
        const listeners = JSON.stringify(g.resources.listeners.map((m) => renderMessage(T.Listener.name, m)));
        expect(listeners).not.toMatch(/PRIVATE KEY/);
        for (const s of g.resources.secrets) expect(listeners).toContain(JSON.stringify(s.name));
      }
    }
  });

  it.each(cases)('%s: emitted resources obey Envoy validation rules', (name) => {
    for (const mode of ['ads', 'static'] as const) {
      const result = compile(load(name), { mode });
      expect(result.violations.map(formatViolation)).toEqual([]);
    }
  });
});

describe('static bootstraps pass envoy --mode validate', () => {
  const withGateways = cases.filter((name) => compile(load(name), { mode: 'static' }).gateways.length > 0);
  it('has cases with gateways', () => expect(withGateways.length).toBeGreaterThanOrEqual(15));

  it.each(withGateways)('%s', (name) => {
    const result = compile(load(name), { mode: 'static' });
    for (const g of result.gateways) {
      const yaml = renderBootstrap(staticBootstrap(g.resources, { gateway: g.key }), 'yaml');
      const verdict = envoyValidate(yaml);
      if (!verdict.ok) throw new Error(`envoy rejected ${name} (${g.key}):\n${verdict.output}`);
    }
  });
});
