// HTTPS listener certificates: certificateRefs → kubernetes.io/tls Secrets → one SecretIR each (served as xDS
// Secrets) and a TLSChainIR that names them, so the key material never sits in a Listener.
// A Secret in another namespace needs a ReferenceGrant there that trusts Gateways of this one (RefNotPermitted).

import type { Gateway, Listener, Secret } from '../../api/types';
import { GATEWAY_GROUP } from '../../api/types';
import type { SecretIR, TLSChainIR } from '../ir';
import type { Context } from './context';
import { namespaceOf } from './context';
import { type Referrer, referencePermitted, refNotPermitted } from './referencegrants';

export type CertificateResult =
  { ok: true; chain: TLSChainIR; secrets: SecretIR[] } | { ok: false; reason: string; message: string };

/** The xDS Secret name of a Kubernetes Secret: stable, so a rotation changes only that Secret's version. */
export function secretName(namespace: string, name: string): string {
  return `secret/${namespace}/${name}`;
}

const BASE64 = /^[A-Za-z0-9+/=\s]*$/;

/** A Secret value as text: data is base64 (Kubernetes), stringData plain (when the loader did not merge it). */
function secretValue(secret: Secret, key: string): string | undefined {
  const encoded = secret.data?.[key];
  if (encoded !== undefined) {
    if (!BASE64.test(encoded)) return undefined;
    return Buffer.from(encoded, 'base64').toString('utf8');
  }
  return secret.stringData?.[key];
}

function looksLikePem(text: string | undefined, label: RegExp): boolean {
  return text !== undefined && new RegExp(`-----BEGIN ${label.source}-----`).test(text);
}

export function resolveCertificates(ctx: Context, gateway: Gateway, listener: Listener): CertificateResult {
  const gwNamespace = namespaceOf(gateway.metadata);
  const tls = listener.tls;
  if (tls?.mode === 'Passthrough') {
    return {
      ok: false,
      reason: 'UnsupportedProtocol',
      message: 'TLS mode Passthrough is not supported on HTTPS',
    };
  }
  const refs = tls?.certificateRefs ?? [];
  if (refs.length === 0) {
    return { ok: false, reason: 'InvalidCertificateRef', message: 'HTTPS listener has no certificateRefs' };
  }
  const secrets: SecretIR[] = [];
  for (const ref of refs) {
    const group = ref.group ?? '';
    const kind = ref.kind ?? 'Secret';
    if (group !== '' || kind !== 'Secret') {
      return {
        ok: false,
        reason: 'InvalidCertificateRef',
        message: `certificateRef ${group}/${kind} ${ref.name} is not a core Secret`,
      };
    }
    const namespace = ref.namespace ?? gwNamespace;
    const key = `${namespace}/${ref.name}`;
    const from: Referrer = { group: GATEWAY_GROUP, kind: 'Gateway', namespace: gwNamespace };
    const to = { group: '', kind: 'Secret', namespace, name: ref.name };
    if (!referencePermitted(ctx.referenceGrants, from, to)) {
      return { ok: false, reason: 'RefNotPermitted', message: refNotPermitted('certificateRef', from, to) };
    }
    const secret = ctx.secrets.get(key);
    if (!secret) {
      return { ok: false, reason: 'InvalidCertificateRef', message: `Secret ${key} not found` };
    }
    if (secret.type !== 'kubernetes.io/tls') {
      return {
        ok: false,
        reason: 'InvalidCertificateRef',
        message: `Secret ${key} is of type ${secret.type ?? 'Opaque'}, not kubernetes.io/tls`,
      };
    }
    const certificateChain = secretValue(secret, 'tls.crt');
    const privateKey = secretValue(secret, 'tls.key');
    if (
      !looksLikePem(certificateChain, /CERTIFICATE/) ||
      !looksLikePem(privateKey, /(?:[A-Z]+ )?PRIVATE KEY/)
    ) {
      return {
        ok: false,
        reason: 'InvalidCertificateRef',
        message: `Secret ${key} does not hold a PEM certificate in tls.crt and a PEM private key in tls.key`,
      };
    }
    secrets.push({
      name: secretName(namespace, ref.name),
      certificateChain: certificateChain ?? '',
      privateKey: privateKey ?? '',
    });
  }
  return {
    ok: true,
    chain: {
      listener: listener.name,
      serverNames: listener.hostname ? [listener.hostname] : [],
      certificates: secrets.map((s) => s.name),
    },
    secrets,
  };
}
