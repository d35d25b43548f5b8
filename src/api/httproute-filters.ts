// HTTPRoute filters (rule-level and backendRef-level): the type enum, the one config field that matches the
// type, and the CEL rules on header modifiers, redirects, rewrites and mirrors.

import { type Obj, compact, unique } from './decode';
import { httpToken, preciseHostname } from './formats';
import { BACKEND_REF_FIELDS, decodeBackendObjectRef } from './refs';
import type {
  HTTPHeaderFilter,
  HTTPPathModifier,
  HTTPRequestMirrorFilter,
  HTTPRequestRedirectFilter,
  HTTPRouteFilter,
  HTTPURLRewriteFilter,
} from './types';

/** Filter type → the field that carries its configuration. */
const CONFIG_FIELD: Record<string, keyof HTTPRouteFilter> = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  RequestMirror: 'requestMirror',
  ExtensionRef: 'extensionRef',
};
const FILTER_FIELDS = ['type', ...Object.values(CONFIG_FIELD)];
const NOT_REPEATABLE = ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite'];

export function decodeFilters(parent: Obj): HTTPRouteFilter[] | undefined {
  const objs = parent.objList('filters', FILTER_FIELDS, { max: 16 });
  if (!objs) return undefined;
  const filters = objs.map(decodeFilter);
  const types = filters.map((f) => f.type);
  unique(
    parent.ctx,
    filters,
    (f) => (NOT_REPEATABLE.includes(f.type) ? f.type : undefined),
    (i) => objs[i].at('type'),
  );
  if (types.includes('RequestRedirect') && types.includes('URLRewrite')) {
    parent.error('filters', 'RequestRedirect and URLRewrite filters cannot be used together');
  }
  return filters;
}

function decodeFilter(f: Obj): HTTPRouteFilter {
  const type = f.str('type', { required: true, oneOf: Object.keys(CONFIG_FIELD) }) ?? '';
  const wanted = CONFIG_FIELD[type];
  for (const field of Object.values(CONFIG_FIELD)) {
    if (field !== wanted && f.has(field)) f.error(field, `must not be set when type is ${type || '(unset)'}`);
  }
  if (wanted && !f.has(wanted)) f.error(wanted, `required when type is ${type}`);
  return compact({
    type,
    requestHeaderModifier: wanted === 'requestHeaderModifier' ? headerFilter(f, wanted) : undefined,
    responseHeaderModifier: wanted === 'responseHeaderModifier' ? headerFilter(f, wanted) : undefined,
    requestRedirect: wanted === 'requestRedirect' ? redirect(f) : undefined,
    urlRewrite: wanted === 'urlRewrite' ? rewrite(f) : undefined,
    requestMirror: wanted === 'requestMirror' ? mirror(f) : undefined,
    extensionRef: wanted === 'extensionRef' ? extensionRef(f) : undefined,
  });
}

function headerFilter(f: Obj, key: string): HTTPHeaderFilter | undefined {
  const h = f.obj(key, ['set', 'add', 'remove']);
  if (!h) return undefined;
  const pairs = (k: string) =>
    h.objList(k, ['name', 'value'], { max: 16 })?.map((o) => ({
      path: o.at('name'),
      header: {
        name: o.str('name', { required: true, min: 1, check: httpToken }) ?? '',
        value: o.str('value', { required: true, min: 1, max: 4096 }) ?? '',
      },
    }));
  const set = pairs('set');
  const add = pairs('add');
  const remove = h.strList('remove', { max: 16 }, { min: 1, check: httpToken });
  // One action per header name, compared case-insensitively as HTTP does.
  const names = [
    ...(set ?? []).map((s) => ({ name: s.header.name, path: s.path })),
    ...(add ?? []).map((s) => ({ name: s.header.name, path: s.path })),
    ...(remove ?? []).map((name, i) => ({ name, path: `${h.at('remove')}[${i}]` })),
  ];
  unique(
    h.ctx,
    names,
    (n) => n.name.toLowerCase() || undefined,
    (i) => names[i].path,
  );
  return compact({ set: set?.map((s) => s.header), add: add?.map((s) => s.header), remove });
}

