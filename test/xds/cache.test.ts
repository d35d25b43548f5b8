// The snapshot cache and the ADS handlers without Envoy: versions, consistency, push order, stale nonces,
// NACK parking and node state, driven by a real grpc-js client.

process.env.INFERGATE_LOG_LEVEL ??= 'error';

import { SnapshotCache } from '../../src/xds/cache';
import { ClientRegistry } from '../../src/xds/clients';
import { XdsMetrics } from '../../src/xds/metrics';
import { XDS } from '../../src/xds/resource-types';
import { startXdsServer, type XdsServer } from '../../src/xds/server';
import { replaceTypes, resourcesOf, typeSnapshot, type Snapshot } from '../../src/xds/snapshot';
import { adsClient, delta, deltaReq, sotw, sotwReq } from './client';
import { GROUP, sleep, snapshotOf, waitFor, type Input } from './fixtures';
import type { AggregatedDiscoveryServiceClient } from '../../generated/envoy/service/discovery/v3/ads';
import { Secret } from '../../generated/envoy/extensions/transport_sockets/tls/v3/secret';
import { selfSignedCertificate } from '../support/certs';
import { SECRET_NAME, tlsSnapshotOf, type TlsInput } from './tls-fixtures';

const input = (routes: Record<string, string>, aPort = 9001): Input => ({
  listenPort: 10080,
  routes,
  services: { 'svc-a': { address: '127.0.0.1', port: aPort }, 'svc-b': { address: '127.0.0.1', port: 9002 } },
});
const v1 = () => snapshotOf(input({ '/a': 'svc-a', '/b': 'svc-b' }));
const node = { id: 'n1', cluster: GROUP };
const CDS = XDS.Cluster.typeUrl;
const EDS = XDS.ClusterLoadAssignment.typeUrl;
const LDS = XDS.Listener.typeUrl;
const RDS = XDS.RouteConfiguration.typeUrl;
const SDS = XDS.Secret.typeUrl;
const certs = [selfSignedCertificate(['web.example.com']), selfSignedCertificate(['web.example.com'])];
const tlsInput = (cert = 0, hostname = 'web.example.com'): TlsInput => ({
  listenPort: 10443,
  hostname,
  cert: certs[cert],
  backend: { address: '127.0.0.1', port: 9001 },
});
/** The certificate a Secret resource in a response carries. */
const servedCert = (any: { value: Uint8Array }) => {
  const s = Secret.decode(any.value);
  const chain = s.type?.$case === 'tlsCertificate' ? s.type.value.certificateChain?.specifier : undefined;
  return chain?.$case === 'inlineString' ? chain.value : undefined;
};
const short = (url: string) => url.split('.').pop();
const version = (s: Snapshot, url: string) => s.types.get(url)!.version;

describe('snapshots', () => {
  it('versions are hashes of the bytes: stable across builds, moved only by a change', () => {
    const a = v1();
    const b = v1();
    expect(b.version).toBe(a.version);
    const c = snapshotOf(input({ '/a': 'svc-a', '/b': 'svc-b' }, 9009));
    expect(version(c, EDS)).not.toBe(version(a, EDS));
    for (const t of [CDS, LDS, RDS]) expect(version(c, t)).toBe(version(a, t));
    // Per resource: only svc-a's ClusterLoadAssignment moved.
    const cla = (s: Snapshot, n: string) => s.types.get(EDS)!.resources.get(n)!.version;
    expect(cla(c, 'service/default/svc-b/80')).toBe(cla(a, 'service/default/svc-b/80'));
    expect(cla(c, 'service/default/svc-a/80')).not.toBe(cla(a, 'service/default/svc-a/80'));
  });

  it('refuses inconsistent snapshots and keeps the last good one', () => {
    const cache = new SnapshotCache();
    const good = v1();
    expect(cache.set(good)).toEqual({ published: true, changed: true });
    // An EDS cluster without its ClusterLoadAssignment, and a route nobody names.
    const noEds = replaceTypes(good, [typeSnapshot(XDS.ClusterLoadAssignment, [])]);
    const r1 = cache.set(noEds);
    expect(r1.published).toBe(false);
    expect(r1.published === false && r1.problems.join('\n')).toMatch(/has no ClusterLoadAssignment/);
    const noLds = replaceTypes(good, [typeSnapshot(XDS.Listener, [])]);
    const r2 = cache.set(noLds);
    expect(r2.published === false && r2.problems.join('\n')).toMatch(/named by no listener/);
    expect(cache.get(GROUP)).toBe(good);
    expect(cache.set(v1())).toEqual({ published: true, changed: false });
  });
});

