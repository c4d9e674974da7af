// Selected records as a stream of dump files, one after the other (each dump says its own
// length in its header): how the operators' API hands an export to the console, which may then turn
// pseudonyms back with the owner key before writing pcapng - the collector never has that key.
// Retro records go into dumps flagged Retro, the others into normal dumps; a change of kind or
// anonymization key, or DUMP_PACKETS records, ends a dump. The reader splits the stream again,
// refusing a dump above a size limit, and yields the records in stream order.
import { DumpWriter } from '../dump/dump-writer.js';
import { decodeDump } from '../dump/dump-reader.js';
import { DumpFlag, DUMP_HEADER_LEN, type DumpHeader } from '../dump/dump-header.js';
import { DumpFormatError } from '../dump/dump-error.js';
import { PacketRecord } from '../packet/packet-record.js';
import type { SelectedRecord } from './select-records.js';

const DUMP_PACKETS = 20_000;
/** a dump in the stream also ends once its payload passes this many bytes */
const DUMP_PAYLOAD_BYTES = 16 * 1024 * 1024;
const COMPRESSED_SIZE_OFFSET = 84;
export const DEFAULT_MAX_STREAM_DUMP = 64 * 1024 * 1024;

export interface DumpStreamSummary {
  packets: number;
  dumps: number;
  retro: number;
  bytes: number;
  truncated: 'packets' | 'bytes' | null;
}

export function newDumpStreamSummary(): DumpStreamSummary {
  return { packets: 0, dumps: 0, retro: 0, bytes: 0, truncated: null };
}

export async function* exportDumpStream(records: AsyncIterable<SelectedRecord>, summary: DumpStreamSummary, opts: { maxPackets?: number; maxBytes?: number } = {}): AsyncGenerator<Uint8Array> {
  let w: DumpWriter | null = null;
  let kind = '';
  let payload = 0;
  let seq = 0;
  const maxPackets = opts.maxPackets ?? Infinity;
  const maxBytes = opts.maxBytes ?? Infinity;
  const finish = (): Uint8Array | null => {
    if (w === null || w.count === 0) return null;
    const d = w.finish(seq++);
    summary.dumps++;
    summary.bytes += d.length;
    payload = 0;
    return d;
  };
  for await (const s of records) {
    if (summary.packets >= maxPackets) { summary.truncated = 'packets'; break; }
    const h = s.dump;
    const k = `${s.retro ? 'r' : 'n'}|${h.anonKeyId}|${h.linkType}`;
    if (w === null || k !== kind || w.count >= DUMP_PACKETS || payload >= DUMP_PAYLOAD_BYTES) {
      const d = finish();
      if (d) yield d;
      if (summary.bytes >= maxBytes) { summary.truncated = 'bytes'; w = null; break; }
      w = new DumpWriter({ agentId: h.agentId, anonKeyId: h.anonKeyId, snapLen: h.snapLen, linkType: h.linkType, retro: s.retro });
      kind = k;
    }
    w.add(s.rec);
    payload += s.rec.payload.length;
    summary.packets++;
    if (s.retro) summary.retro++;
  }
  const d = finish();
  if (d) yield d;
}

/** Splits a dump stream back into dump files. @throws DumpFormatError on a bad or oversized dump */
export async function* splitDumpStream(chunks: AsyncIterable<Uint8Array>, maxDumpBytes = DEFAULT_MAX_STREAM_DUMP): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(0);
  let len = 0;
  const append = (c: Uint8Array): void => {
    if (len + c.length > buf.length) {
      const next = new Uint8Array(Math.max(buf.length * 2, len + c.length, 64 * 1024));
      next.set(buf.subarray(0, len));
      buf = next;
    }
    buf.set(c, len);
    len += c.length;
  };
  for await (const c of chunks) {
    append(c);
    let off = 0;
    while (len - off >= DUMP_HEADER_LEN) {
      const size = DUMP_HEADER_LEN + new DataView(buf.buffer, buf.byteOffset + off + COMPRESSED_SIZE_OFFSET, 4).getUint32(0, true);
      if (size > maxDumpBytes) throw new DumpFormatError(`dump in the stream declares ${size} bytes, limit is ${maxDumpBytes}`);
      if (len - off < size) break;
      yield buf.slice(off, off + size);
      off += size;
    }
    if (off > 0) {
      buf.copyWithin(0, off, len);
      len -= off;
    }
  }
  if (len > 0) throw new DumpFormatError(`the dump stream ends inside a dump (${len} bytes left over)`);
}

/** The records of a dump stream, as SelectedRecord (retro from each dump's header flag). */
export async function* recordsFromDumpStream(dumps: AsyncIterable<Uint8Array>): AsyncGenerator<SelectedRecord> {
  for await (const bytes of dumps) {
    const d = decodeDump(bytes);
    const header: DumpHeader = d.header;
    const retro = (header.flags & DumpFlag.Retro) !== 0;
    const recs: PacketRecord[] = [];
    d.forEach((r) => { recs.push(new PacketRecord().copyFrom(r)); });
    for (const rec of recs) yield { rec, retro, dump: header };
  }
}
