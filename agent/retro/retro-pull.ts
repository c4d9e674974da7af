// A pull from the retro ring: the packets of [since, until] (and a peer / port, as records carry
// them) read back from the ring's chunks, oldest first, and packed into dumps flagged Retro that
// the caller spools for shipping. The ring holds frames as captured; each is decoded and
// anonymized here exactly as the pipeline did when it kept it (same decoder, same anonymizer and
// key, the direction the pipeline saw), so a retro record is the very record a normal dump carries,
// with its payload - the export recognises the pair as one packet. Bounded by bytes (a pull must
// not push unshipped dumps out of the spool); yields to the event loop between chunks, so capture
// goes on while a pull runs.
import { decodeFrame, DecodedPacket } from '../../shared/decode/index.js';
import { DumpWriter } from '../../shared/dump/dump-writer.js';
import { EMPTY_BYTES } from '../../shared/packet/packet-record.js';
import type { AddressAnonymizer } from '../../shared/anonymize/address-anonymizer.js';
import { RecordFilter } from '../../shared/pcap-export/packet-selection.js';
import { SnapPolicy } from '../pipeline/snap-policy.js';
import type { RetroRing } from './retro-ring.js';
import { RingSegmentError } from './ring-segment.js';
import { FrameLogError, readFrameLog } from './frame-log.js';

/** as the pipeline decodes (agent-pipeline.ts): the payload is picked from the frame, not handed out */
const DECODE = { payloadView: false } as const;
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

/** What turns the ring's frames back into the records the pipeline made. */
export interface RetroDecoding {
  anonymizer: AddressAnonymizer;
  /** LINKTYPE_* recorded in the retro dumps' headers (informational, as in every dump) */
  linkType: number;
}

export async function pullRetro(ring: RetroRing, req: RetroPullRequest, dec: RetroDecoding, sink: RetroDumpSink): Promise<RetroPullResult> {
  ring.flush();
  const st = ring.stats();
  const filter = new RecordFilter({ agentId: req.agentId, sinceUs: req.sinceUs, untilUs: req.untilUs, ...(req.peer ? { peer: req.peer } : {}), ...(req.port !== undefined ? { port: req.port } : {}) });
  const r: RetroPullResult = { packets: 0, dumps: 0, bytes: 0, sequences: [], truncated: false, chunksRead: 0, chunksLost: 0, ringFromUs: st.oldestUs, ringUntilUs: st.newestUs };
  const w = new DumpWriter({ agentId: req.agentId, anonKeyId: dec.anonymizer.keyId, snapLen: ring.snapLen, linkType: dec.linkType, retro: true });
  const d = new DecodedPacket();
  // what the ring's snap length keeps of each packet, under the dumps' rules (no ICMP error payload while anonymizing)
  const snap = new SnapPolicy({ snapLen: ring.snapLen, keepIcmpErrorPayload: dec.anonymizer.policy === 'none' });
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
      let body: Uint8Array | null;
      try {
        body = ring.readChunk(seg, c);
      } catch (e) {
        if (!(e instanceof RingSegmentError)) throw e;
        body = null; // damaged on disk: what it held is lost, the rest still ships
      }
      if (body === null) { r.chunksLost++; continue; }
      r.chunksRead++;
      let stop = false;
      try {
        readFrameLog(body, (f) => {
          if (stop || f.tsUs < req.sinceUs || f.tsUs > req.untilUs) return;
          decodeFrame(f.linkType, f.data, f.off, f.len, f.wireLen, f.tsUs, d, DECODE);
          if (d.ipVersion !== 4 && d.ipVersion !== 6) return;
          d.direction = f.direction;
          dec.anonymizer.anonymizeRecord(d);
          const k = snap.keptLength(d);
          d.payload = k > 0 ? f.data.subarray(d.payloadOff, d.payloadOff + k) : EMPTY_BYTES;
          if (!filter.matches(d)) return;
          // the payload already packed and this packet's must stay within the bound
          if (r.bytes + payload + d.payload.length > req.maxBytes) { stop = true; return; }
          w.add(d);
          payload += d.payload.length;
          if (w.count >= DUMP_PACKETS || payload >= DUMP_PAYLOAD_BYTES) emit();
        });
      } catch (e) {
        if (!(e instanceof FrameLogError)) throw e;
        r.chunksLost++;
      }
      if (stop) { r.truncated = true; break outer; }
      await new Promise<void>((res) => setImmediate(res));
    }
  }
  emit();
  ring.notePull(r.packets);
  return r;
}