describe('snapshots with TLS certificates (SDS)', () => {
  it('a certificate rotation moves only the Secret: the Listener keeps its version', () => {
    const a = tlsSnapshotOf(tlsInput(0));
    const b = tlsSnapshotOf(tlsInput(1));
    expect([...a.types.get(SDS)!.resources.keys()]).toEqual([SECRET_NAME]);
    expect(version(b, SDS)).not.toBe(version(a, SDS));
    for (const t of [CDS, EDS, LDS, RDS]) expect(version(b, t)).toBe(version(a, t));
    expect(new SnapshotCache().set(a)).toEqual({ published: true, changed: true });
  });

  it('refuses a snapshot whose listeners name a missing Secret, or with a Secret nobody names', () => {
    const cache = new SnapshotCache();
    const good = tlsSnapshotOf(tlsInput(0));
    const missing = cache.set(replaceTypes(good, [typeSnapshot(XDS.Secret, [])]));
    expect(missing.published === false && missing.problems).toEqual([
      `SDS names missing Secret ${JSON.stringify(SECRET_NAME)}`,
    ]);
    const extra = resourcesOf(good, XDS.Secret).map((m) => ({ ...m, name: 'secret/default/stray' }));
    const stray = cache.set(
      replaceTypes(good, [typeSnapshot(XDS.Secret, [...resourcesOf(good, XDS.Secret), ...extra])]),
    );
    expect(stray.published === false && stray.problems).toEqual([
      'Secret "secret/default/stray" is named by no listener or cluster',
    ]);
    expect(cache.get(GROUP)).toBeUndefined();
  });
});

