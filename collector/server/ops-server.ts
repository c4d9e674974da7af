// The ops port: plain HTTP, 127.0.0.1:9469 by default (operators put their own proxy in
// front if they need more): /healthz and /metrics (Prometheus), nothing about agents - who is
// connected, their health and counts are behind the operators' mTLS API (GET /v1/agents,
// GET /v1/transport/agents; collector/control/admin-api.ts). Every answer names the port
// (header x-meerkat-port: ops), so a client pointed here by mistake can say where it is.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PORT_HEADER } from '../../shared/protocol/port-names.js';
import type { CollectorMetrics } from './collector-metrics.js';
import { limitTimeToFirstRequest, serverTimeoutOptions, type ConnectionTimeouts } from './connection-timeouts.js';

export interface OpsStatus {
  /** 'ok', or 'degraded' with reasons (the process is up but something needs attention) */
  health(): { status: 'ok' | 'degraded'; reasons: string[]; agentsConnected: number };
}

export interface OpsServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** A scraper or probe that connects and then stalls is dropped after these (default). */
const OPS_TIMEOUTS: ConnectionTimeouts = { handshakeMs: 10_000, firstRequestMs: 10_000, headersMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000 };

export async function startOpsServer(host: string, port: number, metrics: CollectorMetrics, status: OpsStatus,
  timeouts: ConnectionTimeouts = OPS_TIMEOUTS): Promise<OpsServer> {
  const server = createServer(serverTimeoutOptions(timeouts), (req, res) => {
    res.setHeader(PORT_HEADER, 'ops');
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
