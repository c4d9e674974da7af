// The first exchange on a new agent connection: the agent's `hello` must come first, within a
// time limit, speak our protocol version and name the agent its certificate names. Only then
// is the connection registered (replacing that agent's older one) and welcomed; a bad or
// missing hello is refused before any of that, so a connection that lies about its identity
// gets no welcome and can drop no live connection.
import type { WebSocket } from 'ws';
import { AGENT_WS_PATH, PROTOCOL_VERSION, parseAgentMessage } from '../../shared/protocol/agent-protocol.js';

export type HelloVerdict =
  | { ok: true }
  /** `code`: the error code sent to the agent (`bad-message`, `version`, `identity`, `hello-timeout`), or `closed` */
  | { ok: false; code: string; reason: string };

/**
 * Calls `done` exactly once: with ok when the first message is a good hello (synchronously, from
 * the message event, so the caller can attach its own handlers before the next frame is
 * emitted), else with what was wrong.
 */
export function awaitHello(ws: WebSocket, agentId: string, timeoutMs: number, done: (v: HelloVerdict) => void): void {
  let settled = false;
  const finish = (v: HelloVerdict): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    ws.off('message', onMessage);
    ws.off('close', onClose);
    done(v);
  };
  const onMessage = (data: Buffer, isBinary: boolean): void => {
    if (isBinary) return finish({ ok: false, code: 'bad-message', reason: 'an upload before hello: send hello first and wait for welcome' });
    finish(checkHello(data.toString('utf8'), agentId));
  };
  const onClose = (): void => finish({ ok: false, code: 'closed', reason: 'connection closed before hello' });
  const timer = setTimeout(() => finish({ ok: false, code: 'hello-timeout', reason: `no hello within ${timeoutMs} ms` }), timeoutMs);
  timer.unref();
  ws.on('message', onMessage);
  ws.on('close', onClose);
}

/** The verdict on a first message's text (pure). */
export function checkHello(text: string, agentId: string): HelloVerdict {
  const msg = parseAgentMessage(text);
  if (typeof msg === 'string') return { ok: false, code: 'bad-message', reason: msg };
  if (msg.type !== 'hello') return { ok: false, code: 'bad-message', reason: `hello expected first, got ${msg.type}` };
  if (msg.v !== PROTOCOL_VERSION) {
    return { ok: false, code: 'version', reason: `collector speaks protocol ${PROTOCOL_VERSION} on ${AGENT_WS_PATH}, agent sent ${msg.v}` };
  }
  if (msg.agentId !== agentId) return { ok: false, code: 'identity', reason: `hello names agent ${msg.agentId}, certificate names ${agentId}` };
  return { ok: true };
}
