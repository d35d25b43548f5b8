// `infergate compile` with an HTTPS Gateway: the Listener names its certificate, the key is only in the Secret
// (static_resources.secrets of a static bootstrap, or secrets.yaml with --out, readable by its owner only).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { infergate } from '../support/cli';
import { envoyValidate, tmpDir } from '../support/envoy';
import { selfSignedCertificate } from '../support/certs';
import { SECRET_NAME, httpsGatewayYaml } from '../xds/tls-fixtures';

const PEM_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

describe('infergate compile with TLS certificates', () => {
  const dir = tmpDir('tls-in');
  const input = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(
    input,
    httpsGatewayYaml({
      listenPort: 8443,
      hostname: 'web.example.com',
      cert: selfSignedCertificate(['web.example.com']),
      backend: { address: '127.0.0.1', port: 9000 },
    }),
  );

  it('--mode static: the key is in static_resources.secrets, the Listener names it, Envoy accepts it', () => {
    const r = infergate('compile', input, '--mode', 'static');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(PEM_KEY);
    const doc = parse(r.stdout) as {
      static_resources: { listeners: unknown[]; secrets: { name: string }[] };
    };
    const listeners = JSON.stringify(doc.static_resources.listeners);
    expect(listeners).not.toMatch(PEM_KEY);
    // Named without sds_config: a static secret.
    expect(listeners).toContain(`"tls_certificate_sds_secret_configs":[{"name":"${SECRET_NAME}"}]`);
    expect(doc.static_resources.secrets.map((x) => x.name)).toEqual([SECRET_NAME]);
    expect(JSON.stringify(doc.static_resources.secrets)).toMatch(PEM_KEY);
    expect(envoyValidate(r.stdout).ok).toBe(true);
  });

  it('--out: secrets.yaml holds the key (mode 0600); listeners and bootstrap hold none', () => {
    const out = tmpDir('tls-out');
    const r = infergate('compile', input, '--mode', 'ads', '--out', out);
    expect(r.code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual([
      'bootstrap.yaml',
      'clusters.yaml',
      'endpoints.yaml',
      'listeners.yaml',
      'routes.yaml',
      'secrets.yaml',
    ]);
    const secrets = path.join(out, 'secrets.yaml');
    expect(fs.readFileSync(secrets, 'utf8')).toMatch(PEM_KEY);
    expect(fs.statSync(secrets).mode & 0o777).toBe(0o600);
    for (const f of ['bootstrap.yaml', 'listeners.yaml'])
      expect(fs.readFileSync(path.join(out, f), 'utf8')).not.toMatch(PEM_KEY);
    expect(fs.readFileSync(path.join(out, 'listeners.yaml'), 'utf8')).toContain('ads: {}');
  });
});
