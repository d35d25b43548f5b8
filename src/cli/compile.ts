// `infergate compile` and `infergate validate`.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadPaths } from '../api/load';
import { formatProblem, type Problem } from '../api/types';
import {
  adsBootstrap,
  compile,
  formatViolation,
  staticBootstrap,
  translate,
  type CompileResult,
} from '../compiler';
import { formatJson, renderBootstrap, renderXdsFiles, type Format } from '../compiler/output';
import type { Mode } from '../compiler/xds/common';
import { splitHostPort } from '../compiler/xds/bootstrap';
import { UsageError } from './main';

interface Loaded {
  result: CompileResult;
  ok: boolean;
}

/** Loads and compiles; prints every problem to stderr. ok is false when any error was found. */
export function loadAndCompile(paths: string[], mode: Mode, listenAddress?: string): Loaded {
  if (paths.length === 0) throw new UsageError('no input paths given');
  const loaded = loadPaths(paths);
  const result = compile(loaded.resources, { mode, listenAddress });
  const problems: Problem[] = [...loaded.problems, ...result.problems];
  for (const p of problems) console.error(formatProblem(p));
  for (const v of result.violations) console.error(formatViolation(v));
  const errors = problems.filter((p) => p.severity === 'error').length + result.violations.length;
  if (errors) console.error(`${errors} error(s) found`);
  return { result, ok: errors === 0 };
}

export async function runCompile(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      mode: { type: 'string', default: 'static' },
      format: { type: 'string', default: 'yaml' },
      'xds-address': { type: 'string', default: '127.0.0.1:18000' },
      out: { type: 'string' },
      gateway: { type: 'string' },
      'node-id': { type: 'string' },
      'admin-port': { type: 'string', default: '19000' },
      'listen-address': { type: 'string' },
    },
  });
  const mode = values.mode as Mode;
  const format = values.format as Format;
  if (mode !== 'static' && mode !== 'ads') throw new UsageError(`--mode must be static or ads, not ${mode}`);
  if (format !== 'yaml' && format !== 'json')
    throw new UsageError(`--format must be yaml or json, not ${format}`);
  try {
    splitHostPort(values['xds-address']!);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const adminPort = Number(values['admin-port']);
  if (!Number.isInteger(adminPort) || adminPort < 1 || adminPort > 65535)
    throw new UsageError('--admin-port must be 1..65535');

  const { result, ok } = loadAndCompile(positionals, mode, values['listen-address']);
  if (!ok) return 1;
  let gateways = result.gateways;
  if (values.gateway) {
    gateways = gateways.filter((g) => g.key === values.gateway);
    if (!gateways.length) {
      console.error(
        `no compiled Gateway ${values.gateway}; found: ${result.gateways.map((g) => g.key).join(', ') || 'none'}`,
      );
      return 1;
    }
  }
  if (!gateways.length) {
    console.error('no Gateway to compile: the input has no Gateway of an infergate GatewayClass');
    return 1;
  }
  const bootstrapFor = (key: string, resources: (typeof gateways)[number]['resources']) => {
    const opts = { gateway: key, nodeId: values['node-id'], adminPort };
    return mode === 'static' ? staticBootstrap(resources, opts) : adsBootstrap(values['xds-address']!, opts);
  };
  if (!values.out) {
    if (gateways.length > 1) {
      console.error(
        `${gateways.length} Gateways compiled (${gateways.map((g) => g.key).join(', ')}): choose one with --gateway, or use --out`,
      );
      return 1;
    }
    process.stdout.write(renderBootstrap(bootstrapFor(gateways[0].key, gateways[0].resources), format));
    return 0;
  }
  // --out: per Gateway, the bootstrap plus one file per xDS type (the resources the xDS server would serve).
  const ads =
    mode === 'ads' ? result : translate(result.ir, { mode: 'ads', listenAddress: values['listen-address'] });
  for (const g of gateways) {
    const dir = gateways.length > 1 ? path.join(values.out, g.key.replace('/', '_')) : values.out;
    fs.mkdirSync(dir, { recursive: true });
    // Files holding private keys (the Secrets, a static bootstrap with TLS) are readable by their owner only.
    const keys = g.resources.secrets.length > 0;
    writeFile(
      path.join(dir, `bootstrap.${format}`),
      renderBootstrap(bootstrapFor(g.key, g.resources), format),
      mode === 'static' && keys,
    );
    const adsResources = ads.gateways.find((x) => x.key === g.key)!.resources;
    for (const [file, text] of Object.entries(renderXdsFiles(adsResources, format))) {
      writeFile(path.join(dir, file), text, file.startsWith('secrets.'));
    }
    console.error(`wrote ${dir}`);
  }
  return 0;
}

function writeFile(file: string, text: string, secret: boolean): void {
  fs.writeFileSync(file, text, secret ? { mode: 0o600 } : undefined);
  // writeFileSync's mode applies only to a new file; an older one may have been readable by all.
  if (secret) fs.chmodSync(file, 0o600);
}

export async function runValidate(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { format: { type: 'string', default: 'yaml' } },
  });
  const { result, ok } = loadAndCompile(positionals, 'ads');
  process.stdout.write(formatJson(result.statuses, values.format === 'json' ? 'json' : 'yaml'));
  if (ok) console.error(`valid: ${result.gateways.length} Gateway(s) compiled`);
  return ok ? 0 : 1;
}
