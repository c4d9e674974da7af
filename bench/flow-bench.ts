// Flow engine throughput for the bench harness.
//   benchFlows: packet records prepared in memory, engine only (passes repeated for
//     about a second, a fresh engine per pass; records are emitted to a no-op sink).
//     packetsPerSec is per second of this process's CPU time (like the Argus figure in
//     ../shared/pcaps/SOURCES.md, and robust on a shared machine); wallPacketsPerSec too.
//   benchDumpToStore: dump files -> decode -> flow engine -> SQLite, end to end.
// Also runnable alone: node --import tsx bench/flow-bench.ts [capture]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FlowEngine } from '../collector/flow/flow-engine.js';
import { importFiles } from '../collector/import/import-files.js';
import { openCaptureFile } from '../shared/capture-file/open-capture-file.js';
import { decodePacket } from '../shared/decode/decode-packet.js';
import { DecodedPacket } from '../shared/decode/decoded-packet.js';
import { PacketRecord } from '../shared/packet/packet-record.js';
import { referencePcapsDir } from '../shared/util/repo-paths.js';

function enginePass(records: PacketRecord[]): number {
  let emitted = 0;
  const engine = new FlowEngine({ agentId: 'bench', onRecord: () => { emitted++; } });
  for (let i = 0; i < records.length; i++) engine.add(records[i]!);
  engine.flushAll();
  return emitted;
}

/** Engine-only throughput over records already in memory. */
export function benchFlows(records: PacketRecord[], minSeconds = 1): { packetsPerSec: number; wallPacketsPerSec: number } {
  if (records.length === 0) return { packetsPerSec: 0, wallPacketsPerSec: 0 };
  for (let i = 0; i < 3; i++) enginePass(records); // warm up the JIT
  let packets = 0;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let seconds = 0;
  do {
    enginePass(records);
    packets += records.length;
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  } while (seconds < minSeconds);
  const cpu = process.cpuUsage(c0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { packetsPerSec: packets / (cpuSeconds > 0 ? cpuSeconds : seconds), wallPacketsPerSec: packets / seconds };
}

/** Dump files through the importer into a SQLite database (created at dbPath). */
export async function benchDumpToStore(dumpFiles: string[], dbPath: string): Promise<{ packetsPerSec: number }> {
  const t0 = process.hrtime.bigint();
  const s = await importFiles(dumpFiles, { db: dbPath, progress: false });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (s.errors > 0) throw new Error(`benchDumpToStore: ${s.errors} dump file(s) failed: ${s.files.find((f) => f.error)?.error}`);
  return { packetsPerSec: seconds > 0 ? s.packets / seconds : 0 };
}

/**
 * Decodes a capture into independent PacketRecords, `copies` times over with each copy
 * shifted in time (and ports) so flows do not collide: input for benchFlows.
 */
export function loadRecords(capture: string, copies = 1): PacketRecord[] {
  const reader = openCaptureFile(capture);
  const d = new DecodedPacket();
  const base: PacketRecord[] = [];
  let first = 0;
  let last = 0;
  try {
    for (let fr = reader.next(); fr !== null; fr = reader.next()) {
      decodePacket(fr.linkType, fr.data, fr.wireLen, fr.tsUs, d);
      base.push(new PacketRecord().copyFrom(d));
      if (base.length === 1) first = fr.tsUs;
      last = Math.max(last, fr.tsUs);
    }
  } finally {
    reader.close();
  }
  const span = last - first + 3_600_000_000; // an hour apart: every flow of a copy has expired
  const out: PacketRecord[] = [];
  for (let c = 0; c < copies; c++) {
    for (const r of base) {
      const x = new PacketRecord().copyFrom(r);
      x.tsUs += c * span;
      out.push(x);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const capture = process.argv[2] ?? join(referencePcapsDir(), 'zeek', 'echo-connections.pcap');
  const records = loadRecords(capture, 4);
  const r = benchFlows(records, 2);
  process.stdout.write(`flow engine: ${records.length} records, ${(r.packetsPerSec / 1e6).toFixed(2)} M packets per CPU second ` +
    `(${(r.wallPacketsPerSec / 1e6).toFixed(2)} M/s wall clock)\n`);
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-flow-bench-'));
  try {
    const { DumpWriter } = await import('../shared/dump/index.js');
    const { writeFileSync } = await import('node:fs');
    const w = new DumpWriter({ agentId: '00000000-0000-4000-8000-000000000001', anonKeyId: '0000000000000000', snapLen: 0 });
    const files: string[] = [];
    for (const rec of records) {
      w.add(rec);
      if (w.count >= 20000) {
        const f = join(dir, `d${files.length + 1}.mkd`);
        writeFileSync(f, w.finish(files.length + 1));
        files.push(f);
      }
    }
    if (w.count > 0) {
      const f = join(dir, `d${files.length + 1}.mkd`);
      writeFileSync(f, w.finish(files.length + 1));
      files.push(f);
    }
    const s = await benchDumpToStore(files, join(dir, 'flows.db'));
    process.stdout.write(`dumps -> SQLite: ${files.length} dumps, ${(s.packetsPerSec / 1e3).toFixed(0)} k packets/s\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`flow-bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}

/**
 * What `argus -r` does, for a like-for-like ratio: read the capture, decode every frame
 * and build flows (records go to a no-op sink), one pass, CPU seconds of this process.
 */
export function benchCaptureToFlows(capture: string): { packets: number; packetsPerCpuSec: number } {
  const reader = openCaptureFile(capture);
  const d = new DecodedPacket();
  let records = 0;
  const engine = new FlowEngine({ agentId: 'bench', onRecord: () => { records++; } });
  let packets = 0;
  const c0 = process.cpuUsage();
  try {
    for (let fr = reader.next(); fr !== null; fr = reader.next()) {
      decodePacket(fr.linkType, fr.data, fr.wireLen, fr.tsUs, d);
      engine.add(d);
      packets++;
    }
    engine.flushAll();
  } finally {
    reader.close();
  }
  const c = process.cpuUsage(c0);
  if (records < 0) throw new Error('unreachable');
  return { packets, packetsPerCpuSec: packets / ((c.user + c.system) / 1e6) };
}
