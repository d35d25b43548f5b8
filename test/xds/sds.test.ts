// Live: HTTPS through a real Envoy whose certificate comes over SDS from `infergate serve`'s control plane, on
// delta and on SotW ADS: a real TLS handshake verified against the served certificate; a rotated Secret changes
// only the Secret (the Listener keeps its version and is not modified in Envoy) and Envoy serves the new
// certificate; /debug/* show no private key. And a static bootstrap (static_resources.secrets) serving HTTPS.

process.env.INFERGATE_LOG_LEVEL ??= 'error';

import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { startControlPlane, type ControlPlane } from '../../src/cli/serve';
import { parseText } from '../../src/api/load';
import { compile, staticBootstrap } from '../../src/compiler';
import { renderBootstrap } from '../../src/compiler/output';
import { XDS } from '../../src/xds/resource-types';
import { REDACTED } from '../../src/util/redact';
import { startBackend, type Backend } from '../support/backend';
import { selfSignedCertificate, type TestCertificate } from '../support/certs';
import { envoyStat, freePort, startEnvoy, tmpDir, type RunningEnvoy } from '../support/envoy';
import { GROUP, bootstrapYaml, waitFor } from './fixtures';
import { SECRET_NAME, httpsGatewayYaml, type TlsInput } from './tls-fixtures';

jest.setTimeout(60000);

const HOST = 'web.example.com';
const PEM_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

interface Answer {
  status: number;
  backend?: string;
  fingerprint?: string;
}

/** One HTTPS request on a fresh connection, trusting only `ca`, with SNI and Host set to HOST. */
function get(port: number, ca: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: '127.0.0.1', port, servername: HOST, headers: { host: HOST }, ca, agent: false, timeout: 5000 },
      (res) => {
        const fingerprint = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, backend: res.headers['x-backend'] as string, fingerprint }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** The certificate Envoy presents now, or the TLS error when it is not the one `ca` trusts. */
const tryGet = (port: number, ca: string) =>
  get(port, ca).then(
    (a) => a,
    (e: Error) => ({ status: 0, error: e.message }) as Answer & { error: string },
  );

