// TLS certificates as xDS Secrets. Listeners name them (SDS) instead of inlining the key, so a certificate
// rotation changes only the Secret's version, never the Listener's (Envoy drains a changed listener).

import type { Secret } from '../../../generated/envoy/extensions/transport_sockets/tls/v3/secret';
import type { SdsSecretConfig } from '../../../generated/envoy/extensions/transport_sockets/tls/v3/secret';
import type { SecretIR } from '../ir';
import { adsSource, type Mode } from './common';
import { make, T, type DeepPartial } from './types';

export function tlsSecret(s: SecretIR): Secret {
  return make(T.Secret, {
    name: s.name,
    type: {
      $case: 'tlsCertificate',
      value: {
        certificateChain: { specifier: { $case: 'inlineString', value: s.certificateChain } },
        privateKey: { specifier: { $case: 'inlineString', value: s.privateKey } },
      },
    },
  });
}

/** ADS: fetched over the ADS stream; static: a name in static_resources.secrets. */
export function sdsSecretConfig(name: string, mode: Mode): DeepPartial<SdsSecretConfig> {
  return mode === 'ads' ? { name, sdsConfig: adsSource() } : { name };
}
