// Builds a large benchmark capture from real traces in ../shared/pcaps: the
// traces are repeated with shifted IPv4/IPv6 addresses and times until the
// wanted packet count is reached, so flows stay distinct and realistic.
import { closeSync, existsSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openCaptureFile } from '../shared/capture-file/index.js';
import { referencePcapsDir } from '../shared/util/repo-paths.js';

const SOURCES = ['zeek/echo-connections.pcap', 'zeek/ftp_cwd-navigation.pcap', 'zeek/ssh_ssh.pcap', 'ndpi/netflix.pcap', 'zeek/http_no_crlf.pcap'];

interface Frame { data: Uint8Array; tsUs: number; wireLen: number }

function loadFrames(file: string): Frame[] {
  const r = openCaptureFile(file);
  const out: Frame[] = [];
  try {
    for (let f = r.next(); f; f = r.next()) {
      if (f.linkType !== 1) continue; // Ethernet only, so one output link type
      out.push({ data: f.data.slice(), tsUs: f.tsUs, wireLen: f.wireLen });
    }
  } finally {
    r.close();
  }
  return out;
}

/** Rewrites the source and destination address's second byte so each repetition is a new set of hosts. */
function shiftAddresses(buf: Uint8Array, rep: number): void {
  let off = 12;
  let et = (buf[off]! << 8) | buf[off + 1]!;
  while ((et === 0x8100 || et === 0x88a8) && off + 6 <= buf.length) { off += 4; et = (buf[off]! << 8) | buf[off + 1]!; }
  const l3 = off + 2;
  if (et === 0x0800 && l3 + 20 <= buf.length) {
    buf[l3 + 13] = (buf[l3 + 13]! + rep) & 0xff;
    buf[l3 + 17] = (buf[l3 + 17]! + rep) & 0xff;
  } else if (et === 0x86dd && l3 + 40 <= buf.length) {
    buf[l3 + 8 + 5] = (buf[l3 + 8 + 5]! + rep) & 0xff;
    buf[l3 + 24 + 5] = (buf[l3 + 24 + 5]! + rep) & 0xff;
  }
}

export interface BenchCapture { file: string; packets: number; bytes: number }

export function makeBenchCapture(outDir: string, targetPackets: number): BenchCapture {
  const file = join(outDir, `bench-${targetPackets}.pcap`);
  if (existsSync(file)) return { file, packets: targetPackets, bytes: statSync(file).size };
  // each trace starts at offset 0 and the mix is ordered by that offset, so one
  // repetition looks like one busy host running all of them at once
  const base: Frame[] = [];
  for (const s of SOURCES) {
    const frames = loadFrames(join(referencePcapsDir(), s));
    const start = frames.length ? frames[0]!.tsUs : 0;
    for (const f of frames) base.push({ ...f, tsUs: f.tsUs - start });
  }
  base.sort((a, b) => a.tsUs - b.tsUs);
  const t0 = 0;
  let last = 0;
  for (const f of base) if (f.tsUs > last) last = f.tsUs;
  const span = last + 1_000_000;
  const fd = openSync(file + '.tmp', 'w');
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(262144, 16);
  hdr.writeUInt32LE(1, 20);
  writeSync(fd, hdr);
  const chunk = Buffer.alloc(8 << 20);
  let used = 0;
  let written = 0;
  for (let rep = 0; written < targetPackets; rep++) {
    for (const f of base) {
      if (written >= targetPackets) break;
      if (used + 16 + f.data.length > chunk.length) { writeSync(fd, chunk, 0, used); used = 0; }
      const ts = f.tsUs - t0 + rep * span + 1_700_000_000_000_000;
      chunk.writeUInt32LE(Math.floor(ts / 1e6), used);
      chunk.writeUInt32LE(ts % 1e6, used + 4);
      chunk.writeUInt32LE(f.data.length, used + 8);
      chunk.writeUInt32LE(f.wireLen, used + 12);
      chunk.set(f.data, used + 16);
      if (rep > 0) shiftAddresses(chunk.subarray(used + 16, used + 16 + f.data.length), rep);
      used += 16 + f.data.length;
      written++;
    }
  }
  writeSync(fd, chunk, 0, used);
  closeSync(fd);
  // rename last so an interrupted run never leaves a short file behind
  renameSync(file + '.tmp', file);
  return { file, packets: written, bytes: statSync(file).size };
}

