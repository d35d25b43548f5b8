// Small builders shared by the stage-2 translators.

import type { Duration } from '../../../generated/google/protobuf/duration';
import type { ConfigSource } from '../../../generated/envoy/config/core/v3/config_source';
import { ApiVersion } from '../../../generated/envoy/config/core/v3/config_source';
import type { DeepPartial } from './types';

/** How stage 2 should refer to RDS/EDS: over ADS, or inline for a static bootstrap. */
export type Mode = 'ads' | 'static';

export function duration(ms: number): Duration {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

export function seconds(s: number): Duration {
  return { seconds: s, nanos: 0 };
}

export function adsSource(): DeepPartial<ConfigSource> {
  return {
    configSourceSpecifier: { $case: 'ads', value: {} },
    resourceApiVersion: ApiVersion.V3,
  };
}

export function socketAddress(address: string, port: number) {
  return {
    address: {
      $case: 'socketAddress' as const,
      value: { address, portSpecifier: { $case: 'portValue' as const, value: port } },
    },
  };
}
