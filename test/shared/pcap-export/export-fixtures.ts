// Test helper for packet exports: dumps made from reference captures by the agent's own replay
// pipeline, the collector's flows built from them in a real SQLite store, and what tshark says
// about an exported pcapng (malformed frames, bad checksums, conversations).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { replayFiles, type ReplaySummary } from '../../../agent/pipeline/replay-files.js';
import { DumpIngest } from '../../../collector/import/dump-ingest.js';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';

const run = promisify(execFile);

export function refPcap(rel: string): string {
  return join(referencePcapsDir(), rel);
}

/** Dumps of one capture, written by the agent pipeline (internal addresses anonymized with keyFile). */
export function makeDumps(pcap: string, outDir: string, o: { keyFile: string; snapLen: number; agentId?: string; packetsPerDump?: number }): Promise<ReplaySummary> {
  return replayFiles([pcap], { outDir, anonymize: 'internal', keyFile: o.keyFile, snapLen: o.snapLen, packetsPerDump: o.packetsPerDump ?? 500, ...(o.agentId ? { agentId: o.agentId } : {}) });
}

/** Imports dump files into a collector database (dump rows with raw paths, flows); returns the flows. */
export function importDumps(db: string, paths: readonly string[]): FlowRecord[] {
  const store = new SqliteFlowStore(db);
  try {
    const ingest = new DumpIngest(store);
    for (const p of paths) ingest.ingest(readFileSync(p), { receivedUs: Date.now() * 1000, rawPath: p });
    ingest.flushAll();
    return store.queryFlows({ order: 'asc' });
  } finally {
    store.close();
  }
}

export async function tshark(args: readonly string[]): Promise<string> {
  const { stdout } = await run('tshark', ['-n', ...args], { maxBuffer: 512 * 1024 * 1024 });
  return stdout;
}

export async function countFrames(file: string, filter: string, prefs: readonly string[] = []): Promise<number> {
  const out = await tshark(['-r', file, ...prefs, '-Y', filter, '-T', 'fields', '-e', 'frame.number']);
  return out.split('\n').filter(Boolean).length;
}

/** Per-direction frames and bytes of one conversation; the key orders the two endpoints. */
export interface Conversation { frames: [number, number]; bytes: [number, number] }

function splitEndpoint(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  return [s.slice(0, i), Number(s.slice(i + 1))];
}

function convKey(a: string, ap: number, b: string, bp: number): { key: string; flipped: boolean } {
  const x = `${a}|${ap}`;
  const y = `${b}|${bp}`;
  return x <= y ? { key: `${x} ${y}`, flipped: false } : { key: `${y} ${x}`, flipped: true };
}

function unitBytes(text: string): { value: number; exact: boolean; unit: number } {
  const m = /^([\d,]+) (bytes|kB|MB|GB)$/.exec(text.trim());
  if (!m) throw new Error(`tshark byte count not understood: ${JSON.stringify(text)}`);
  const unit = { bytes: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[m[2] as 'bytes'];
  return { value: Number(m[1]!.replace(/,/g, '')) * unit, exact: m[2] === 'bytes', unit };
}

/** `tshark -q -z conv,PROTO`: frames per direction exactly, bytes as tshark prints them (units round). */
export async function tsharkConversations(file: string, proto: 'tcp' | 'udp'): Promise<Map<string, Conversation & { bytesUnit: [number, number] }>> {
  const out = await tshark(['-r', file, '-q', '-z', `conv,${proto}`]);
  const re = /^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+([\d,]+ (?:bytes|kB|MB|GB))\s+(\d+)\s+([\d,]+ (?:bytes|kB|MB|GB))\s+(\d+)\s+/;
  const conv = new Map<string, Conversation & { bytesUnit: [number, number] }>();
  for (const line of out.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const [a, ap] = splitEndpoint(m[1]!);
    const [b, bp] = splitEndpoint(m[2]!);
    // "<-" frames went from B to A, "->" from A to B
    const toA = { frames: Number(m[3]), bytes: unitBytes(m[4]!) };
    const toB = { frames: Number(m[5]), bytes: unitBytes(m[6]!) };
    const k = convKey(a, ap, b, bp);
    // direction 0: from the first endpoint of the key to the second
    const [d0, d1] = k.flipped ? [toA, toB] : [toB, toA];
    conv.set(k.key, { frames: [d0.frames, d1.frames], bytes: [d0.bytes.value, d1.bytes.value], bytesUnit: [d0.bytes.unit, d1.bytes.unit] });
  }
  return conv;
}

/** The same sums from flow records (all records of a tuple added up: counters are incremental). */
export function flowConversations(flows: readonly FlowRecord[], proto: 'tcp' | 'udp'): Map<string, Conversation> {
  const conv = new Map<string, Conversation>();
  for (const f of flows) {
    if (f.proto !== proto) continue;
    const k = convKey(f.orig_addr, f.orig_port, f.resp_addr, f.resp_port);
    const c = conv.get(k.key) ?? { frames: [0, 0], bytes: [0, 0] };
    const [o, r] = k.flipped ? [1, 0] : [0, 1];
    c.frames[o] += f.orig_pkts;
    c.frames[r] += f.resp_pkts;
    c.bytes[o] += f.orig_ip_bytes;
    c.bytes[r] += f.resp_ip_bytes;
    conv.set(k.key, c);
  }
  return conv;
}

/** Exact per-direction frames and bytes from tshark's per-frame fields (frame.len = IP length here). */
export async function tsharkFrameSums(file: string, proto: 'tcp' | 'udp'): Promise<Map<string, Conversation>> {
  const out = await tshark(['-r', file, '-Y', proto, '-T', 'fields', '-E', 'separator=/t', '-e', 'ip.src', '-e', 'ipv6.src', '-e', `${proto}.srcport`, '-e', 'ip.dst', '-e', 'ipv6.dst', `-e`, `${proto}.dstport`, '-e', 'frame.len']);
  const conv = new Map<string, Conversation>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [s4, s6, sp, d4, d6, dp, len] = line.split('\t');
    const k = convKey((s4 || s6)!, Number(sp), (d4 || d6)!, Number(dp));
    const c = conv.get(k.key) ?? { frames: [0, 0], bytes: [0, 0] };
    const i = k.flipped ? 1 : 0;
    c.frames[i]++;
    c.bytes[i] += Number(len);
    conv.set(k.key, c);
  }
  return conv;
}
