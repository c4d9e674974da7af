// RFC 5424 syslog to a configured host: UDP (one datagram per message, RFC 5426) or
// TCP with octet-counting framing (RFC 6587). TCP keeps one connection, reconnects with
// exponential backoff, and queues (bounded, oldest dropped) while it is down; a message
// leaves the queue only once written to a connected socket.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { connect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { BoundedQueue, waitUntil, type AlertOutput, type OutputItem, type OutputStats } from './alert-output.js';
import { formatSyslog, octetFrame, type SyslogFacility } from './syslog-format.js';

export interface SyslogOutputOptions {
  transport: 'udp' | 'tcp';
  host: string;
  port: number;
  facility?: SyslogFacility;
  appName?: string;
  /** HOSTNAME field (default this machine's name) */
  hostname?: string;
  sdId?: string;
  /** TCP queue limit (default 10000 messages) */
  maxQueue?: number;
  /** UDP: longer messages are cut to this many bytes (default 8192) */
  maxDatagram?: number;
  /** TCP reconnect backoff (ms): first delay, upper bound */
  backoffMs?: number;
  maxBackoffMs?: number;
}

export class SyslogOutput implements AlertOutput {
  readonly name: string;
  private readonly st: OutputStats = { sent: 0, failed: 0, dropped: 0, retries: 0, queued: 0 };
  private udp: UdpSocket | null = null;
  private udpPending = 0;
  private tcp: Socket | null = null;
  private connected = false;
  private connecting = false;
  private readonly queue: BoundedQueue<Buffer>;
  private backoff: number;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private closed = false;
  lastError: string | null = null;

  constructor(private readonly opts: SyslogOutputOptions) {
    this.name = `syslog-${opts.transport}:${opts.host}:${opts.port}`;
    this.queue = new BoundedQueue(opts.maxQueue ?? 10_000);
    this.backoff = opts.backoffMs ?? 200;
  }

  private format(i: OutputItem): string {
    return formatSyslog(i.alert, i.kind, {
      hostname: this.opts.hostname ?? hostname(), appName: this.opts.appName ?? 'meerkat',
      ...(this.opts.facility ? { facility: this.opts.facility } : {}), ...(this.opts.sdId ? { sdId: this.opts.sdId } : {}),
    });
  }

  send(items: readonly OutputItem[]): void {
    if (this.closed) return;
    if (this.opts.transport === 'udp') {
      for (const i of items) this.sendUdp(this.format(i));
      return;
    }
    for (const i of items) this.queue.push(octetFrame(this.format(i)));
    this.st.dropped = this.queue.dropped;
    this.pump();
  }

  private sendUdp(msg: string): void {
    if (this.udp === null) {
      this.udp = createSocket(isIPv6(this.opts.host) ? 'udp6' : 'udp4');
      this.udp.on('error', (e) => { this.lastError = String(e); });
      this.udp.unref();
    }
    let buf = Buffer.from(msg, 'utf8');
    const max = this.opts.maxDatagram ?? 8192;
    if (buf.length > max) buf = buf.subarray(0, max);
    this.udpPending++;
    this.udp.send(buf, this.opts.port, this.opts.host, (err) => {
      this.udpPending--;
      if (err) { this.st.failed++; this.lastError = String(err); } else this.st.sent++;
    });
  }

  private connectTcp(): void {
    if (this.connecting || this.connected || this.closed) return;
    this.connecting = true;
    const sock = connect({ host: this.opts.host, port: this.opts.port });
    this.tcp = sock;
    sock.setNoDelay(true);
    sock.on('connect', () => {
      this.connecting = false;
      this.connected = true;
      this.backoff = this.opts.backoffMs ?? 200;
      this.pump();
    });
    sock.on('error', (e) => { this.lastError = String(e); });
    sock.on('close', () => {
      this.connecting = false;
      this.connected = false;
      this.tcp = null;
      if (this.closed) return;
      this.st.retries++;
      this.reconnectTimer = setTimeout(() => { this.reconnectTimer = null; this.connectTcp(); }, this.backoff);
      this.reconnectTimer.unref();
      this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs ?? 30_000);
    });
  }

  private pump(): void {
    if (!this.connected) { if (this.queue.length > 0) this.connectTcp(); return; }
    const sock = this.tcp!;
    while (this.queue.length > 0 && this.connected) {
      const frame = this.queue.shift()!;
      sock.write(frame);
      this.st.sent++;
    }
  }

  async drain(timeoutMs = 5000): Promise<void> {
    if (this.opts.transport === 'udp') {
      await waitUntil(() => this.udpPending === 0, timeoutMs);
      return;
    }
    await waitUntil(() => this.queue.length === 0 && (this.tcp === null || this.tcp.writableLength === 0), timeoutMs);
  }

  async close(): Promise<void> {
    await this.drain(2000);
    this.closed = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.udp?.close();
    this.udp = null;
    if (this.tcp !== null) {
      const s = this.tcp;
      await new Promise<void>((resolve) => { s.end(() => resolve()); setTimeout(resolve, 1000).unref(); });
      s.destroy();
    }
  }

  stats(): OutputStats {
    return { ...this.st, dropped: this.queue.dropped, queued: this.queue.length };
  }
}