describe('ADS handlers', () => {
  let cache: SnapshotCache;
  let clients: ClientRegistry;
  let metrics: XdsMetrics;
  let server: XdsServer;
  let client: AggregatedDiscoveryServiceClient;

  beforeEach(async () => {
    cache = new SnapshotCache();
    metrics = new XdsMetrics();
    clients = new ClientRegistry(metrics);
    server = await startXdsServer({ address: '127.0.0.1:0', cache, clients });
    client = adsClient(server.port);
  });
  afterEach(async () => {
    client.close();
    await server.close(500);
  });

  it('SotW: pushes CDS → EDS → LDS → RDS, removals last; ignores stale nonces; parks a NACKed version', async () => {
    const s0 = v1();
    cache.set(s0);
    const st = sotw(client);
    const claNames = [...s0.types.get(EDS)!.resources.keys()];
    const routeNames = [...s0.types.get(RDS)!.resources.keys()];
    const nonces: Record<string, string> = {};
    const versions: Record<string, string> = {};
    const subscribe = async (typeUrl: string, names: string[]) => {
      st.send(sotwReq({ node, typeUrl, resourceNames: names }));
      const r = await st.next();
      expect(r.typeUrl).toBe(typeUrl);
      nonces[typeUrl] = r.nonce;
      versions[typeUrl] = r.versionInfo;
      st.send(sotwReq({ typeUrl, resourceNames: names, responseNonce: r.nonce, versionInfo: r.versionInfo }));
      return r;
    };
    expect((await subscribe(CDS, [])).resources).toHaveLength(2);
    expect((await subscribe(EDS, claNames)).resources).toHaveLength(2);
    expect((await subscribe(LDS, [])).resources).toHaveLength(1);
    expect((await subscribe(RDS, routeNames)).resources).toHaveLength(1);
    await waitFor('ACKs', () => Object.keys(clients.get('n1')!.acked).length === 4);
    expect(clients.get('n1')!.acked.Cluster).toBe(version(s0, CDS));

    // Dropping /b removes svc-b: CDS first still carries svc-b, and the CDS without it comes after RDS.
    const s1 = snapshotOf(input({ '/a': 'svc-a' }));
    cache.set(s1);
    const pushed = await st.drain(200);
    expect(pushed.map((r) => short(r.typeUrl))).toEqual([
      'Cluster',
      'ClusterLoadAssignment',
      'RouteConfiguration',
      'Cluster',
    ]);
    expect(pushed[0].resources).toHaveLength(2);
    expect(pushed[3].resources).toHaveLength(1);
    expect(pushed[3].versionInfo).toBe(version(s1, CDS));

    // An ACK of the superseded CDS response carries a stale nonce and is ignored.
    st.send(sotwReq({ typeUrl: CDS, responseNonce: pushed[0].nonce, versionInfo: pushed[0].versionInfo }));
    const rds = pushed[2];
    // NACK the routes: nothing is resent, however often the node asks with that nonce.
    st.send(
      sotwReq({
        typeUrl: RDS,
        resourceNames: routeNames,
        responseNonce: rds.nonce,
        versionInfo: versions[RDS],
        errorDetail: { code: 3, message: 'bad regex' },
      }),
    );
    await waitFor('NACK', () => clients.get('n1')?.lastNack);
    for (let i = 0; i < 5; i++) {
      st.send(
        sotwReq({
          typeUrl: RDS,
          resourceNames: routeNames,
          responseNonce: rds.nonce,
          versionInfo: versions[RDS],
        }),
      );
    }
    expect(await st.drain(300)).toEqual([]);
    const nack = clients.get('n1')!.lastNack!;
    expect(nack).toMatchObject({ type: 'RouteConfiguration', version: version(s1, RDS) });
    expect(nack.errorDetail.message).toBe('bad regex');
    expect(clients.get('n1')!.acked.RouteConfiguration).toBe(version(s0, RDS));
    expect((await metrics.nacks.get()).values[0].value).toBe(1);

    // A new snapshot unparks it.
    cache.set(s0);
    const after = await st.drain(200);
    expect(after.map((r) => short(r.typeUrl))).toContain('RouteConfiguration');
    st.close();
    await waitFor('node state dropped', () => clients.get('n1') === undefined);
  });

  it('Delta: initial versions are honoured, updates in order then removals, a NACK is not resent', async () => {
    const s0 = v1();
    cache.set(s0);
    const d = delta(client);
    const claA = 'service/default/svc-a/80';
    const claB = 'service/default/svc-b/80';
    // Reconnecting with svc-b's current version: only svc-a is sent.
    const claVersion = (s: Snapshot, n: string) => s.types.get(EDS)!.resources.get(n)!.version;
    d.send(deltaReq({ node, typeUrl: CDS }));
    const cds = await d.next();
    expect(cds.resources.map((r) => r.name).sort()).toEqual([
      'service/default/svc-a/80',
      'service/default/svc-b/80',
    ]);
    d.send(deltaReq({ typeUrl: CDS, responseNonce: cds.nonce }));
    d.send(
      deltaReq({
        typeUrl: EDS,
        resourceNamesSubscribe: [claA, claB],
        initialResourceVersions: { [claB]: claVersion(s0, claB) },
      }),
    );
    const eds = await d.next();
    expect(eds.resources.map((r) => r.name)).toEqual([claA]);
    d.send(deltaReq({ typeUrl: EDS, responseNonce: eds.nonce }));
    d.send(deltaReq({ typeUrl: LDS }));
    const lds = await d.next();
    d.send(deltaReq({ typeUrl: LDS, responseNonce: lds.nonce }));
    const routeName = [...s0.types.get(RDS)!.resources.keys()][0];
    d.send(deltaReq({ typeUrl: RDS, resourceNamesSubscribe: [routeName] }));
    const rds = await d.next();
    d.send(deltaReq({ typeUrl: RDS, responseNonce: rds.nonce }));
    await waitFor('ACKs', () => clients.get('n1')?.acked.RouteConfiguration);

    const s1 = snapshotOf(input({ '/a': 'svc-a' }));
    cache.set(s1);
    const pushed = await d.drain(200);
    const kinds = pushed.map((r) => `${short(r.typeUrl)}:${r.resources.length ? 'update' : 'remove'}`);
    expect(kinds).toEqual(['RouteConfiguration:update', 'Cluster:remove', 'ClusterLoadAssignment:remove']);
    expect(pushed[1].removedResources).toEqual([claB]);

    // NACK the route update: not resent on later requests.
    d.send(
      deltaReq({ typeUrl: RDS, responseNonce: pushed[0].nonce, errorDetail: { code: 3, message: 'no' } }),
    );
    d.send(deltaReq({ typeUrl: RDS }));
    expect(await d.drain(300)).toEqual([]);
    expect(clients.get('n1')!.lastNack).toMatchObject({
      type: 'RouteConfiguration',
      version: version(s1, RDS),
    });
    d.close();
    await waitFor('node state dropped', () => clients.get('n1') === undefined);
  });

  it('SotW: serves Secrets by name; a rotation pushes only the Secret; Secrets go before Listeners', async () => {
    const s0 = tlsSnapshotOf(tlsInput(0));
    cache.set(s0);
    const st = sotw(client);
    const subscribe = async (typeUrl: string, names: string[]) => {
      st.send(sotwReq({ node, typeUrl, resourceNames: names }));
      const r = await st.next();
      expect(r.typeUrl).toBe(typeUrl);
      st.send(sotwReq({ typeUrl, resourceNames: names, responseNonce: r.nonce, versionInfo: r.versionInfo }));
      return r;
    };
    await subscribe(CDS, []);
    await subscribe(EDS, [...s0.types.get(EDS)!.resources.keys()]);
    await subscribe(LDS, []);
    const sds = await subscribe(SDS, [SECRET_NAME]);
    expect(sds.resources.map(servedCert)).toEqual([certs[0].certPem]);
    await subscribe(RDS, [...s0.types.get(RDS)!.resources.keys()]);
    await waitFor('ACKs', () => clients.get('n1')?.acked.Secret === version(s0, SDS));

    cache.set(tlsSnapshotOf(tlsInput(1)));
    const rotated = await st.drain(200);
    expect(rotated.map((r) => short(r.typeUrl))).toEqual(['Secret']);
    expect(rotated[0].resources.map(servedCert)).toEqual([certs[1].certPem]);
    st.send(sotwReq({ typeUrl: SDS, resourceNames: [SECRET_NAME], responseNonce: rotated[0].nonce }));

    // Certificate and hostname change together: the Secret the listener uses is there before the listener.
    cache.set(tlsSnapshotOf(tlsInput(0, 'other.example.com')));
    const both = (await st.drain(200)).map((r) => short(r.typeUrl));
    expect(both).toEqual(['Secret', 'Listener', 'RouteConfiguration']);
    st.close();
    await waitFor('node state dropped', () => clients.get('n1') === undefined);
  });

  it('Delta: serves Secrets by name; a rotation pushes only the Secret; Secrets go before Listeners', async () => {
    const s0 = tlsSnapshotOf(tlsInput(0));
    cache.set(s0);
    const d = delta(client);
    const subscribe = async (typeUrl: string, names: string[]) => {
      d.send(deltaReq({ node, typeUrl, resourceNamesSubscribe: names }));
      const r = await d.next();
      expect(r.typeUrl).toBe(typeUrl);
      d.send(deltaReq({ typeUrl, responseNonce: r.nonce }));
      return r;
    };
    await subscribe(CDS, []);
    await subscribe(EDS, [...s0.types.get(EDS)!.resources.keys()]);
    await subscribe(LDS, []);
    const sds = await subscribe(SDS, [SECRET_NAME]);
    expect(sds.resources.map((r) => [r.name, servedCert(r.resource!)])).toEqual([
      [SECRET_NAME, certs[0].certPem],
    ]);
    await subscribe(RDS, [...s0.types.get(RDS)!.resources.keys()]);
    await waitFor('ACKs', () => clients.get('n1')?.acked.RouteConfiguration);

    cache.set(tlsSnapshotOf(tlsInput(1)));
    const rotated = await d.drain(200);
    expect(rotated.map((r) => short(r.typeUrl))).toEqual(['Secret']);
    expect(rotated[0].resources.map((r) => servedCert(r.resource!))).toEqual([certs[1].certPem]);
    d.send(deltaReq({ typeUrl: SDS, responseNonce: rotated[0].nonce }));

    cache.set(tlsSnapshotOf(tlsInput(0, 'other.example.com')));
    const both = (await d.drain(200)).map((r) => short(r.typeUrl));
    expect(both).toEqual(['Secret', 'Listener', 'RouteConfiguration']);
    d.close();
    await waitFor('node state dropped', () => clients.get('n1') === undefined);
  });

  it('answers a node whose group has no snapshot yet once one is published', async () => {
    const st = sotw(client);
    st.send(sotwReq({ node, typeUrl: LDS }));
    expect(await st.drain(100)).toEqual([]);
    cache.set(v1());
    const r = await st.next();
    expect(resourcesOf(cache.get(GROUP)!, XDS.Listener)).toHaveLength(r.resources.length);
    st.close();
    await sleep(10);
  });
});
