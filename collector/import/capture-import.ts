// One capture file through the import's per-frame path: decode -> anonymize -> metadata ->
// flow engine (the record way), with the frame memo counting TCP segments of flows already
// seen straight from the frame (frame-flow-memo.ts). A classic pcap file is walked by the frame
// scan (frame-scanner.ts), which tests and looks up whole chunks of frames in compiled code;
// pcapng files, and every frame when the scan is off, by the reader one frame at a time.
import type { AppMetaExtractor } from '../../shared/appmeta/app-meta-extractor.js';
import type { AppMeta } from '../../shared/appmeta/meta-record.js';
import type { AnonymizedPairs } from '../../shared/anonymize/anonymized-pairs.js';
import { PcapReader, type CaptureFileReader, type CapturedFrame } from '../../shared/capture-file/index.js';
import { MAX_RECORD_BYTES } from '../../shared/capture-file/byte-window.js';
import { decodeFrame, decodeFrameFast, DecodedPacket, type DecodeOptions } from '../../shared/decode/index.js';
import { LinkType } from '../../shared/decode/link-types.js';
import { IPPROTO_TCP, RecordFlag, type PacketRecord } from '../../shared/packet/packet-record.js';
import type { FlowEngine } from '../flow/flow-engine.js';
import type { Flow } from '../flow/flow.js';
import { FrameFlowMemo } from './frame-flow-memo.js';
import {
  E_ACK, E_CAPLEN, E_FLAGS, E_FRAME, E_HIT, E_IPLEN, E_PAYLEN, E_PAYOFF, E_PORTS, E_SEQ, E_SLOT, E_WINDOW, E_WIRELEN,
  ENTRY_WORDS, FrameScanner,
} from './frame-scanner.js';
import type { ProgressSink } from './import-progress.js';

const PROGRESS_EVERY = 4096;
/**
 * Frames are decoded without a payload view (an object per packet nobody here reads: the flow
 * engine counts payloadLen, the metadata extractor reads the frame at payloadOff), except
 * DNS packets when an onPacket tap wants their bytes (ImportOptions.onPacket).
 */
const NO_VIEW: DecodeOptions = { payloadView: false };
/** decode options that stop at each tunnel layer, outermost first */
const LAYER_OPTIONS: readonly DecodeOptions[] = [
  { maxTunnelDepth: 0, payloadView: false }, { maxTunnelDepth: 1, payloadView: false }, { maxTunnelDepth: 2, payloadView: false },
];
const DNS_PORT = 53;

export type PacketTap = (rec: PacketRecord, agentId: string, hasMeta?: boolean) => void;

export interface CaptureImportParts {
  engine: FlowEngine;
  pairs: AnonymizedPairs | null;
  extractor: AppMetaExtractor | null;
  /** also the outer connections of tunnelled packets */
  outerFlows: boolean;
  onPacket: PacketTap | undefined;
  agentId: string;
  /** the decoder's fast lane (else the full decoder for every frame) */
  fast: boolean;
  /** the frame memo (with fast only) */
  frameMemo: boolean;
  /** the frame scan for classic pcap files (with the memo only) */
  frameScan: boolean;
  /** the scan's chunk (default SCAN_CHUNK_BYTES; tests make it small) */
  scanChunkBytes?: number;
  progress: ProgressSink;
  /** progress counts before this file: bytes and packets */
  bytesBefore: number;
  packetsBefore: number;
}

/** A frame the scan found, for the record way: where it lies and its time. */
class ScannedFrame implements CapturedFrame {
  linkType = 0;
  tsUs = 0;
  capLen = 0;
  wireLen = 0;
  interfaceId = 0;
  buf: Uint8Array;
  offset = 0;
  constructor(buf: Uint8Array) { this.buf = buf; }
  get data(): Uint8Array { return this.buf.subarray(this.offset, this.offset + this.capLen); }
}

export class CaptureImport {
  /** frames read */
  packets = 0;
  /** frames counted from the frame (the memo) */
  fromMemo = 0;
  private readonly p: CaptureImportParts;
  private readonly inner = new DecodedPacket();
  private readonly outer = new DecodedPacket();
  /** the records the extractor finds in a frame, joined to that frame's flow right after it */
  private readonly found: AppMeta[] = [];
  private readonly sink = { queueMeta: (m: AppMeta): void => { this.found.push(m); } };
  private lastExpire = 0;

  constructor(parts: CaptureImportParts) {
    this.p = parts;
  }

