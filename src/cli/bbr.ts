// `infergate bbr`: the body-based router, an ext_proc server that copies the body's model into a header.

import { parseArgs } from 'node:util';
import { loadAdapters, type BaseModelOf } from '../epp/bbr/adapters';
import { BbrStream } from '../epp/bbr/stream';
import { serve } from '../epp/server/server';
import { DEFAULT_MAX_BODY_BYTES } from '../epp/extproc/stream';
import { untilSignal, portOf } from './epp';

export async function runBbr(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        'grpc-port': { type: 'string', default: '9004' },
        'health-port': { type: 'string', default: '9005' },
        address: { type: 'string', default: '0.0.0.0' },
        adapters: { type: 'string' },
        'secure-serving': { type: 'boolean', default: false },
        'cert-path': { type: 'string' },
        'max-body-bytes': { type: 'string', default: String(DEFAULT_MAX_BODY_BYTES) },
      },
    }));
  } catch (err) {
    console.error(`infergate bbr: ${(err as Error).message}`);
    return 2;
  }
  let baseModelOf: BaseModelOf | undefined;
  try {
    baseModelOf = values.adapters ? loadAdapters(values.adapters) : undefined;
  } catch (err) {
    console.error(`infergate bbr: ${(err as Error).message}`);
    return 1;
  }
  const maxBodyBytes = Number(values['max-body-bytes']);
  const server = await serve({
    newStream: (send) => new BbrStream({ baseModelOf, maxBodyBytes }, send),
    address: values.address,
    grpcPort: portOf(values['grpc-port']),
    healthPort: portOf(values['health-port']),
    secure: values['secure-serving'],
    certPath: values['cert-path'],
    ready: () => true,
  });
  console.error(
    `infergate bbr: ext_proc on ${values.address}:${server.grpcPort}, health on ${server.healthPort}`,
  );
  await untilSignal();
  await server.close();
  return 0;
}
