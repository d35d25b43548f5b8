// Server credentials for --secure-serving: the certificate in --cert-path (tls.crt, tls.key), or a self-signed
// one made at start by the `openssl` binary (present in the Debian base image), as the reference EPP does.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ServerCredentials } from '@grpc/grpc-js';

export interface KeyPair {
  cert: Buffer;
  key: Buffer;
}

export function loadKeyPair(dir: string): KeyPair {
  return {
    cert: fs.readFileSync(path.join(dir, 'tls.crt')),
    key: fs.readFileSync(path.join(dir, 'tls.key')),
  };
}

/** A fresh P-256 self-signed certificate for localhost, valid one year. */
export function selfSignedKeyPair(commonName = 'infergate-epp'): KeyPair {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infergate-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        path.join(dir, 'tls.key'),
        '-out',
        path.join(dir, 'tls.crt'),
        '-days',
        '365',
        '-subj',
        `/CN=${commonName}`,
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'pipe' },
    );
    return loadKeyPair(dir);
  } catch (err) {
    throw new Error(
      `could not create a self-signed certificate with openssl (use --cert-path): ${String(err)}`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function serverCredentials(secure: boolean, certPath?: string): ServerCredentials {
  if (!secure && !certPath) return ServerCredentials.createInsecure();
  const pair = certPath ? loadKeyPair(certPath) : selfSignedKeyPair();
  return ServerCredentials.createSsl(null, [{ cert_chain: pair.cert, private_key: pair.key }], false);
}