  /** Imports every frame of the reader (throws CaptureFileError at damage, after the frames before it). */
  run(reader: CaptureFileReader): void {
    const p = this.p;
    const memoOn = p.fast && p.frameMemo;
    if (memoOn && p.frameScan && reader instanceof PcapReader) this.scanLoop(reader, new FrameScanner(p.scanChunkBytes));
    else this.frameLoop(reader, memoOn ? new FrameFlowMemo() : null);
  }

  /** Frame by frame from the reader, the memo in JavaScript (pcapng, or the scan off). */
  private frameLoop(reader: CaptureFileReader, memo: FrameFlowMemo | null): void {
    const inner = this.inner;
    const p = this.p;
    for (let fr = reader.next(); fr !== null; fr = reader.next()) {
      const n = ++this.packets;
      if (memo !== null) {
        const flow = memo.match(fr.linkType, fr.buf, fr.offset, fr.capLen, fr.wireLen, inner);
        if (flow !== null) {
          inner.tsUs = fr.tsUs;
          if (this.counted(flow, memo.matchFromA, n, reader)) continue;
        }
      }
      this.recordFrame(fr);
      if (memo !== null) memo.remember(p.engine.lastFlowAdded, p.engine.lastFromA, p.engine.activeFlows);
      if ((n & (PROGRESS_EVERY - 1)) === 0) p.progress.update(p.bytesBefore + reader.bytesRead, p.packetsBefore + n);
    }
  }

  /**
   * Chunk by chunk: the reader's records copied into the scanner's memory, scanned, and the
   * entries read in order. A record the scan cannot take whole (longer than a chunk, cut off,
   * or corrupt) is left to the reader's next(), which reads it or reports the damage.
   */
  private scanLoop(reader: PcapReader, sc: FrameScanner): void {
    const p = this.p;
    const inner = this.inner;
    const memo = sc.memo;
    const ethernet = reader.linkType === LinkType.Ethernet;
    const le = reader.littleEndian;
    const ns = reader.nanosecond;
    const chunk = sc.chunkBytes;
    const fr = new ScannedFrame(sc.bytes);
    fr.linkType = reader.linkType;
    for (;;) {
      const have = reader.peekRecords(chunk);
      if (have === 0) return;
      const len = have < chunk ? have : chunk;
      sc.load(reader.recordBytes, reader.recordPos, len);
      const end = sc.chunkAt + len;
      let n = sc.scan(sc.chunkAt, end, ethernet, le, ns, MAX_RECORD_BYTES);
      if (n === 0) {
        const one = reader.next();
        if (one === null) return;
        this.packets++;
        this.recordFrame(one);
        continue;
      }
      let at = sc.chunkAt;
      let frames = 0;
      while (n > 0) {
        let words = sc.words;
        const times = sc.times;
        const gen = memo.generation;
        let next = sc.consumed();
        for (let i = 0; i < n; i++) {
          const w = i * ENTRY_WORDS;
          const count = ++this.packets;
          frames++;
          const slot = words[w + E_SLOT]!;
          if (slot >= 0) {
            const flow = memo.scanned(slot, words[w + E_HIT] === 1);
            if (flow !== null) {
              const ports = words[w + E_PORTS]!;
              inner.proto = IPPROTO_TCP;
              inner.flags = 0;
              inner.tsUs = times[i << 3]!;
              inner.wireLen = words[w + E_WIRELEN]!;
              inner.ipLen = words[w + E_IPLEN]!;
              inner.sport = ports >>> 16;
              inner.dport = ports & 0xffff;
              inner.tcpFlags = words[w + E_FLAGS]!;
              inner.tcpSeq = words[w + E_SEQ]! >>> 0;
              inner.tcpAck = words[w + E_ACK]! >>> 0;
              inner.tcpWindow = words[w + E_WINDOW]!;
              inner.frame = sc.bytes;
              inner.frameOff = words[w + E_FRAME]!;
              inner.capLen = words[w + E_CAPLEN]!;
              inner.payloadOff = words[w + E_PAYOFF]!;
              inner.payloadLen = words[w + E_PAYLEN]!;
              if (this.counted(flow, memo.matchFromA, count, reader)) continue;
            }
          } else {
            memo.unmatched();
          }
          fr.buf = sc.bytes;
          fr.offset = words[w + E_FRAME]!;
          fr.capLen = words[w + E_CAPLEN]!;
          fr.wireLen = words[w + E_WIRELEN]!;
          fr.tsUs = times[i << 3]!;
          this.recordFrame(fr);
          memo.remember(p.engine.lastFlowAdded, p.engine.lastFromA, p.engine.activeFlows);
          if ((count & (PROGRESS_EVERY - 1)) === 0) p.progress.update(p.bytesBefore + reader.bytesRead, p.packetsBefore + count);
          if (memo.generation !== gen) {
            // the table was made anew: the entries after this one looked up the old one; scan on
            // from the next frame (the memory may have grown: views renewed)
            next = fr.offset + fr.capLen;
            words = sc.words;
            break;
          }
        }
        at = next;
        n = sc.scan(at, end, ethernet, le, ns, MAX_RECORD_BYTES);
      }
      reader.consume(at - sc.chunkAt, frames);
    }
  }

