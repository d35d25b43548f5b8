// proxyTable: which ClusterIP:port listeners the Services want and where each one's connections go.

import { proxyTable, type EndpointSlice, type Service, type ServicePort } from './service-proxy';

const API = { host: '127.0.0.1', port: 6443 };

const service = (name: string, clusterIP: string, ports: ServicePort[]): Service => ({
  metadata: { name, namespace: 'default' },
  spec: { clusterIP, ports },
});

const slice = (
  svc: string,
  name: string,
  ports: EndpointSlice['ports'],
  endpoints: EndpointSlice['endpoints'],
): EndpointSlice => ({
  metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  ports,
  endpoints,
});

describe('proxyTable', () => {
  test('a Service port goes to the ready endpoints of the slice port with its name', () => {
    const t = proxyTable(
      [
        service('echo', '10.96.0.10', [
          { name: 'web', port: 80 },
          { name: 'admin', port: 9000 },
        ]),
      ],
      [
        slice(
          'echo',
          'echo-1',
          [
            { name: 'web', port: 3000, protocol: 'TCP' },
            { name: 'admin', port: 3001 },
          ],
          [
            { addresses: ['10.244.1.3'], conditions: { ready: true } },
            { addresses: ['10.244.1.2'] },
            { addresses: ['10.244.1.4'], conditions: { ready: false } },
          ],
        ),
        // The same endpoint in a second slice (as while slices are rebalanced) is listed once.
        slice('echo', 'echo-2', [{ name: 'web', port: 3000 }], [{ addresses: ['10.244.1.2'] }]),
      ],
      API,
    );
    expect(Object.fromEntries(t)).toEqual({
      '10.96.0.10:80': {
        service: 'default/echo:web',
        backends: [
          { host: '10.244.1.2', port: 3000 },
          { host: '10.244.1.3', port: 3000 },
        ],
      },
      '10.96.0.10:9000': {
        service: 'default/echo:admin',
        backends: [
          { host: '10.244.1.2', port: 3001 },
          { host: '10.244.1.3', port: 3001 },
        ],
      },
    });
  });

  test('no endpoints is an empty listener; headless, UDP and other Services’ slices are left out', () => {
    const t = proxyTable(
      [
        service('empty', '10.96.0.11', [{ port: 8080 }]),
        service('headless', 'None', [{ port: 80 }]),
        service('dns', '10.96.0.12', [{ port: 53, protocol: 'UDP' }]),
      ],
      [slice('other', 'other-1', [{ port: 8080 }], [{ addresses: ['10.244.1.9'] }])],
      API,
    );
    expect(Object.fromEntries(t)).toEqual({
      '10.96.0.11:8080': { service: 'default/empty:8080', backends: [] },
    });
  });

  test('default/kubernetes goes to the API server', () => {
    const t = proxyTable([service('kubernetes', '10.96.0.1', [{ name: 'https', port: 443 }])], [], API);
    expect(t.get('10.96.0.1:443')).toEqual({ service: 'default/kubernetes:https', backends: [API] });
  });
});
