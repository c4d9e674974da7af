// Live capture throughput: tcpreplay floods a veth with small UDP frames from the peer
// namespace as fast as it can, while the agent's live pipeline (bench/live-capture-child.ts)
// captures in the other namespace; the kernel's counters say how much the agent kept up
// with. Reference in the same run: tcpdump with the same snap length and ring, writing to
// /dev/null (capture with no processing at all). Only our own namespaces get traffic.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetnsPair, destroyNetnsPair, netnsExec, netnsSpawn, type NetnsPair } from '../test/helpers/netns.js';
import { launcherProfileFlags, nodeScriptArgs } from '../test/helpers/node-script.js';

export interface LiveCaptureBenchResult {
  /** frames tcpreplay sent, and its rate */
  offered: number;
  offeredPps: number;
  /** the agent: frames its pipeline saw, and the kernel's drop count */
  agentSeen: number;
  agentDrops: number;
  /** tcpdump on the same flood: captured and dropped */
  tcpdumpCaptured: number;
  tcpdumpDrops: number;
  /** the same pipeline in the agent's opt-in lean runtime profile (V8 lite mode), on the same flood */
  lean: { offeredPps: number; seen: number; drops: number };
}

function macBytes(mac: string): number[] {
  return mac.split(':').map((h) => parseInt(h, 16));
}

/**
 * A pcap of `count` 60-byte Ethernet/IPv4/UDP frames from B to A's MAC (many source ports),
 * addressed to an unassigned address of the pair's own subnet: A's stack drops them at once
 * (no forwarding), so the flood measures capture, not A's UDP stack (which, answering port
 * unreachable, capped tcpreplay at ~90k frames/s here).
 */
function floodPcap(pair: NetnsPair, count: number): Buffer {
  const frameLen = 60;
  const out = Buffer.alloc(24 + count * (16 + frameLen));
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(65535, 16);
  out.writeUInt32LE(1, 20);
  const ipA = pair.ipA.split('.').map(Number);
  ipA[3] = 200;
  const ipB = pair.ipB.split('.').map(Number);
  const frame = Buffer.alloc(frameLen);
  Buffer.from(macBytes(pair.macA)).copy(frame, 0);
  Buffer.from(macBytes(pair.macB)).copy(frame, 6);
  frame.writeUInt16BE(0x0800, 12);
  frame[14] = 0x45;
  frame.writeUInt16BE(46, 16); // IP total length: 20 + 8 + 18
  frame[22] = 64;
  frame[23] = 17;
  Buffer.from(ipB).copy(frame, 26);
  Buffer.from(ipA).copy(frame, 30);
  frame.writeUInt16BE(9, 36);
  frame.writeUInt16BE(26, 38);
  let off = 24;
  for (let i = 0; i < count; i++) {
    frame.writeUInt16BE(i & 0xffff, 18); // IP id
    frame.writeUInt16BE(0, 24);
    let sum = 0;
    for (let k = 14; k < 34; k += 2) sum += frame.readUInt16BE(k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    frame.writeUInt16BE(~sum & 0xffff, 24);
    frame.writeUInt16BE(1024 + (i % 4096), 34); // source port: many flows
    out.writeUInt32LE(Math.floor(i / 1000), off);
    out.writeUInt32LE((i % 1000) * 1000, off + 4);
    out.writeUInt32LE(frameLen, off + 8);
    out.writeUInt32LE(frameLen, off + 12);
    frame.copy(out, off + 16);
    off += 16 + frameLen;
  }
  return out;
}

async function replay(pair: NetnsPair, file: string): Promise<{ sent: number; pps: number }> {
  const r = await netnsExec(pair.nsB, 'tcpreplay', ['-i', pair.ifB, '-K', '--topspeed', file], { timeoutMs: 120_000 });
  const text = r.stdout + r.stderr;
  const sent = Number(/Actual:\s+(\d+) packets/.exec(text)?.[1] ?? NaN);
  const pps = Number(/Rated:.*?([\d.]+) pps/.exec(text)?.[1] ?? NaN);
  if (!Number.isFinite(sent)) throw new Error(`tcpreplay gave no figures: ${text}`);
  return { sent, pps };
}

const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function withAgent(pair: NetnsPair, run: () => Promise<void>, nodeArgs: string[] = []): Promise<{ seen: number; drops: number }> {
  const child = netnsSpawn(pair.nsA, process.execPath, [...nodeArgs, ...nodeScriptArgs('./live-capture-child', import.meta.url)]);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s; });
  for (let i = 0; i < 300 && !out.includes('READY'); i++) await settle(100);
  if (!out.includes('READY')) throw new Error(`live capture child did not start: ${err}`);
  await run();
  await settle(500);
  child.stdin!.write('stop\n');
  for (let i = 0; i < 100 && !out.includes('}'); i++) await settle(100);
  const s = JSON.parse(out.slice(out.indexOf('{'))) as { seen: number; kernelDrops: number | null };
  return { seen: s.seen, drops: s.kernelDrops ?? Number.NaN };
}

async function withTcpdump(pair: NetnsPair, run: () => Promise<void>): Promise<{ captured: number; drops: number }> {
  // same snap length (256) and ring (-B is KiB) as the agent's defaults
  const td = netnsSpawn(pair.nsA, 'tcpdump', ['-i', 'any', '-nn', '-s', '256', '-B', '2048', '-w', '/dev/null']);
  let err = '';
  td.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s; });
  for (let i = 0; i < 100 && !err.includes('listening'); i++) await settle(50);
  await run();
  await settle(500);
  const exited = new Promise<void>((r) => td.once('exit', () => r()));
  td.kill('SIGINT');
  await exited;
  const captured = Number(/(\d+) packets captured/.exec(err)?.[1] ?? NaN);
  const drops = Number(/(\d+) packets dropped by kernel/.exec(err)?.[1] ?? NaN);
  return { captured, drops };
}

export async function benchLiveCapture(opts: { packets?: number } = {}): Promise<LiveCaptureBenchResult> {
  const packets = opts.packets ?? 300_000;
  const pair = createNetnsPair();
  const dir = mkdtempSync(join(tmpdir(), 'mk-livebench-'));
  try {
    const file = join(dir, 'flood.pcap');
    writeFileSync(file, floodPcap(pair, packets));
    let offered = { sent: 0, pps: 0 };
    const agent = await withAgent(pair, async () => { offered = await replay(pair, file); });
    const td = await withTcpdump(pair, async () => { await replay(pair, file); });
    let leanOffered = { sent: 0, pps: 0 };
    const lean = await withAgent(pair, async () => { leanOffered = await replay(pair, file); }, launcherProfileFlags('lean'));
    return {
      offered: offered.sent,
      offeredPps: offered.pps,
      agentSeen: agent.seen,
      agentDrops: agent.drops,
      tcpdumpCaptured: td.captured,
      tcpdumpDrops: td.drops,
      lean: { offeredPps: leanOffered.pps, seen: lean.seen, drops: lean.drops },
    };
  } finally {
    destroyNetnsPair(pair);
    rmSync(dir, { recursive: true, force: true });
  }
}
