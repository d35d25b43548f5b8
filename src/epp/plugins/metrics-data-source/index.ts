// metrics-data-source: where the scraper reads each endpoint's metrics (scheme, path, TLS verification).

import type { PluginRegistration } from '../../scheduling/registry';
import { PluginKind, type Plugin } from '../../scheduling/types';

export interface MetricsDataSource extends Plugin {
  readonly scheme: 'http' | 'https';
  readonly path: string;
  readonly insecureSkipVerify: boolean;
}

export const METRICS_DATA_SOURCE = new PluginKind<MetricsDataSource>('metrics-data-source');

export const metricsDataSource: PluginRegistration = {
  type: 'metrics-data-source',
  description: 'Scrapes scheme://podIP:port/path from every endpoint (defaults http, /metrics).',
  factory: (name, p): MetricsDataSource => {
    const scheme = p.string('scheme', 'http', ['http', 'https']) as 'http' | 'https';
    const path = p.string('path', '/metrics');
    const insecureSkipVerify = p.boolean('insecureSkipVerify', true);
    p.finish();
    return {
      type: 'metrics-data-source',
      name,
      kinds: [METRICS_DATA_SOURCE],
      scheme,
      path,
      insecureSkipVerify,
    };
  },
};
