// What Envoy 1.40 does with ext_proc `failure_mode_allow: true` in FULL_DUPLEX_STREAMED mode when the processor's
// connection is refused and nothing has ejected its host: the wiring kgateway v2.2.0 gives an InferencePool whose
// EPP is stopped (STRICT_DNS EPP cluster, no health check, no outlier detection; test/kgateway/README.md). A request
// without a body fails open; a request with a body gets 500, because Envoy has streamed the body to the processor
// (it keeps no copy) before the connect fails. infergate's own gateway ejects a failed EPP host so the stream
// cannot start and the request fails open with its body (test/e2e/failure-modes.test.ts).

import { envoyStat, freePort, startEnvoy, type RunningEnvoy } from './support/envoy';
import { startBackend, type Backend } from './support/backend';

function bootstrap(admin: number, listener: number, backend: number, processor: number): string {
  return JSON.stringify({
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: admin } } },
    static_resources: {
      listeners: [
        {
          name: 'in',
          address: { socket_address: { address: '127.0.0.1', port_value: listener } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'in',
                    route_config: {
                      virtual_hosts: [
                        {
                          name: 'all',
                          domains: ['*'],
                          routes: [{ match: { prefix: '/' }, route: { cluster: 'pool' } }],
                        },
                      ],
                    },
                    http_filters: [
                      {
                        name: 'envoy.filters.http.ext_proc',
                        typed_config: {
                          '@type':
                            'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
                          grpc_service: { envoy_grpc: { cluster_name: 'epp' }, timeout: '5s' },
                          failure_mode_allow: true,
                          message_timeout: '5s',
                          processing_mode: {
                            request_header_mode: 'SEND',
                            response_header_mode: 'SEND',
                            request_body_mode: 'FULL_DUPLEX_STREAMED',
                            response_body_mode: 'FULL_DUPLEX_STREAMED',
                            request_trailer_mode: 'SEND',
                            response_trailer_mode: 'SEND',
                          },
                        },
                      },
                      {
                        name: 'envoy.filters.http.router',
                        typed_config: {
                          '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                        },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        staticCluster('pool', backend, false),
        // What kgateway emits for the EPP, but STATIC to a port nobody listens on instead of STRICT_DNS to a name.
        staticCluster('epp', processor, true),
      ],
    },
  });
}

function staticCluster(name: string, port: number, h2: boolean): object {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '2s',
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } },
          ],
        },
      ],
    },
    ...(h2
      ? {
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
        }
      : {}),
  };
}

describe('Envoy ext_proc failure_mode_allow, FULL_DUPLEX_STREAMED, processor connection refused', () => {
  let envoy: RunningEnvoy;
  let backend: Backend;
  let listener: number;

  beforeAll(async () => {
    backend = await startBackend('pool-pod', '127.0.0.1');
    const [admin, port, closed] = [await freePort(), await freePort(), await freePort()];
    listener = port;
    envoy = await startEnvoy(bootstrap(admin, listener, backend.port, closed), admin);
  }, 90_000);

  afterAll(async () => {
    await envoy?.stop();
    await backend?.close();
  });

  const allowed = async () =>
    (await envoyStat(envoy.adminPort, 'http.in.ext_proc.failure_mode_allowed')) ?? 0;

  test('a request without a body fails open: the backend answers and Envoy counts failure_mode_allowed', async () => {
    const before = await allowed();
    const r = await fetch(`http://127.0.0.1:${listener}/v1/models`);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-backend')).toBe('pool-pod');
    expect((await allowed()) - before).toBe(1);
  });

  test('a request with a body gets 500 and never reaches the backend, although failure_mode_allow is true', async () => {
    const seen = backend.requests;
    for (const size of [30, 100_000]) {
      const r = await fetch(`http://127.0.0.1:${listener}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', prompt: 'x'.repeat(size) }),
      });
      expect(r.status).toBe(500);
      await r.text();
    }
    expect(backend.requests).toBe(seen);
  });
});
