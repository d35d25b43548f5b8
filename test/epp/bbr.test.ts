// Body-based router: model → X-Gateway-Model-Name (+ base model of an adapter), clear_route_cache, body echoed.

import type { ProcessingResponse } from '../../generated/envoy/service/ext_proc/v3/external_processor';
import { parseAdapters } from '../../src/epp/bbr/adapters';
import { BbrStream } from '../../src/epp/bbr/stream';
import { reqBody, reqHeaders, respBody, respHeaders, summarize } from './fakes';

async function bbr(msgs: ReturnType<typeof reqHeaders>[], adapters = 'llama: [sql-lora, tweet-lora]') {
  const out: ProcessingResponse[] = [];
  const s = new BbrStream({ baseModelOf: parseAdapters(adapters) }, (r) => out.push(r));
  for (const m of msgs) await s.handle(m);
  return out.map(summarize);
}

describe('BBR', () => {
  const body = JSON.stringify({ model: 'sql-lora', prompt: 'x' });

  it('sets the model and base-model headers with clear_route_cache and echoes the body', async () => {
    expect(await bbr([reqHeaders({}), reqBody(body.slice(0, 4), false), reqBody(body.slice(4))])).toEqual([
      {
        phase: 'requestHeaders',
        set: {
          'content-length': String(body.length),
          'x-gateway-model-name': 'sql-lora',
          'x-gateway-base-model-name': 'llama',
        },
        clearRouteCache: true,
      },
      { phase: 'requestBody', streamed: body, eos: true },
    ]);
  });

  it('a base model maps to itself; an unknown model gets no base header', async () => {
    const base = await bbr([reqHeaders({}), reqBody('{"model":"llama"}')]);
    expect(base[0].set).toMatchObject({ 'x-gateway-base-model-name': 'llama' });
    const other = await bbr([reqHeaders({}), reqBody('{"model":"other"}')]);
    expect(other[0].set).toEqual({ 'content-length': '17', 'x-gateway-model-name': 'other' });
  });

  it('a body without a model passes through without headers or route-cache clearing', async () => {
    expect(await bbr([reqHeaders({}), reqBody('not json')])).toEqual([
      { phase: 'requestHeaders', set: { 'content-length': '8' } },
      { phase: 'requestBody', streamed: 'not json', eos: true },
    ]);
  });

  it('chunks a large body in 62,000-byte pieces and passes responses through', async () => {
    const big = JSON.stringify({ model: 'm', prompt: 'y'.repeat(200000) });
    const out = await bbr([reqHeaders({}), reqBody(big), respHeaders({}), respBody('ok')]);
    expect(out.slice(1, 5).map((o) => o.streamed)).toEqual([62000, 62000, 62000, big.length - 186000]);
    expect(out.slice(5)).toEqual([
      { phase: 'responseHeaders' },
      { phase: 'responseBody', streamed: 'ok', eos: true },
    ]);
  });

  it('headers-only requests are answered at once', async () => {
    expect(await bbr([reqHeaders({ ':method': 'GET' }, true)])).toEqual([{ phase: 'requestHeaders' }]);
  });

  it('rejects a malformed adapters file with the offending key', () => {
    expect(() => parseAdapters('llama: notalist')).toThrow('llama: must be a list');
  });
});
