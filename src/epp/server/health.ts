// grpc.health.v1.Health, written by hand (it is not in generated/): Check and List answer from a status
// function; Watch is UNIMPLEMENTED, as in the reference EPP. Messages are encoded with @bufbuild/protobuf's
// wire helpers: HealthCheckRequest{service=1}, HealthCheckResponse{status=1}, HealthListResponse{statuses=1 map}.

import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import {
  Metadata,
  credentials,
  makeGenericClientConstructor,
  status as grpcStatus,
  type ServiceDefinition,
  type UntypedServiceImplementation,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';

export enum ServingStatus {
  UNKNOWN = 0,
  SERVING = 1,
  NOT_SERVING = 2,
  SERVICE_UNKNOWN = 3,
}

export interface HealthCheckRequest {
  service: string;
}
export interface HealthCheckResponse {
  status: ServingStatus;
}
export interface HealthListResponse {
  statuses: Record<string, HealthCheckResponse>;
}

function encodeRequest(m: HealthCheckRequest): Buffer {
  const w = new BinaryWriter();
  if (m.service) w.uint32(10).string(m.service);
  return Buffer.from(w.finish());
}

function decodeRequest(b: Uint8Array): HealthCheckRequest {
  const r = new BinaryReader(b);
  const m: HealthCheckRequest = { service: '' };
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 2) m.service = r.string();
    else r.skip(tag & 7);
  }
  return m;
}

function writeResponse(m: HealthCheckResponse, w: BinaryWriter): BinaryWriter {
  if (m.status) w.uint32(8).int32(m.status);
  return w;
}

function readResponse(r: BinaryReader, end: number): HealthCheckResponse {
  const m: HealthCheckResponse = { status: ServingStatus.UNKNOWN };
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 0) m.status = r.int32();
    else r.skip(tag & 7);
  }
  return m;
}

const encodeResponse = (m: HealthCheckResponse) => Buffer.from(writeResponse(m, new BinaryWriter()).finish());
const decodeResponse = (b: Uint8Array) => readResponse(new BinaryReader(b), b.length);

function encodeList(m: HealthListResponse): Buffer {
  const w = new BinaryWriter();
  for (const [key, value] of Object.entries(m.statuses)) {
    w.uint32(10).fork();
    w.uint32(10).string(key);
    w.uint32(18).fork();
    writeResponse(value, w);
    w.join();
    w.join();
  }
  return Buffer.from(w.finish());
}

function decodeList(b: Uint8Array): HealthListResponse {
  const r = new BinaryReader(b);
  const m: HealthListResponse = { statuses: {} };
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 !== 1) {
      r.skip(tag & 7);
      continue;
    }
    const end = r.uint32() + r.pos;
    let key = '';
    let value: HealthCheckResponse = { status: ServingStatus.UNKNOWN };
    while (r.pos < end) {
      const t = r.uint32();
      if (t >>> 3 === 1) key = r.string();
      else if (t >>> 3 === 2) value = readResponse(r, r.uint32() + r.pos);
      else r.skip(t & 7);
    }
    m.statuses[key] = value;
  }
  return m;
}

const unary = <Req, Res>(
  path: string,
  reqSer: (m: Req) => Buffer,
  reqDe: (b: Buffer) => Req,
  resSer: (m: Res) => Buffer,
  resDe: (b: Buffer) => Res,
) => ({
  path,
  requestStream: false as const,
  responseStream: false as const,
  requestSerialize: reqSer,
  requestDeserialize: reqDe,
  responseSerialize: resSer,
  responseDeserialize: resDe,
});

export const HealthService = {
  check: unary('/grpc.health.v1.Health/Check', encodeRequest, decodeRequest, encodeResponse, decodeResponse),
  list: unary(
    '/grpc.health.v1.Health/List',
    () => Buffer.alloc(0),
    () => ({}),
    encodeList,
    decodeList,
  ),
  watch: {
    ...unary('/grpc.health.v1.Health/Watch', encodeRequest, decodeRequest, encodeResponse, decodeResponse),
    responseStream: true as const,
  },
} satisfies ServiceDefinition;

export const HealthClient = makeGenericClientConstructor(HealthService, 'grpc.health.v1.Health');

/** One plaintext Check of `service` at `target` (host:port): its status; rejects with the gRPC error. */
export function checkHealth(target: string, service: string, timeoutMs = 5000): Promise<ServingStatus> {
  const client = new HealthClient(target, credentials.createInsecure());
  const { check } = HealthService;
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      check.path,
      check.requestSerialize,
      check.responseDeserialize,
      { service },
      new Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, res) => {
        client.close();
        if (err) reject(err);
        else resolve(res!.status);
      },
    ),
  );
}

/** The EPP's four services: all SERVING once the datastore has synced (and, with leader election, only on the leader; liveness always). */
export const EPP_HEALTH_SERVICES = [
  '',
  'liveness',
  'readiness',
  'envoy.service.ext_proc.v3.ExternalProcessor',
];

/** Health implementation: `statusOf(name)` answers Check for any name; List reports `names`. */
export function healthService(
  names: string[],
  statusOf: (service: string) => ServingStatus,
): UntypedServiceImplementation {
  return {
    check(
      call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      cb: sendUnaryData<HealthCheckResponse>,
    ) {
      // Without leader election the reference EPP answers every name alike (its chart probes "inference-extension").
      cb(null, { status: statusOf(call.request.service) });
    },
    list(_call: ServerUnaryCall<object, HealthListResponse>, cb: sendUnaryData<HealthListResponse>) {
      const statuses: Record<string, HealthCheckResponse> = {};
      for (const n of names) statuses[n] = { status: statusOf(n) };
      cb(null, { statuses });
    },
    watch(call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) {
      call.emit('error', { code: grpcStatus.UNIMPLEMENTED, details: 'Watch is not implemented' });
    },
  };
}
