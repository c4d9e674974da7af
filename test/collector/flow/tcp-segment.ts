// A TCP segment as the connection tracker's tests write it, and the packet record it becomes.
import { PacketRecord } from '../../../shared/packet/packet-record.js';

export interface Segment {
  /** sent by side A (the first sender) */
  fromA: boolean;
  flags: number;
  seq: number;
  ack: number;
  len: number;
  window: number;
}

const rec = new PacketRecord();

/** The segment as a TCP packet record at `tsUs` (one record, reused by every call). */
export function segmentRecord(s: Segment, tsUs: number): PacketRecord {
  rec.reset();
  rec.tsUs = tsUs;
  rec.proto = 6;
  rec.tcpFlags = s.flags;
  rec.tcpSeq = s.seq >>> 0;
  rec.tcpAck = s.ack >>> 0;
  rec.tcpWindow = s.window;
  rec.payloadLen = s.len;
  return rec;
}
