// Piscina worker entry: runs ParseTasks and moves the result's byte arrays back (transferred, not copied).

import { Piscina } from 'piscina';
import { initPrefixHashing } from '../prefix/hash';
import { runParseTask, type ParseTask } from './task';

void initPrefixHashing();

export default function parseInWorker(task: ParseTask): unknown {
  const result = runParseTask(task);
  if (!result.ok) return result;
  const transfer: ArrayBuffer[] = [];
  // Only arrays that own their whole buffer can be handed over without detaching someone else's bytes.
  for (const a of [result.prefixInput, result.prefixHashes]) {
    if (a && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer) {
      transfer.push(a.buffer);
    }
  }
  return Piscina.move({
    [Piscina.transferableSymbol]: transfer,
    [Piscina.valueSymbol]: result,
  } as unknown as Parameters<typeof Piscina.move>[0]);
}
