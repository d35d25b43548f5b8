// Format checks from Kubernetes apimachinery and the Gateway API CRDs. Each returns an error message or
// undefined, to plug into the decode readers' `check` option.

import { isIP } from 'node:net';

const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS_SUBDOMAIN_RE = new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`);
const DNS_LABEL_RE = new RegExp(`^${DNS_LABEL}$`);
const WILDCARD_HOSTNAME_RE = new RegExp(`^(\\*\\.)?${DNS_LABEL}(\\.${DNS_LABEL})*$`);
const LABEL_NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
// RFC 7230 token: what Gateway API accepts as a header name.
const HTTP_TOKEN_RE = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
const DURATION_RE = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
// Gateway API HTTPPathMatch: the characters allowed in an Exact/PathPrefix value.
const PATH_RE = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function dnsSubdomain(v: string): string | undefined {
  if (v.length > 253) return 'must be at most 253 characters';
  if (!DNS_SUBDOMAIN_RE.test(v)) return 'must be a lowercase RFC 1123 subdomain';
  return undefined;
}

export function dnsLabel(v: string): string | undefined {
  if (v.length > 63) return 'must be at most 63 characters';
  if (!DNS_LABEL_RE.test(v)) return 'must be a lowercase RFC 1123 label';
  return undefined;
}

/** A label or annotation key: optional DNS-subdomain prefix, then a name of at most 63 characters. */
export function qualifiedName(v: string): string | undefined {
  const slash = v.lastIndexOf('/');
  const [prefix, name] = slash >= 0 ? [v.slice(0, slash), v.slice(slash + 1)] : [undefined, v];
  if (prefix !== undefined && dnsSubdomain(prefix)) return `prefix ${dnsSubdomain(prefix)}`;
  if (name.length === 0 || name.length > 63) return 'name part must be 1..63 characters';
  if (!LABEL_NAME_RE.test(name)) return 'name part must be alphanumeric, with -, _ or . inside';
  return undefined;
}

export function labelValue(v: string): string | undefined {
  if (v.length > 63) return 'must be at most 63 characters';
  if (v !== '' && !LABEL_NAME_RE.test(v)) return 'must be alphanumeric, with -, _ or . inside';
  return undefined;
}

/** Gateway API Hostname: an RFC 1123 name, optionally with a leading "*." label; never an IP address. */
export function hostname(v: string): string | undefined {
  if (v.length > 253) return 'must be at most 253 characters';
  if (isIP(v)) return 'must be a hostname, not an IP address';
  if (!WILDCARD_HOSTNAME_RE.test(v))
    return 'must be a lowercase RFC 1123 hostname, optionally prefixed by "*."';
  return undefined;
}

/** Gateway API PreciseHostname: as hostname, but without a wildcard. */
export function preciseHostname(v: string): string | undefined {
  return v.startsWith('*') ? 'must not be a wildcard' : hostname(v);
}

export function httpToken(v: string): string | undefined {
  if (v.length > 256) return 'must be at most 256 characters';
  return HTTP_TOKEN_RE.test(v) ? undefined : 'must be a valid HTTP header name (RFC 7230 token)';
}

export function ipAddress(v: string): string | undefined {
  return isIP(v) ? undefined : 'must be an IPv4 or IPv6 address';
}

export function base64(v: string): string | undefined {
  return BASE64_RE.test(v.replace(/\s/g, '')) ? undefined : 'must be base64';
}

/** A Gateway API Duration ("1h30m", "500ms") in milliseconds, or undefined if the format is wrong. */
export function durationMillis(v: string): number | undefined {
  if (!DURATION_RE.test(v)) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  for (const m of v.matchAll(/([0-9]+)(ms|h|m|s)/g)) total += Number(m[1]) * unit[m[2]];
  return total;
}

export function duration(v: string): string | undefined {
  return durationMillis(v) === undefined ? 'must be a duration like 10s, 1m30s or 500ms' : undefined;
}

/** The CEL rules of HTTPPathMatch for Exact and PathPrefix values. */
export function absolutePath(v: string): string | undefined {
  if (!v.startsWith('/')) return 'must be an absolute path starting with "/"';
  if (v.includes('//')) return 'must not contain "//"';
  if (v.includes('/./') || v.includes('/../') || v.endsWith('/.') || v.endsWith('/..')) {
    return 'must not contain "." or ".." segments';
  }
  if (/%2f/i.test(v)) return 'must not contain "%2f" or "%2F"';
  if (v.includes('#')) return 'must not contain "#"';
  if (!PATH_RE.test(v)) return 'contains characters not allowed in a path';
  return undefined;
}

/**
 * Envoy matches with RE2, so reject what RE2 cannot compile: lookaround and backreferences. JavaScript's
 * RegExp stands in for the rest of the syntax check.
 */
export function re2Regex(v: string): string | undefined {
  if (/\(\?<?[=!]/.test(v)) return 'lookahead and lookbehind are not supported (RE2)';
  if (/\\[1-9]/.test(v)) return 'backreferences are not supported (RE2)';
  // RE2 syntax JavaScript lacks: inline flags and (?P<name>...) groups.
  const js = v
    .replace(/\(\?[imsU-]+\)/g, '')
    .replace(/\(\?[imsU-]+:/g, '(?:')
    .replace(/\(\?P</g, '(?<');
  try {
    new RegExp(js);
  } catch (e) {
    return `does not compile: ${(e as Error).message}`;
  }
  return undefined;
}