describe.each(['delta', 'sotw'] as const)('SDS over %s ADS with a real Envoy', (protocol) => {
  const certs: TestCertificate[] = [selfSignedCertificate([HOST]), selfSignedCertificate([HOST])];
  let backend: Backend;
  let cp: ControlPlane;
  let envoy: RunningEnvoy;
  let input: TlsInput;
  let file: string;
  let cpAdmin: number;
  const nodeId = `envoy-${protocol}`;

  const write = (i: TlsInput) => {
    input = i;
    fs.writeFileSync(file + '.tmp', httpsGatewayYaml(i));
    fs.renameSync(file + '.tmp', file);
  };
  const version = (t: { typeUrl: string }) => cp.cache.get(GROUP)?.types.get(t.typeUrl)?.version;
  const node = () => cp.clients.list().find((n) => n.id === nodeId);
  const acked = (t: (typeof XDS)[keyof typeof XDS]) => node()?.acked[t.short] === version(t);

  beforeAll(async () => {
    backend = await startBackend('web', '127.0.0.1');
    const dir = tmpDir('sds');
    file = path.join(dir, 'gateway.yaml');
    write({
      listenPort: await freePort(),
      hostname: HOST,
      cert: certs[0],
      backend: { address: '127.0.0.1', port: backend.port },
    });
    const xdsPort = await freePort();
    cpAdmin = await freePort();
    cp = await startControlPlane({ paths: [dir], xdsPort, adminPort: cpAdmin, listenAddress: '127.0.0.1' });
    const adminPort = await freePort();
    envoy = await startEnvoy(bootstrapYaml(xdsPort, adminPort, nodeId, protocol), adminPort);
  });

  afterAll(async () => {
    await envoy?.stop();
    await cp?.close();
    await backend?.close();
  });

  it('terminates TLS with the certificate from the Secret and routes to the backend', async () => {
    await waitFor('Envoy ACKs the Secret and the Listener', () => acked(XDS.Secret) && acked(XDS.Listener));
    const a = await waitFor('HTTPS answers', async () => {
      const r = await tryGet(input.listenPort, certs[0].certPem);
      return r.status === 200 ? r : undefined;
    });
    expect(a).toEqual({ status: 200, backend: 'web', fingerprint: certs[0].fingerprint256 });
    // The Listener Envoy holds names the Secret; it carries no key.
    const listeners = await (
      await fetch(`http://127.0.0.1:${envoy.adminPort}/config_dump?resource=dynamic_listeners`)
    ).text();
    expect(listeners).toContain(SECRET_NAME);
    expect(listeners).not.toMatch(PEM_KEY);
    const secrets = await (
      await fetch(`http://127.0.0.1:${envoy.adminPort}/config_dump?resource=dynamic_active_secrets`)
    ).text();
    expect(secrets).toContain(SECRET_NAME);
  });

  it('a rotated Secret changes only the Secret; Envoy serves the new certificate, the Listener untouched', async () => {
    const before = { listener: version(XDS.Listener)!, secret: version(XDS.Secret)! };
    const sentListener = node()!.sent.Listener;
    const modified = await envoyStat(envoy.adminPort, 'listener_manager.listener_modified');
    const added = await envoyStat(envoy.adminPort, 'listener_manager.listener_added');
    expect([modified, added]).toEqual([expect.any(Number), expect.any(Number)]);
    write({ ...input, cert: certs[1] });
    await waitFor('new Secret published', () => version(XDS.Secret) !== before.secret);
    await waitFor('Envoy ACKs the new Secret', () => acked(XDS.Secret));
    const a = await waitFor('the new certificate is served', async () => {
      const r = await tryGet(input.listenPort, certs[1].certPem);
      return r.status === 200 ? r : undefined;
    });
    expect(a).toEqual({ status: 200, backend: 'web', fingerprint: certs[1].fingerprint256 });
    // The old certificate is gone: a client that trusts only it fails the handshake.
    const old = (await tryGet(input.listenPort, certs[0].certPem)) as Answer & { error?: string };
    expect(old.status).toBe(0);
    expect(old.error).toMatch(/self[- ]signed|certificate/i);
    expect(version(XDS.Listener)).toBe(before.listener);
    expect(node()!.sent.Listener).toBe(sentListener);
    expect(await envoyStat(envoy.adminPort, 'listener_manager.listener_modified')).toBe(modified);
    expect(await envoyStat(envoy.adminPort, 'listener_manager.listener_added')).toBe(added);
  });

  it('/debug/config, /debug/clients and /debug/status show no private key, only the marker', async () => {
    const config = await (await fetch(`http://127.0.0.1:${cpAdmin}/debug/config`)).text();
    expect(config).not.toMatch(PEM_KEY);
    expect(config).toContain(REDACTED);
    const parsed = JSON.parse(config) as Record<
      string,
      { types: Record<string, { resources: { name: string; resource: unknown }[] }> }
    >;
    const secret = parsed[GROUP].types.Secret.resources[0];
    expect(secret.name).toBe(SECRET_NAME);
    expect(secret.resource).toEqual({
      name: SECRET_NAME,
      tls_certificate: {
        certificate_chain: { inline_string: certs[1].certPem },
        private_key: { inline_string: REDACTED },
      },
    });
    for (const page of ['/debug/clients', '/debug/status']) {
      expect(await (await fetch(`http://127.0.0.1:${cpAdmin}${page}`)).text()).not.toMatch(PEM_KEY);
    }
  });
});

describe('static bootstrap with static_resources.secrets and a real Envoy', () => {
  let backend: Backend;
  let envoy: RunningEnvoy;

  afterAll(async () => {
    await envoy?.stop();
    await backend?.close();
  });

  it('serves HTTPS with the certificate named by the Listener', async () => {
    backend = await startBackend('web', '127.0.0.1');
    const cert = selfSignedCertificate([HOST]);
    const listenPort = await freePort();
    const yaml = httpsGatewayYaml({
      listenPort,
      hostname: HOST,
      cert,
      backend: { address: '127.0.0.1', port: backend.port },
    });
    const result = compile(parseText(yaml, 'tls.yaml').resources, {
      mode: 'static',
      listenAddress: '127.0.0.1',
    });
    expect(result.violations).toEqual([]);
    const g = result.gateways[0];
    expect(g.resources.secrets.map((s) => s.name)).toEqual([SECRET_NAME]);
    const adminPort = await freePort();
    envoy = await startEnvoy(
      renderBootstrap(staticBootstrap(g.resources, { gateway: g.key, adminPort }), 'yaml'),
      adminPort,
    );
    const a = await waitFor('HTTPS answers', async () => {
      const r = await tryGet(listenPort, cert.certPem);
      return r.status === 200 ? r : undefined;
    });
    expect(a).toEqual({ status: 200, backend: 'web', fingerprint: cert.fingerprint256 });
  });
});
