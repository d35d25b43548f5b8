// The one redaction used by every debug output (admin endpoints, log lines): private key bytes are replaced by
// the marker wherever they sit, everything else is left as it was.

import { tlsSecret } from '../../src/compiler/xds/secret';
import { renderMessage } from '../../src/compiler/xds/render';
import { T } from '../../src/compiler/xds/types';
import { logger } from '../../src/util/log';
import { REDACTED, redact, redactingReplacer, redactText } from '../../src/util/redact';
import { selfSignedCertificate } from '../support/certs';

const cert = selfSignedCertificate(['foo.example.com']);
const PEM_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

describe('redact', () => {
  it('replaces the private key of a rendered Secret and keeps its name and certificate', () => {
    const secret = renderMessage(
      T.Secret.name,
      tlsSecret({ name: 'secret/default/foo', certificateChain: cert.certPem, privateKey: cert.keyPem }),
    );
    expect(JSON.stringify(secret)).toMatch(PEM_KEY);
    const before = JSON.stringify(secret);
    expect(redact(secret)).toEqual({
      name: 'secret/default/foo',
      tls_certificate: {
        certificate_chain: { inline_string: cert.certPem },
        private_key: { inline_string: REDACTED },
      },
    });
    expect(JSON.stringify(secret)).toBe(before); // a copy: the input is untouched
  });

  it('covers inline bytes, passwords, PKCS#12, session ticket keys and generic secrets; keeps file names', () => {
    const input = {
      tls_certificate: {
        private_key: { inline_bytes: Buffer.from(cert.keyPem).toString('base64') },
        password: { inline_string: 'hunter2' },
        pkcs12: { inline_bytes: 'MIIKAgEDMIIJ' },
      },
      other: { private_key: { filename: '/etc/tls/key.pem' }, password: { environment_variable: 'PW' } },
      session_ticket_keys: { keys: [{ inline_bytes: 'AAAA' }, { inline_bytes: 'BBBB' }] },
      generic_secret: { secret: { inline_string: 'token' } },
      camel: { privateKey: { specifier: { $case: 'inlineString', value: cert.keyPem } } },
      bytes: { privateKey: new Uint8Array([1, 2, 3]) },
    };
    expect(redact(input)).toEqual({
      tls_certificate: {
        private_key: { inline_bytes: REDACTED },
        password: { inline_string: REDACTED },
        pkcs12: { inline_bytes: REDACTED },
      },
      other: { private_key: { filename: '/etc/tls/key.pem' }, password: { environment_variable: 'PW' } },
      session_ticket_keys: { keys: [{ inline_bytes: REDACTED }, { inline_bytes: REDACTED }] },
      generic_secret: { secret: { inline_string: REDACTED } },
      camel: { privateKey: { specifier: { $case: 'inlineString', value: REDACTED } } },
      bytes: { privateKey: REDACTED },
    });
  });

  it('removes PEM private key blocks from any text, also truncated ones, and leaves certificates alone', () => {
    const nack = `Proto constraint validation failed: tls_certificate { private_key { inline_string: "${cert.keyPem.replace(/\n/g, '\\n')}" } } certificate_chain: "${cert.certPem}"`;
    const out = redactText(nack);
    expect(out).not.toMatch(PEM_KEY);
    expect(out).toContain(`private_key { inline_string: "${REDACTED}`);
    expect(out).toContain(cert.certPem);
    for (const label of ['RSA ', 'EC ', 'ENCRYPTED ', '']) {
      const block = `-----BEGIN ${label}PRIVATE KEY-----\nMIIB\n-----END ${label}PRIVATE KEY-----`;
      expect(redactText(`a ${block} b`)).toBe(`a ${REDACTED} b`);
    }
    expect(redactText('cut: -----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG')).toBe(`cut: ${REDACTED}`);
    expect(redactText('nothing to see')).toBe('nothing to see');
  });

  it('works as a JSON.stringify replacer, and log lines go through it', () => {
    const text = JSON.stringify({ err: `bad: ${cert.keyPem}`, privateKey: 'raw' }, redactingReplacer);
    expect(JSON.parse(text)).toEqual({ err: `bad: ${REDACTED}\n`, privateKey: REDACTED });

    const lines: string[] = [];
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const level = process.env.INFERGATE_LOG_LEVEL;
    process.env.INFERGATE_LOG_LEVEL = 'info';
    try {
      logger('test').warn('node rejected config (NACK)', {
        errorDetail: { message: `invalid: ${cert.keyPem}` },
        err: new Error(`cannot load ${cert.keyPem}`),
      });
    } finally {
      write.mockRestore();
      if (level === undefined) delete process.env.INFERGATE_LOG_LEVEL;
      else process.env.INFERGATE_LOG_LEVEL = level;
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(PEM_KEY);
    expect(lines[0]).toContain(REDACTED);
    expect(JSON.parse(lines[0]).err.message).toBe(`cannot load ${REDACTED}\n`);
  });
});
