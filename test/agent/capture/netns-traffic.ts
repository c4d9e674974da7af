// Test helper: small Node programs (run with `node -e` inside a namespace) that make real
// traffic for the live capture tests: echo servers, a client that runs UDP/TCP exchanges
// over IPv4 and IPv6, and link-local noise (broadcasts, mDNS, SSDP).
import type { ChildProcess } from 'node:child_process';
import { netnsExec, netnsSpawn } from '../../helpers/netns.js';

export const TCP_ECHO_PORT = 7001;
export const UDP_ECHO_PORT = 7002;
/** plays the collector: the agent must never capture this port on the collector's address */
export const COLLECTOR_PORT = 7003;

const SERVER = `
const net = require('net'), dgram = require('dgram');
let pending = 4;
const up = () => { if (--pending === 0) console.log('READY'); };
net.createServer((s) => s.pipe(s)).listen(${TCP_ECHO_PORT}, '::', up);
net.createServer((s) => s.pipe(s)).listen(${COLLECTOR_PORT}, '::', up);
for (const type of ['udp4', 'udp6']) {
  const u = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
  u.on('message', (m, r) => u.send(m, r.port, r.address));
  u.bind(${UDP_ECHO_PORT}, up);
}
`;

/** Starts the echo servers in ns; resolves once they listen. */
export async function startEchoServers(ns: string): Promise<ChildProcess> {
  const child = netnsSpawn(ns, process.execPath, ['-e', SERVER]);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; if (out.includes('READY')) resolve(); });
    child.once('exit', (code) => reject(new Error(`echo servers exited (${code})`)));
  });
  return child;
}

export interface ClientPlan {
  peer4: string;
  peer6: string;
  /** IPv4 address of this side, for the multicast interface */
  self4: string;
  broadcast: string;
  udp4: number;
  udp6: number;
  tcpMessages: number;
  /** bytes per datagram / TCP message; filled with `fill` */
  size: number;
  fill: number;
  collector: boolean;
  noise: boolean;
  /** also send a datagram to a closed port (provokes ICMP port unreachable) */
  closedPort: boolean;
}

const CLIENT = (p: ClientPlan): string => `
const net = require('net'), dgram = require('dgram');
const P = ${JSON.stringify(p)};
const payload = Buffer.alloc(P.size, P.fill);
function udpRound(type, host, n) {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(type);
    let got = 0;
    const t = setTimeout(() => reject(new Error(type + ': ' + got + ' of ' + n + ' echoes')), 5000);
    s.on('message', () => { if (++got === n) { clearTimeout(t); s.close(); resolve(); } });
    s.bind(0, () => { for (let i = 0; i < n; i++) s.send(payload, ${UDP_ECHO_PORT}, host); });
  });
}
function tcpRound(host, port, n) {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, host);
    let want = payload.length, i = 0;
    c.on('error', reject);
    c.on('connect', () => c.write(payload));
    c.on('data', (d) => {
      want -= d.length;
      if (want > 0) return;
      if (++i < n) { want = payload.length; c.write(payload); } else c.end();
    });
    c.on('close', () => resolve());
  });
}
function noise() {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, P.self4, () => {
      s.setBroadcast(true);
      s.setMulticastInterface(P.self4);
      const sends = [['255.255.255.255', 9999], [P.broadcast, 9999], ['224.0.0.251', 5353], ['239.255.255.250', 1900]];
      let left = sends.length;
      for (const [h, port] of sends) s.send(Buffer.from('noise ' + P.self4), port, h, () => { if (--left === 0) { s.close(); resolve(); } });
    });
  });
}
function closed() {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.on('error', () => {});
    s.send(payload, 9, P.peer4, () => setTimeout(() => { s.close(); resolve(); }, 200));
  });
}
(async () => {
  if (P.udp4) await udpRound('udp4', P.peer4, P.udp4);
  if (P.udp6) await udpRound('udp6', P.peer6, P.udp6);
  if (P.tcpMessages) await tcpRound(P.peer4, ${TCP_ECHO_PORT}, P.tcpMessages);
  if (P.collector) await tcpRound(P.peer4, ${COLLECTOR_PORT}, 1);
  if (P.noise) await noise();
  if (P.closedPort) await closed();
  console.log('DONE');
})().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
`;

/** Runs the client plan in ns; rejects if an exchange did not complete. */
export async function runClient(ns: string, plan: ClientPlan): Promise<void> {
  const r = await netnsExec(ns, process.execPath, ['-e', CLIENT(plan)], { timeoutMs: 20_000 });
  if (r.code !== 0 || !r.stdout.includes('DONE')) throw new Error(`traffic client failed (${r.code}): ${r.stderr}`);
}

/** Starts tcpdump writing every frame of dev to file; resolves once it listens. */
export async function startTcpdump(ns: string, dev: string, file: string): Promise<ChildProcess> {
  // immediate mode: without it libpcap hands over TPACKET_V3 blocks only when full or after
  // 1 s, and the frames of an unfinished block are lost when tcpdump is stopped
  const child = netnsSpawn(ns, 'tcpdump', ['-i', dev, '-n', '--immediate-mode', '-U', '-w', file]);
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s; if (err.includes('listening on')) resolve(); });
    child.once('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${err}`)));
  });
  return child;
}

export function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** Sends `count` UDP datagrams of `size` bytes to host:port as fast as Node can (no replies awaited). */
export async function udpBurst(ns: string, host: string, port: number, count: number, size = 18): Promise<void> {
  const code = `
const s = require('dgram').createSocket(${host.includes(':') ? "'udp6'" : "'udp4'"});
const b = Buffer.alloc(${size}, 0x42);
let sent = 0, done = 0;
function more() {
  for (let k = 0; k < 256 && sent < ${count}; k++, sent++) s.send(b, ${port}, '${host}', () => { if (++done === ${count}) { s.close(); console.log('SENT'); } });
  if (sent < ${count}) setImmediate(more);
}
more();`;
  const r = await netnsExec(ns, process.execPath, ['-e', code], { timeoutMs: 30_000 });
  if (!r.stdout.includes('SENT')) throw new Error(`udp burst failed: ${r.stderr}`);
}

/**
 * Sends `count` UDP datagrams at a steady pace (`perTick` every millisecond tick), each
 * carrying its sequence number; resolves when all were sent.
 */
export async function udpPaced(ns: string, host: string, port: number, count: number, perTick: number): Promise<void> {
  const code = `
const s = require('dgram').createSocket(${host.includes(':') ? "'udp6'" : "'udp4'"});
let sent = 0, done = 0;
const t = setInterval(() => {
  for (let k = 0; k < ${perTick} && sent < ${count}; k++, sent++) {
    const b = Buffer.alloc(64); b.writeUInt32BE(sent, 0);
    s.send(b, ${port}, '${host}', () => { if (++done === ${count}) { s.close(); console.log('SENT'); } });
  }
  if (sent >= ${count}) clearInterval(t);
}, 1);`;
  const r = await netnsExec(ns, process.execPath, ['-e', code], { timeoutMs: 60_000 });
  if (!r.stdout.includes('SENT')) throw new Error(`paced udp failed: ${r.stderr}`);
}
