// Dump writer/reader benchmark (one of `npm run bench`): encode 20,000 prepared
// records into one dump repeatedly, report CPU per dump, bytes per packet, and
// the time to decode + validate + iterate the result.
import { DumpWriter } from '../shared/dump/dump-writer.js';
import { decodeDump } from '../shared/dump/dump-reader.js';
import type { PacketRecord } from '../shared/packet/packet-record.js';

export interface DumpBenchResult {
  /** wall-clock CPU to add all records and finish (compress) one dump, ms */
  msPerDump: number;
  /** finished dump size / record count */
  bytesPerPacket: number;
  /** decode (checksum, inflate, validate) + forEach over every record, ms */
  decodeMsPerDump: number;
}

export function benchDumpEncode(records: PacketRecord[], rounds = 20): DumpBenchResult {
  if (records.length === 0) throw new RangeError('benchDumpEncode needs at least one record');
  const w = new DumpWriter({ agentId: '00000000-0000-4000-8000-000000000001', anonKeyId: '0000000000000001', snapLen: 0 });
  let bytes: Uint8Array = new Uint8Array(0);
  const build = (): void => {
    for (let i = 0; i < records.length; i++) w.add(records[i]!);
    bytes = w.finish(1);
  };
  let sink = 0;
  const read = (): void => {
    decodeDump(bytes).forEach((r) => {
      sink += r.ipLen;
    });
  };
  for (let i = 0; i < 3; i++) build(); // warm up (JIT)
  const encMs = bestOf(rounds, build);
  for (let i = 0; i < 3; i++) read();
  const decMs = bestOf(rounds, read);
  if (sink < 0) throw new Error('unreachable');
  return { msPerDump: encMs, bytesPerPacket: bytes.length / records.length, decodeMsPerDump: decMs };
}

/** Median of `rounds` timings: robust against other load on a shared machine. */
function bestOf(rounds: number, fn: () => void): number {
  const t: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const a = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - a) / 1e6);
  }
  t.sort((x, y) => x - y);
  return t[t.length >> 1]!;
}