function pathModifier(parent: Obj): HTTPPathModifier | undefined {
  const p = parent.obj('path', ['type', 'replaceFullPath', 'replacePrefixMatch']);
  if (!p) return undefined;
  const type = p.str('type', { required: true, oneOf: ['ReplaceFullPath', 'ReplacePrefixMatch'] });
  const mod = compact({
    type: (type ?? 'ReplaceFullPath') as HTTPPathModifier['type'],
    replaceFullPath: p.str('replaceFullPath', { max: 1024 }),
    replacePrefixMatch: p.str('replacePrefixMatch', { max: 1024 }),
  });
  for (const [t, field] of [
    ['ReplaceFullPath', 'replaceFullPath'],
    ['ReplacePrefixMatch', 'replacePrefixMatch'],
  ] as const) {
    if (type === t && !p.has(field)) p.error(field, `required when type is ${t}`);
    if (type && type !== t && p.has(field)) p.error(field, `must not be set when type is ${type}`);
  }
  return mod;
}

function redirect(f: Obj): HTTPRequestRedirectFilter | undefined {
  const r = f.obj('requestRedirect', ['scheme', 'hostname', 'path', 'port', 'statusCode']);
  if (!r) return undefined;
  const statusCode = r.int('statusCode');
  if (statusCode !== undefined && ![301, 302, 303, 307, 308].includes(statusCode)) {
    r.error('statusCode', `unsupported value ${statusCode}: must be one of 301, 302, 303, 307, 308`);
  }
  return compact({
    scheme: r.str('scheme', { oneOf: ['http', 'https'] }) as HTTPRequestRedirectFilter['scheme'],
    hostname: r.str('hostname', { check: preciseHostname }),
    path: pathModifier(r),
    port: r.int('port', { min: 1, max: 65535 }),
    statusCode: (statusCode ?? 302) as HTTPRequestRedirectFilter['statusCode'],
  });
}

function rewrite(f: Obj): HTTPURLRewriteFilter | undefined {
  const r = f.obj('urlRewrite', ['hostname', 'path']);
  if (!r) return undefined;
  return compact({ hostname: r.str('hostname', { check: preciseHostname }), path: pathModifier(r) });
}

function mirror(f: Obj): HTTPRequestMirrorFilter | undefined {
  const m = f.obj('requestMirror', ['backendRef', 'percent', 'fraction']);
  if (!m) return undefined;
  const ref = m.obj('backendRef', BACKEND_REF_FIELDS, { required: true });
  const fr = m.obj('fraction', ['numerator', 'denominator']);
  if (m.has('percent') && fr) m.error('', 'percent and fraction cannot both be set');
  let fraction: HTTPRequestMirrorFilter['fraction'];
  if (fr) {
    const numerator = fr.int('numerator', { required: true, min: 0 }) ?? 0;
    const denominator = fr.int('denominator', { min: 1 }) ?? 100;
    if (numerator > denominator) fr.error('numerator', 'must be less than or equal to denominator');
    fraction = { numerator, denominator };
  }
  return compact({
    backendRef: ref ? decodeBackendObjectRef(ref) : { name: '' },
    percent: m.int('percent', { min: 0, max: 100 }),
    fraction,
  });
}

function extensionRef(f: Obj): HTTPRouteFilter['extensionRef'] {
  const e = f.obj('extensionRef', ['group', 'kind', 'name']);
  if (!e) return undefined;
  return {
    group: e.str('group', { required: true, max: 253 }) ?? '',
    kind: e.str('kind', { required: true, min: 1, max: 63 }) ?? '',
    name: e.str('name', { required: true, min: 1, max: 253 }) ?? '',
  };
}
