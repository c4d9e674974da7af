// A hand-driven agent connection for protocol tests: real TLS + WebSocket, frames built
// with the protocol codec, answers awaited one by one (the Shipper hides them).
import { WebSocket } from 'ws';
import type { IncomingMessage } from 'node:http';
import { AGENT_WS_PATH, PROTOCOL_VERSION, encodeUploadFrame, parseCollectorMessage, REFUSAL_HEADER, type CollectorMessage } from '../../shared/protocol/agent-protocol.js';
import type { ShipperCredentials } from '../../agent/transport/shipper.js';

export class RawAgent {
  private readonly queue: CollectorMessage[] = [];
  private waiter: (() => void) | null = null;
  closed: { code: number; reason: string } | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer, bin: boolean) => {
      if (bin) return;
      const m = parseCollectorMessage(d.toString('utf8'));
      if (typeof m === 'string') throw new Error(m);
      this.queue.push(m);
      this.waiter?.();
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closed = { code, reason: reason.toString() };
      this.waiter?.();
    });
  }

  /**
   * Connects and says hello as the agent the credentials name (as the shipper does; `hello`
   * names another agent id, or false sends none); resolves with the agent, or rejects with
   * the collector's refusal reason. `extra.host`: the collector's address (default localhost).
   */
  static connect(port: number, creds: Partial<ShipperCredentials> & { agentId?: string }, extra: Record<string, unknown> = {},
    hello: string | false | undefined = creds.agentId): Promise<RawAgent> {
    return new Promise((resolve, reject) => {
      const { agentId: _id, ...tls } = creds;
      const { host = 'localhost', ...wsExtra } = extra as { host?: string };
      const ws = new WebSocket(`wss://${host.includes(':') ? `[${host}]` : host}:${port}${AGENT_WS_PATH}`, { ...tls, perMessageDeflate: false, ...wsExtra });
      const agent = new RawAgent(ws);
      ws.once('open', () => {
        if (hello) ws.send(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, agentId: hello, software: 'raw-agent' }));
        resolve(agent);
      });
      ws.once('unexpected-response', (_req, res: IncomingMessage) => {
        res.resume();
        reject(Object.assign(new Error(`refused: ${String(res.headers[REFUSAL_HEADER])}`), { refusal: String(res.headers[REFUSAL_HEADER]), status: res.statusCode }));
        ws.terminate();
      });
      ws.once('error', (e) => reject(e));
    });
  }

  /** Next message from the collector (of a type, skipping others if given). */
  async next<T extends CollectorMessage['type']>(type?: T, timeoutMs = 10_000): Promise<Extract<CollectorMessage, { type: T }>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = type ? this.queue.findIndex((m) => m.type === type) : (this.queue.length ? 0 : -1);
      if (i >= 0) return this.queue.splice(i, 1)[0] as Extract<CollectorMessage, { type: T }>;
      if (this.closed) throw new Error(`connection closed (${this.closed.code} ${this.closed.reason}) while waiting for ${type ?? 'a message'}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no ${type ?? 'message'} within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiter = () => { clearTimeout(t); this.waiter = null; r(); };
      });
    }
  }

  upload(seq: number, dump: Uint8Array, epoch = 0): void {
    this.ws.send(encodeUploadFrame(seq, epoch, dump));
  }

  sendRaw(data: Buffer | string): void {
    this.ws.send(data);
  }

  waitClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    return new Promise((resolve, reject) => {
      if (this.closed) return resolve(this.closed);
      const t = setTimeout(() => reject(new Error('connection not closed in time')), timeoutMs);
      this.ws.once('close', (code: number, reason: Buffer) => { clearTimeout(t); resolve({ code, reason: reason.toString() }); });
    });
  }

  close(): void {
    this.ws.close();
  }
}
