// Normalising what an operator types as the collector address into the HTTPS base and the
// agent WebSocket URL ("collector.example:8443", "https://...", "wss://...").
import { AGENT_WS_PATH } from '../../shared/protocol/agent-protocol.js';
import { InputError } from '../../shared/errors.js';

export class CollectorUrlError extends InputError {
  readonly code = 'MEERKAT_ERR_COLLECTOR_URL';
  constructor(input: string) {
    super(`not a collector address: ${JSON.stringify(input)}; expected https://host:port (or host:port)`);
    this.name = 'CollectorUrlError';
  }
}

export interface CollectorEndpoints {
  /** https://host:port (no path) */
  base: string;
  /** wss://host:port/v1/agent */
  ws: string;
  host: string;
  port: number;
}

export function collectorEndpoints(input: string): CollectorEndpoints {
  const text = input.trim();
  const withScheme = /^[a-z]+:\/\//i.test(text) ? text : `https://${text}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new CollectorUrlError(input);
  }
  if (!['https:', 'wss:'].includes(u.protocol) || u.hostname === '') throw new CollectorUrlError(input);
  const port = u.port ? Number(u.port) : 443;
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const hostPort = `${u.hostname}:${port}`;
  return { base: `https://${hostPort}`, ws: `wss://${hostPort}${AGENT_WS_PATH}`, host, port };
}
