// Decoder throughput for the bench harness: the capture's frames are loaded into
// memory once, then decoded in repeated passes for about a second, so the figure
// is decode cost alone (ns/packet = seconds / packets). benchReadDecode adds the
// capture-file reader (file in page cache).
// Also runnable alone: node --import tsx bench/decode-bench.ts [capture]
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { openCaptureFile } from '../shared/capture-file/open-capture-file.js';
import { DecodedPacket } from '../shared/decode/decoded-packet.js';
import { decodePacket } from '../shared/decode/decode-packet.js';
import { referencePcapsDir } from '../shared/util/repo-paths.js';

export interface DecodeBenchResult {
  packets: number;
  seconds: number;
}

interface Frame { linkType: number; data: Uint8Array; wireLen: number; tsUs: number }

function loadFrames(file: string): Frame[] {
  const r = openCaptureFile(file);
  const frames: Frame[] = [];
  try {
    for (let f = r.next(); f; f = r.next()) frames.push({ linkType: f.linkType, data: f.data.slice(), wireLen: f.wireLen, tsUs: f.tsUs });
  } finally {
    r.close();
  }
  return frames;
}

function decodePass(frames: Frame[], out: DecodedPacket): number {
  let sink = 0;
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    decodePacket(f.linkType, f.data, f.wireLen, f.tsUs, out);
    sink += out.sport;
  }
  return sink;
}

/** Decode-only throughput over the frames of `file`. */
export async function benchDecode(file: string, minSeconds = 1): Promise<DecodeBenchResult> {
  const frames = loadFrames(file);
  if (frames.length === 0) return { packets: 0, seconds: 0 };
  const out = new DecodedPacket();
  for (let i = 0; i < 3; i++) decodePass(frames, out); // warm up the JIT
  let packets = 0;
  const t0 = process.hrtime.bigint();
  let seconds = 0;
  do {
    decodePass(frames, out);
    packets += frames.length;
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  } while (seconds < minSeconds);
  return { packets, seconds };
}

/** Reading the file and decoding every frame, end to end. */
export async function benchReadDecode(file: string, minSeconds = 1): Promise<DecodeBenchResult> {
  const out = new DecodedPacket();
  let packets = 0;
  const t0 = process.hrtime.bigint();
  let seconds = 0;
  do {
    const r = openCaptureFile(file);
    try {
      for (let f = r.next(); f; f = r.next()) {
        decodePacket(f.linkType, f.data, f.wireLen, f.tsUs, out);
        packets++;
      }
    } finally {
      r.close();
    }
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  } while (seconds < minSeconds);
  return { packets, seconds };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2] ?? join(referencePcapsDir(), 'zeek', 'echo-connections.pcap');
  const d = await benchDecode(file);
  const rd = await benchReadDecode(file);
  console.log(`${file}\n  decode:        ${((d.seconds * 1e9) / d.packets).toFixed(1)} ns/packet (${(d.packets / d.seconds / 1e6).toFixed(2)} M packets/s)`);
  console.log(`  read + decode: ${((rd.seconds * 1e9) / rd.packets).toFixed(1)} ns/packet (${(rd.packets / rd.seconds / 1e6).toFixed(2)} M packets/s)`);
}
