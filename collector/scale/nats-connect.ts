// Connection to NATS for the scale-out roles: credentials from a file ("user:password" or a
// token), optional TLS (server verified against a CA file, optional client certificate). The
// first connection fails fast with the server's reason (unreachable, certificate, credentials:
// the role exits and its supervisor restarts it); once connected it reconnects forever (a NATS
// restart must not end a front-end or a worker).
import { readFileSync } from 'node:fs';
import { connect, type ConnectionOptions, type NatsConnection } from 'nats';
import { readSecretFile } from '../../shared/store/postgres/pg-connect.js';
import type { ScaleOutConfig } from './scale-config.js';

export function natsOptions(cfg: Pick<ScaleOutConfig, 'natsUrl' | 'natsCredsFile' | 'natsTls'>, name: string): ConnectionOptions {
  const opts: ConnectionOptions = {
    servers: cfg.natsUrl.split(',').map((s) => s.trim()).filter(Boolean),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  };
  if (cfg.natsCredsFile) {
    const secret = readSecretFile(cfg.natsCredsFile, 'NATS credentials');
    const i = secret.indexOf(':');
    if (i > 0) { opts.user = secret.slice(0, i); opts.pass = secret.slice(i + 1); } else opts.token = secret;
  }
  if (cfg.natsTls) {
    opts.tls = {
      caFile: cfg.natsTls.ca,
      ...(cfg.natsTls.cert ? { certFile: cfg.natsTls.cert, keyFile: cfg.natsTls.key } : {}),
    };
    // fail early with a clear message rather than inside the client's TLS setup
    readFileSync(cfg.natsTls.ca);
  }
  return opts;
}

export function connectNats(cfg: Pick<ScaleOutConfig, 'natsUrl' | 'natsCredsFile' | 'natsTls'>, name: string): Promise<NatsConnection> {
  return connect(natsOptions(cfg, name));
}

/** Follows the connection's state: `down()` is true from a disconnect until the reconnect (health checks). */
export function natsLiveness(nc: NatsConnection): { down(): boolean } {
  let down = false;
  void (async () => {
    for await (const st of nc.status()) {
      if (st.type === 'disconnect') down = true;
      else if (st.type === 'reconnect') down = false;
    }
  })();
  return { down: () => down || nc.isClosed() };
}
