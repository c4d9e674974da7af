// The admin port: plain HTTP, 127.0.0.1 by default (operators put their own proxy in
// front if they need more): /healthz and /metrics (Prometheus), nothing about agents - who is
// connected, their health and counts are behind the operators' mTLS admin API
// (GET /v1/agents, GET /v1/transport; collector/control/admin-api.ts).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CollectorMetrics } from './collector-metrics.js';
import { limitTimeToFirstRequest, serverTimeoutOptions, type ConnectionTimeouts } from './connection-timeouts.js';

export interface AdminStatus {
  /** 'ok', or 'degraded' with reasons (the process is up but something needs attention) */
  health(): { status: 'ok' | 'degraded'; reasons: string[]; agentsConnected: number };
}

export interface AdminServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** A scraper or probe that connects and then stalls is dropped after these (default). */
const ADMIN_TIMEOUTS: ConnectionTimeouts = { handshakeMs: 10_000, firstRequestMs: 10_000, headersMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000 };

export async function startAdminServer(host: string, port: number, metrics: CollectorMetrics, status: AdminStatus,
  timeouts: ConnectionTimeouts = ADMIN_TIMEOUTS): Promise<AdminServer> {
  const server = createServer(serverTimeoutOptions(timeouts), (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/healthz') {
      const h = status.health();
      const body = JSON.stringify(h);
      res.writeHead(h.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' }).end(body);
      return;
    }
    if (path === '/metrics') {
      metrics.render().then(
        (m) => res.writeHead(200, { 'content-type': m.contentType }).end(m.text),
        (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e)),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  limitTimeToFirstRequest(server, timeouts.firstRequestMs);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
