// The PGV validator catches what Envoy would reject, with the proto field path.

import { validateMessage } from '../../src/compiler/validate/pgv';
import { make, pack, T } from '../../src/compiler/xds/types';
import { renderMessage, renderDuration } from '../../src/compiler/xds/render';
import { Cluster_DiscoveryType } from '../../generated/envoy/config/cluster/v3/cluster';

describe('PGV validation of emitted resources', () => {
  it('accepts a well-formed cluster', () => {
    const c = make(T.Cluster, {
      name: 'ok',
      clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.STATIC },
    });
    expect(validateMessage(T.Cluster.name, c)).toEqual([]);
  });

  it('reports string min_len and the path of a nested field', () => {
    const l = make(T.Listener, {
      name: 'l',
      filterChains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              configType: {
                $case: 'typedConfig',
                value: pack(T.HttpConnectionManager, {
                  statPrefix: '',
                  routeSpecifier: {
                    $case: 'rds',
                    value: {
                      routeConfigName: 'r',
                      configSource: { configSourceSpecifier: { $case: 'ads', value: {} } },
                    },
                  },
                  httpFilters: [{ name: '' }],
                }),
              },
            },
          ],
        },
      ],
    });
    const v = validateMessage(T.Listener.name, l);
    const paths = v.map((x) => x.path);
    expect(paths).toContain('filter_chains[0].filters[0].typed_config.stat_prefix');
    expect(paths).toContain('filter_chains[0].filters[0].typed_config.http_filters[0].name');
  });

  it('reports numeric bounds, enum defined_only, required messages and header names', () => {
    const route = make(T.RouteConfiguration, {
      name: 'r',
      virtualHosts: [
        {
          name: 'vh',
          domains: ['*'],
          routes: [
            {
              match: { pathSpecifier: { $case: 'prefix', value: '/' }, headers: [{ name: 'bad\nheader' }] },
              action: { $case: 'directResponse', value: { status: 99 } },
            },
          ],
        },
      ],
    });
    const v = validateMessage(T.RouteConfiguration.name, route);
    expect(v).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          path: 'virtual_hosts[0].routes[0].direct_response.status',
          message: 'must be at least 200, is 99',
        }),
        expect.objectContaining({ path: 'virtual_hosts[0].routes[0].match.headers[0].name' }),
      ]),
    );
    const cluster = make(T.Cluster, {
      name: 'c',
      clusterDiscoveryType: { $case: 'type', value: 42 as Cluster_DiscoveryType },
    });
    expect(validateMessage(T.Cluster.name, cluster)).toEqual([
      expect.objectContaining({
        path: 'type',
        message: '42 is not a defined value of envoy.config.cluster.v3.Cluster.DiscoveryType',
      }),
    ]);
  });

  it('reports a required oneof that is unset', () => {
    const cla = make(T.ClusterLoadAssignment, { clusterName: 'c', endpoints: [{ lbEndpoints: [{}] }] });
    // LbEndpoint.host_identifier is not required, but an empty cluster_name is.
    expect(validateMessage(T.ClusterLoadAssignment.name, cla)).toEqual([]);
    const empty = make(T.ClusterLoadAssignment, { clusterName: '' });
    expect(validateMessage(T.ClusterLoadAssignment.name, empty)).toEqual([
      { path: 'cluster_name', message: 'must not be empty' },
    ]);
  });
});

describe('proto JSON rendering', () => {
  it('prints snake_case names, enums by name, Any with @type, durations as strings', () => {
    const c = make(T.Cluster, {
      name: 'c',
      connectTimeout: { seconds: 1, nanos: 500_000_000 },
      clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.EDS },
      typedExtensionProtocolOptions: {
        [T.HttpProtocolOptions.name]: pack(T.HttpProtocolOptions, {
          upstreamProtocolOptions: {
            $case: 'explicitHttpConfig',
            value: { protocolConfig: { $case: 'http2ProtocolOptions', value: {} } },
          },
        }),
      },
    });
    expect(renderMessage(T.Cluster.name, c)).toEqual({
      name: 'c',
      type: 'EDS',
      connect_timeout: '1.5s',
      typed_extension_protocol_options: {
        [T.HttpProtocolOptions.name]: {
          '@type': T.HttpProtocolOptions.typeUrl,
          explicit_http_config: { http2_protocol_options: {} },
        },
      },
    });
    expect(renderDuration({ seconds: 0, nanos: 250_000_000 })).toBe('0.25s');
  });
});
