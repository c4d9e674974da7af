// The collector's three ports and the header each answer carries naming its port, so a client
// that reached the wrong one (the console pointed at the ops port, an agent at the API) can
// say which port it reached instead of failing with a TLS or HTTP error it cannot explain.
//   listen  agents: enrollment and the WebSocket (TLS, default 8443)
//   api     operators: the HTTPS API with operator certificates (default 127.0.0.1:9470)
//   ops     /healthz and /metrics (plain HTTP, default 127.0.0.1:9469)

export type PortName = 'listen' | 'api' | 'ops';

export const PORT_HEADER = 'x-meerkat-port';

export const PORT_DEFAULTS: Readonly<Record<PortName, string>> = {
  listen: '0.0.0.0:8443',
  api: '127.0.0.1:9470',
  ops: '127.0.0.1:9469',
};

/** What each port is, for messages ("... is the collector's ops port (plain HTTP /healthz and /metrics)"). */
export const PORT_ROLES: Readonly<Record<PortName, string>> = {
  listen: 'agents\' port ("listen": enrollment and dumps, TLS)',
  api: 'operators\' API ("api": HTTPS with an operator certificate)',
  ops: 'ops port ("ops": plain HTTP /healthz and /metrics)',
};

export function isPortName(v: unknown): v is PortName {
  return v === 'listen' || v === 'api' || v === 'ops';
}
