// Binds ExtProcStream (or any per-stream handler) to a grpc-js bidi call: messages handled strictly in order,
// failures contained to the one stream, and every stream ended promptly: with OK once the handler is done (an
// ImmediateResponse was sent or the response completed), with an ImmediateResponse 500 while the protocol still
// allows one, else with a gRPC INTERNAL status. Completion hooks run however the stream ends.

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
  /** Nothing more is expected on the stream (ImmediateResponse sent, response complete): end it with OK. */
  readonly done: boolean;
  handle(req: ProcessingRequest): Promise<void>;
  /** Sends an ImmediateResponse 500 if the protocol still allows one; false when it is too late for that. */
  fail(message: string): boolean;
  /** The stream ended, however: release what the request holds. Called exactly once. */
  close(): void;
}

export type StreamFactory = (send: (r: ProcessingResponse) => void) => StreamHandler;

type Call = ServerDuplexStream<ProcessingRequest, ProcessingResponse>;

/**
 * Ends the call with a status the client sees. grpc-js 1.14's server duplex turns its own 'error' event into
 * trailers (it records the status and ends the writable side, whose final step sends it); `destroy(err)` would
 * drop the stream without any status, leaving the client waiting.
 */
function endWithStatus(call: Call, code: status, details: string): void {
  call.emit('error', Object.assign(new Error(details), { code, details }));
}

export function extProcService(newStream: StreamFactory): ExternalProcessorServer {
  return {
    process(call: Call) {
      let ended = false;
      const send = (r: ProcessingResponse) => {
        if (!ended && !call.destroyed && call.writable) call.write(r);
      };
      const stream = newStream(send);
      let chain: Promise<void> = Promise.resolve();
      const finish = (err?: { code: status; details: string }) => {
        if (ended) return;
        ended = true;
        try {
          stream.close();
        } catch (e) {
          log.warn('ext_proc stream close failed', { error: String(e) });
        }
        if (call.destroyed || !call.writable) return;
        if (err) endWithStatus(call, err.code, err.details);
        else call.end();
      };
      const onMessage = async (req: ProcessingRequest) => {
        if (ended) return;
        try {
          await stream.handle(req);
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          log.warn('ext_proc stream failed', { error: message });
          let answered = false;
          try {
            answered = stream.fail(`internal error: ${message}`);
          } catch {
            // fall through to the gRPC status
          }
          if (!answered) return finish({ code: status.INTERNAL, details: message });
        }
        if (stream.done) finish();
      };
      call.on('data', (req: ProcessingRequest) => {
        chain = chain.then(() => onMessage(req));
      });
      call.on('end', () => {
        void chain.then(() => finish());
      });
      // endWithStatus emits 'error' as well; finish() has already run by then.
      call.on('error', () => finish());
      call.on('cancelled', () => finish());
      call.on('close', () => finish());
    },
  };
}
