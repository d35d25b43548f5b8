// Redaction for everything that leaves the process as debug output (admin endpoints, logs): private key bytes
// never do. The field list follows the fields Envoy marks `udpa.annotations.sensitive` in the TLS protos; the
// PEM rule catches a key wherever else it turns up (a NACK's error message quotes the rejected resource).

export const REDACTED = '[redacted]';

/** Fields whose whole subtree is secret, in proto JSON (snake_case) and ts-proto / IR (camelCase) spelling. */
const SENSITIVE = new Set([
  'private_key',
  'privateKey',
  'password',
  'pkcs12',
  'session_ticket_keys',
  'sessionTicketKeys',
  'generic_secret',
  'genericSecret',
]);

/** Inside a sensitive subtree these say where the secret is, not what it is. */
const LOCATORS = new Set(['filename', 'environment_variable', 'environmentVariable', '@type', '$case']);

const PEM_PRIVATE_KEY =
  /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;

/** Replaces every PEM private key block (also a truncated one) in a text. */
export function redactText(text: string): string {
  return text.includes('PRIVATE KEY-----') ? text.replace(PEM_PRIVATE_KEY, REDACTED) : text;
}

/** A deep copy of a JSON-like value with secret fields and PEM private keys replaced by REDACTED. */
export function redact<T>(value: T): T {
  return walk(value, false) as T;
}

/** The same rules as a JSON.stringify replacer, for output that is serialised anyway (log lines). */
export function redactingReplacer(key: string, value: unknown): unknown {
  if (SENSITIVE.has(key)) return walk(value, true);
  return typeof value === 'string' ? redactText(value) : value;
}

function walk(value: unknown, secret: boolean): unknown {
  if (typeof value === 'string') return secret ? REDACTED : redactText(value);
  if (value instanceof Uint8Array) return secret ? REDACTED : value;
  if (Array.isArray(value)) return value.map((v) => walk(v, secret));
  if (value === null || typeof value !== 'object') return secret && value !== undefined ? REDACTED : value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = secret && LOCATORS.has(k) ? v : walk(v, secret || SENSITIVE.has(k));
  }
  return out;
}
