// One structured, leveled logger: JSON lines on stderr, one per event, named per module.
// The level comes from INFERGATE_LOG_LEVEL (debug|info|warn|error|silent), default info.

import { redactingReplacer } from './redact';

export type Level = 'debug' | 'info' | 'warn' | 'error';
type Fields = Record<string, unknown>;

const RANK: Record<Level | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  enabled(level: Level): boolean;
}

function threshold(): number {
  const env = (process.env.INFERGATE_LOG_LEVEL ?? 'info').toLowerCase();
  return env in RANK ? RANK[env as Level | 'silent'] : RANK.info;
}

export function logger(name: string): Logger {
  const write = (level: Level, msg: string, fields?: Fields) => {
    if (RANK[level] < threshold()) return;
    const line = { time: new Date().toISOString(), level, logger: name, msg, ...fields };
    process.stderr.write(JSON.stringify(line, errorReplacer) + '\n');
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    enabled: (level) => RANK[level] >= threshold(),
  };
}

function errorReplacer(key: string, value: unknown): unknown {
  // No log line carries a private key, whatever a caller hands in (e.g. an Envoy NACK quoting a Secret).
  const v = redactingReplacer(key, value);
  return v instanceof Error ? { message: v.message, stack: v.stack } : v;
}
