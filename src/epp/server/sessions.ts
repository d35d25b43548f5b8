// Session-level tuning of the ext_proc server's HTTP/2 connections, which grpc-js offers no option for: a wide
// receive window, and peer resets kept away from nghttp2's rapid-reset guard (reset-shield.ts).

import type { Server } from '@grpc/grpc-js';
import type * as http2 from 'node:http2';
import * as tls from 'node:tls';
import { logger } from '../../util/log';
import { shieldServer } from './reset-shield';

const log = logger('epp.server');
const MAX_WINDOW = 2 ** 31 - 1;

export interface SessionTuning {
  /** HTTP/2 receive window per stream and for the connection. */
  windowBytes: number;
  /** Rewrite the peer's RST_STREAMs so nghttp2's reset limit never GOAWAYs a connection (default true). */
  shieldResets?: boolean;
}

/**
 * Tunes every session of the server's bound HTTP/2 servers. They are reached through a private grpc-js field
 * (there is no public hook); only public Node APIs are used on them.
 */
export function tuneSessions(server: Server, t: SessionTuning): void {
  const h2servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(h2servers instanceof Map) || h2servers.size === 0) {
    log.error(
      'grpc-js internals changed: cannot tune the ext_proc HTTP/2 sessions; expect a 64 KiB flow-control ' +
        'window and refused streams past ~1,000 requests on one connection (nghttp2 reset limit)',
    );
    return;
  }
  for (const h2 of (h2servers as Map<http2.Http2Server, unknown>).keys()) {
    if ((t.shieldResets ?? true) && !shieldServer(h2, h2 instanceof tls.Server))
      log.error(
        "Node's HTTP/2 connection listener not found: peer resets reach nghttp2's reset limit, expect " +
          'refused streams past ~1,000 requests on one connection',
      );
    h2.on('session', (session: http2.ServerHttp2Session) => widenWindow(session, t.windowBytes));
  }
}

/**
 * Node's default is 64 KiB per stream and for the whole connection. Envoy multiplexes every request's ext_proc
 * stream over one connection, so all in-flight prompt bodies would share 64 KiB and wait on WINDOW_UPDATEs.
 */
function widenWindow(session: http2.ServerHttp2Session, windowBytes: number): void {
  session.settings({ initialWindowSize: Math.min(windowBytes, MAX_WINDOW) });
  session.once('localSettings', () => session.setLocalWindowSize(windowBytes));
}
