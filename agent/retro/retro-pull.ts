// A pull from the retro ring: the packets of [since, until] (and a peer / port, as records carry
// them) read back from the ring's chunks, oldest first, and packed into dumps flagged Retro that
// the caller spools for shipping. Bounded by bytes (a pull must not push unshipped dumps out of
// the spool); yields to the event loop between chunks, so capture goes on while a pull runs.
import { decodeDump } from '../../shared/dump/dump-reader.js';
import { DumpWriter } from '../../shared/dump/dump-writer.js';
import { RecordFilter } from '../../shared/pcap-export/packet-selection.js';
import type { RetroRing } from './retro-ring.js';
import { RingSegmentError } from './ring-segment.js';

/** packets / payload bytes per retro dump (well under the collector's dump size limit) */
const DUMP_PACKETS = 20_000;
const DUMP_PAYLOAD_BYTES = 8 * 1024 * 1024;

export interface RetroPullRequest {
  agentId: string;
  /** address or CIDR as records carry it */
  peer?: string;
  port?: number;
  sinceUs: number;
  untilUs: number;
  /** dump bytes this pull may produce */
  maxBytes: number;
}

export interface RetroDumpSink {
  nextSequence(): number;
  put(sequence: number, dump: Uint8Array, packets: number): void;
}

export interface RetroPullResult {
  packets: number;
  dumps: number;
  bytes: number;
  sequences: number[];
  /** the byte bound stopped the pull before the end of the window */
  truncated: boolean;
  chunksRead: number;
  /** chunks whose segment left the ring while the pull ran, or that failed authentication */
  chunksLost: number;
  /** the ring's span when the pull started (µs), null when it was empty */
  ringFromUs: number | null;
  ringUntilUs: number | null;
}

export async function pullRetro(ring: RetroRing, req: RetroPullRequest, ids: { anonKeyId: string; linkType: number }, sink: RetroDumpSink): Promise<RetroPullResult> {
  ring.flush();
  const st = ring.stats();
  const filter = new RecordFilter({ agentId: req.agentId, sinceUs: req.sinceUs, untilUs: req.untilUs, ...(req.peer ? { peer: req.peer } : {}), ...(req.port !== undefined ? { port: req.port } : {}) });
  const r: RetroPullResult = { packets: 0, dumps: 0, bytes: 0, sequences: [], truncated: false, chunksRead: 0, chunksLost: 0, ringFromUs: st.oldestUs, ringUntilUs: st.newestUs };
  const w = new DumpWriter({ agentId: req.agentId, anonKeyId: ids.anonKeyId, snapLen: ring.snapLen, linkType: ids.linkType, retro: true });
  let payload = 0;
  const emit = (): void => {
    if (w.count === 0) return;
    const seq = sink.nextSequence();
    const n = w.count;
    const bytes = w.finish(seq);
    sink.put(seq, bytes, n);
    r.dumps++;
    r.bytes += bytes.length;
    r.packets += n;
    r.sequences.push(seq);
    payload = 0;
  };
  outer: for (const seg of ring.segmentsFor(req.sinceUs, req.untilUs)) {
    for (const c of seg.chunks) {
      if (c.lastTsUs < req.sinceUs || c.firstTsUs > req.untilUs) continue;
      let dump: Uint8Array | null;
      try {
        dump = ring.readChunk(seg, c);
      } catch (e) {
        if (!(e instanceof RingSegmentError)) throw e;
        dump = null; // damaged on disk: what it held is lost, the rest still ships
      }
      if (dump === null) { r.chunksLost++; continue; }
      r.chunksRead++;
      let stop = false;
      decodeDump(dump).forEach((rec) => {
        if (stop || !filter.matches(rec)) return;
        // the payload already packed and this packet's must stay within the bound
        if (r.bytes + payload + rec.payload.length > req.maxBytes) { stop = true; return; }
        w.add(rec);
        payload += rec.payload.length;
        if (w.count >= DUMP_PACKETS || payload >= DUMP_PAYLOAD_BYTES) emit();
      });
      if (stop) { r.truncated = true; break outer; }
      await new Promise<void>((res) => setImmediate(res));
    }
  }
  emit();
  ring.notePull(r.packets);
  return r;
}
