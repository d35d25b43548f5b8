// Binds ExtProcStream (or any per-stream handler) to a grpc-js bidi call: messages handled strictly in order,
// failures contained to the one stream (ImmediateResponse 500 while Envoy still waits for a decision, else the
// stream ends with a gRPC INTERNAL), completion hooks run when the stream ends.

import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import type {
  ExternalProcessorServer,
  ProcessingRequest,
  ProcessingResponse,
} from '../../../generated/envoy/service/ext_proc/v3/external_processor';
import { logger } from '../../util/log';

const log = logger('epp.extproc');

/** What the service needs of a per-stream handler (ExtProcStream and the BBR stream both fit). */
export interface StreamHandler {
  done: boolean;
  handle(req: ProcessingRequest): Promise<void>;
  /** Sends a 500 if the request still waits for a decision; false when it is too late for that. */
  fail(message: string): boolean;
  close(): void;
}

export type StreamFactory = (send: (r: ProcessingResponse) => void) => StreamHandler;

export function extProcService(newStream: StreamFactory): ExternalProcessorServer {
  return {
    process(call: ServerDuplexStream<ProcessingRequest, ProcessingResponse>) {
      let ended = false;
      const send = (r: ProcessingResponse) => {
        if (!ended && !call.destroyed && call.writable) call.write(r);
      };
      const stream = newStream(send);
      let chain: Promise<void> = Promise.resolve();
      const finish = (err?: { code: number; details: string }) => {
        if (ended) return;
        ended = true;
        stream.close();
        if (err) call.destroy(Object.assign(new Error(err.details), err));
        else if (call.writable) call.end();
      };
      call.on('data', (req: ProcessingRequest) => {
        chain = chain.then(async () => {
          if (ended) return;
          try {
            await stream.handle(req);
          } catch (e) {
            const message = e instanceof Error ? e.message : String(e);
            log.warn('ext_proc stream failed', { error: message });
            if (!stream.fail(`internal error: ${message}`))
              finish({ code: status.INTERNAL, details: message });
          }
        });
      });
      call.on('end', () => {
        void chain.then(() => finish());
      });
      call.on('error', () => finish());
      call.on('cancelled', () => finish());
    },
  };
}
