// Time limits on the collector's listening sockets (agent TLS port, plain ops port, operators'
// operators' API), so a client that opens a connection and then stalls cannot hold it:
//   * the TLS handshake must finish within handshakeMs (Node's handshakeTimeout);
//   * the first request must start within firstRequestMs of the connection (or of the finished
//     handshake) - Node itself applies headersTimeout only once a request has begun, so a
//     connection that sends nothing at all would otherwise stay open for ever;
//   * a request must bring its headers within headersMs and finish within requestMs;
//   * an idle keep-alive connection is closed keepAliveMs after its last response.
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';

export interface ConnectionTimeouts {
  handshakeMs: number;
  firstRequestMs: number;
  headersMs: number;
  requestMs: number;
  keepAliveMs: number;
}

/** The options createServer takes for these limits (handshakeTimeout is ignored by plain HTTP). */
export function serverTimeoutOptions(t: ConnectionTimeouts): {
  handshakeTimeout: number; headersTimeout: number; requestTimeout: number; keepAliveTimeout: number; connectionsCheckingInterval: number;
} {
  return {
    handshakeTimeout: t.handshakeMs,
    headersTimeout: t.headersMs,
    requestTimeout: t.requestMs,
    keepAliveTimeout: t.keepAliveMs,
    // how often Node looks for connections past headersTimeout / requestTimeout
    connectionsCheckingInterval: Math.max(250, Math.min(5000, Math.floor(t.headersMs / 4))),
  };
}

/**
 * Closes every connection of `server` whose first request has not begun within firstRequestMs
 * (counted from the finished TLS handshake on a TLS server, from the accept otherwise);
 * `onExpired` is told first (to count and log it).
 */
export function limitTimeToFirstRequest(server: HttpServer, firstRequestMs: number, onExpired?: (socket: Socket) => void): void {
  const timers = new WeakMap<Socket, NodeJS.Timeout>();
  server.on(server instanceof TlsServer ? 'secureConnection' : 'connection', (socket: Socket) => {
    const t = setTimeout(() => {
      timers.delete(socket);
      onExpired?.(socket);
      socket.destroy();
    }, firstRequestMs);
    t.unref();
    timers.set(socket, t);
    socket.once('close', () => clearTimeout(t));
  });
  const started = (req: IncomingMessage): void => {
    const t = timers.get(req.socket);
    if (t !== undefined) {
      clearTimeout(t);
      timers.delete(req.socket);
    }
  };
  server.prependListener('request', started);
  server.prependListener('upgrade', started);
}