  /**
   * A frame the memo found the flow of (inner holds its fields): counted straight from the frame
   * when nothing else wants it - the extractor, or the tap for port 53 - and the engine takes it.
   */
  private counted(flow: Flow, fromA: boolean, n: number, reader: CaptureFileReader): boolean {
    const p = this.p;
    const inner = this.inner;
    const extractor = p.extractor;
    if ((extractor === null || extractor.ignoresTcpSegment(inner)) &&
        (p.onPacket === undefined || (inner.sport !== DNS_PORT && inner.dport !== DNS_PORT)) && p.engine.addToFlow(flow, fromA, inner)) {
      this.fromMemo++;
      const ts = inner.tsUs;
      if (extractor !== null && ts - this.lastExpire > 1_000_000) { extractor.expire(ts); this.lastExpire = ts; }
      if ((n & (PROGRESS_EVERY - 1)) === 0) p.progress.update(p.bytesBefore + reader.bytesRead, p.packetsBefore + n);
      return true;
    }
    return false;
  }

  /** The record way: the frame decoded, anonymized, shown to the extractor and the tap, counted by the engine. */
  private recordFrame(fr: CapturedFrame): void {
    const p = this.p;
    const inner = this.inner;
    // the frame where the reader holds it: no view object per packet (fr.data makes one);
    // the fast lane takes Ethernet[/802.1Q]/IPv4/TCP|UDP, anything else goes to decodeFrame.
    // The time is copied from field to field after the decode: handed to the fast lane (a
    // call V8 does not inline) the double was boxed into a new heap number per packet, ~32 MB
    // of garbage in a 2,000,000-packet import. The decoders only store the time they are given.
    if (p.fast) decodeFrameFast(fr.linkType, fr.buf, fr.offset, fr.capLen, fr.wireLen, 0, inner, NO_VIEW);
    else decodeFrame(fr.linkType, fr.buf, fr.offset, fr.capLen, fr.wireLen, 0, inner, NO_VIEW);
    inner.tsUs = fr.tsUs;
    const onPacket = p.onPacket;
    if (onPacket !== undefined && (inner.sport === DNS_PORT || inner.dport === DNS_PORT) && inner.payloadLen > 0) {
      // the tap reads DNS messages from the payload: this (rare) packet again, with its view
      decodeFrame(fr.linkType, fr.buf, fr.offset, fr.capLen, fr.wireLen, fr.tsUs, inner);
    }
    if (p.pairs !== null) p.pairs.anonymizeRecord(inner);
    const extractor = p.extractor;
    if (extractor !== null) {
      extractor.inspect(inner, this.sink);
      if (fr.tsUs - this.lastExpire > 1_000_000) { extractor.expire(fr.tsUs); this.lastExpire = fr.tsUs; }
    }
    const found = this.found;
    if (onPacket !== undefined) onPacket(inner, p.agentId, found.length > 0);
    const engine = p.engine;
    engine.add(inner);
    if (found.length > 0) {
      for (const m of found) engine.addMeta(m);
      found.length = 0;
    }
    if (p.outerFlows && (inner.flags & RecordFlag.Inner) !== 0) {
      const outer = this.outer;
      for (let depth = 0; depth < inner.tunnelDepth && depth < LAYER_OPTIONS.length; depth++) {
        decodeFrame(fr.linkType, fr.buf, fr.offset, fr.capLen, fr.wireLen, fr.tsUs, outer, LAYER_OPTIONS[depth]);
        if (p.pairs !== null) p.pairs.anonymizeRecord(outer);
        engine.add(outer);
      }
    }
  }
}
