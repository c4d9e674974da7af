// Offline import: pcap/pcapng captures (decode -> anonymize -> flow engine) and
// Meerkat dump files (already anonymized by the agent; de-duplicated by agent id and
// sequence) into the flow store. One flow engine per agent, so flow state carries
// across the files of an agent and packet time never mixes between agents.
// Tunnelled packets feed a flow per layer: the inner one, the outer tunnel connection,
// and the connections of any tunnel between them (as Zeek logs them).
// Idempotent per file: a capture whose content was imported into the database before is
// skipped (status 'duplicate', import-ledger.ts), as a dump already stored is.
// Capture files get the agents' metadata extraction too (DNS, TLS, HTTP, QUIC; under the name
// policy), so their flows carry server names and the DNS and TLS logs fill as for dumps.
import { readFileSync, statSync } from 'node:fs';
import { AddressAnonymizer, type AnonymizePolicy } from '../../shared/anonymize/address-anonymizer.js';
import { AnonymizedPairs } from '../../shared/anonymize/anonymized-pairs.js';
import type { NamePolicy } from '../../shared/anonymize/name-pseudonymizer.js';
import { createAppMetaExtractor, type AppMetaExtractor } from '../../shared/appmeta/app-meta-extractor.js';
import type { AppMeta } from '../../shared/appmeta/meta-record.js';
import { openCaptureFile } from '../../shared/capture-file/index.js';
import { decodeFrame, decodeFrameFast, DecodedPacket, type DecodeOptions } from '../../shared/decode/index.js';
import { RecordFlag, type PacketRecord } from '../../shared/packet/packet-record.js';
import type { FlowEngine, FlowTimeouts } from '../flow/flow-engine.js';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { AppRecord } from '../../shared/flow/app-records.js';
import type { FlowStore } from '../../shared/store/flow-store.js';
import { SqliteFlowStore } from '../../shared/store/sqlite-flow-store.js';
import { DumpIngest } from './dump-ingest.js';
import { EngineSet } from './engine-set.js';
import { FrameFlowMemo } from './frame-flow-memo.js';
import { FlowBatchWriter } from './flow-batch-writer.js';
import { createProgress, withMilestone, type ProgressSink } from './import-progress.js';
import type { Milestone } from '../../shared/cli/late-tier-up.js';
import { sniffFileKind, type ImportFileKind } from './sniff-file-kind.js';
import { fileFingerprint, ImportLedger, type ImportedCapture } from './import-ledger.js';

export interface ImportOptions {
  /** database path (SQLite) or an open store (left open afterwards) */
  db: string | FlowStore;
  /** address policy for capture files (default 'internal'); dumps are already anonymized */
  anonymize?: AnonymizePolicy;
  /** owner's 32-byte anonymization key; without one a random key is used for this import only */
  anonKey?: Uint8Array;
  /** internal prefixes for the 'internal' policy (default: the anonymizer's) */
  internalPrefixes?: string[];
  /** agent id given to flows from capture files (default 'import') */
  agentId?: string;
  /** extract application metadata from capture files (default true) */
  metadata?: boolean;
  /** name policy for that metadata (default: 'none' when addresses are not anonymized, else 'internal') */
  names?: NamePolicy;
  /** internal DNS suffixes for the 'internal' name policy (default: the policy's) */
  internalSuffixes?: string[];
  /** also report the outer connection of tunnelled packets (default true) */
  outerTunnelFlows?: boolean;
  timeouts?: Partial<FlowTimeouts>;
  /** progress bar on stderr: 'auto' (TTY only, default), true or false */
  progress?: 'auto' | boolean;
  /** called for every flow record as it is stored */
  onRecord?: (rec: FlowRecord) => void;
  /**
   * called for every packet record before it reaches the flow engine (e.g. the DNS name tap).
   * From capture files, `rec.payload` holds the payload bytes of packets to or from port 53
   * (DNS) only; every record has payloadLen and payloadOff. Also from capture files: not for
   * the TCP segments of neither port 53 that the frame memo counts (frameMemo) - the tap for
   * DNS needs no other packets.
   */
  onPacket?: (rec: PacketRecord, agentId: string, hasMeta?: boolean) => void;
  /** DNS transactions, TLS handshakes and HTTP requests as they are made */
  onAppRecord?: (a: AppRecord) => void;
  /** wall clock for dumps' received time (µs); tests may pin it */
  nowUs?: () => number;
  /**
   * import captures even when their content was imported into this database before (default
   * false: skipped as duplicates, so flows and alerts are not doubled). The ledger needs a
   * database path (db as a string, or a SQLite store).
   */
  reimport?: boolean;
  /**
   * into a new SQLite database given by path: build its secondary indexes once at the end
   * instead of row by row (default true; the database's content and schema are the same)
   */
  deferIndexes?: boolean;
  /**
   * decode capture frames through the decoder's fast lane (default true); false: the full
   * decoder for every frame, for comparisons (the rows are the same either way)
   */
  fastDecode?: boolean;
  /**
   * count a capture's TCP segments of flows already seen straight from the frame
   * (frame-flow-memo.ts; default true, only with fastDecode); false: every frame the record
   * way, for comparisons (the rows are the same either way)
   */
  frameMemo?: boolean;
  /**
   * run once when the import has read this many packets in all (captures and dumps; looked at
   * with the progress, every 4,096 frames of a capture and after each file): the import
   * command's later tier-up (shared/cli/late-tier-up.ts)
   */
  milestone?: Milestone;
}

export interface ImportedFile {
  path: string;
  kind: ImportFileKind;
  status: 'ok' | 'duplicate' | 'error';
  /** frames (captures) or records (dumps) read */
  packets: number;
  /** what went wrong (status 'error'); packets read before the damage are still imported */
  error?: string;
  /** a capture skipped as a duplicate: its earlier import (when, from where, as which agent) */
  importedBefore?: { importedUs: number; path: string; agentId: string; anonKeyId: string };
}

export interface ImportSummary {
  files: ImportedFile[];
  packets: number;
  /** flow records written */
  records: number;
  /** flow records the store refused (a value its column cannot take); the others were written */
  refusedRecords: number;
  /** files skipped: dumps whose (agent, sequence) and captures whose content was already imported */
  duplicates: number;
  errors: number;
  /** records that were not IP (ARP, ...) */
  ignored: number;
  /** capture frames counted straight from the frame (TCP segments of flows already seen: frameMemo) */
  framesFromMemo: number;
  elapsedMs: number;
  packetsPerSec: number;
  /** key id of the anonymization key used for capture files ('' with policy none) */
  anonKeyId: string;
}

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

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Imports the files in order; a damaged or unreadable file is reported and the rest continue. */
export async function importFiles(files: string[], opts: ImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  const ownStore = typeof opts.db === 'string';
  const store: FlowStore = typeof opts.db === 'string' ? new SqliteFlowStore(opts.db) : opts.db;
  const policy = opts.anonymize ?? 'internal';
  const key = opts.anonKey ?? crypto.getRandomValues(new Uint8Array(32));
  const anonymizer = policy === 'none' ? null : new AddressAnonymizer({
    key,
    policy,
    ...(opts.internalPrefixes ? { internalPrefixes: opts.internalPrefixes } : {}),
  });
  const extractor = opts.metadata === false ? null : createAppMetaExtractor({
    key,
    // DNS answer addresses follow the same address policy as the packets
    addresses: anonymizer ?? new AddressAnonymizer({ key, policy: 'none' }),
    names: opts.names ?? (policy === 'none' ? 'none' : 'internal'),
    ...(opts.internalSuffixes ? { internalSuffixes: opts.internalSuffixes } : {}),
  });
  // capture packets' pseudonyms by address pair: a capture interleaves thousands of pairs
  const pairs = anonymizer !== null ? new AnonymizedPairs(anonymizer) : null;
  // captures and dumps go through separate writers and engines (dumps name their own agents)
  const writer = new FlowBatchWriter(store);
  const onRecord = opts.onRecord;
  const onApp = opts.onAppRecord;
  const engines = new EngineSet(onRecord ? (r) => { writer.add(r); onRecord(r); } : writer.add, opts.timeouts,
    onApp ? (a) => { writer.addApp(a); onApp(a); } : writer.addApp);
  const dumps = new DumpIngest(store, {
    ...(opts.timeouts ? { timeouts: opts.timeouts } : {}), ...(onRecord ? { onRecord } : {}), ...(opts.onPacket ? { onPacket: opts.onPacket } : {}),
    ...(opts.onAppRecord ? { onAppRecord: opts.onAppRecord } : {}),
  });
  const progress = withMilestone(createProgress(opts.progress ?? 'auto'), opts.milestone);
  const nowUs = opts.nowUs ?? (() => Date.now() * 1000);
  const ledgerPath = typeof opts.db === 'string' ? opts.db : store instanceof SqliteFlowStore ? store.path : null;
  const ledger = ledgerPath !== null && ledgerPath !== ':memory:' ? new ImportLedger(ledgerPath) : null;
  /** captures imported in this run, recorded in the ledger once their flows are stored */
  const imported: ImportedCapture[] = [];
  const summary: ImportSummary = {
    files: [], packets: 0, records: 0, refusedRecords: 0, duplicates: 0, errors: 0, ignored: 0, framesFromMemo: 0, elapsedMs: 0, packetsPerSec: 0,
    anonKeyId: anonymizer?.keyId ?? '',
  };

  // a database new to this import gets its indexes built once at the end, not row by row
  // (an interrupted import leaves them to the next open: shared/store/sqlite-deferred-indexes.ts)
  const deferred = ownStore && store instanceof SqliteFlowStore && opts.deferIndexes !== false ? store.deferIndexes() : 0;
  try {
    let total = 0;
    const sizes = files.map((f) => {
      try { return statSync(f).size; } catch { return 0; }
    });
    for (const s of sizes) total += s;
    progress.start(total);
    let doneBefore = 0;
    for (let i = 0; i < files.length; i++) {
      const path = files[i]!;
      const entry: ImportedFile = { path, kind: 'unknown', status: 'ok', packets: 0 };
      summary.files.push(entry);
      try {
        entry.kind = sniffFileKind(path);
        if (entry.kind === 'pcap' || entry.kind === 'pcapng') {
          const fp = fileFingerprint(path);
          const before = ledger?.find(fp.fingerprint) ?? imported.find((c) => c.fingerprint === fp.fingerprint) ?? null;
          if (before !== null && opts.reimport !== true) {
            entry.status = 'duplicate';
            entry.importedBefore = { importedUs: before.importedUs, path: before.path, agentId: before.agentId, anonKeyId: before.anonKeyId };
          } else {
            importCapture(path, entry, engines.get(opts.agentId ?? 'import'), pairs, extractor, opts.outerTunnelFlows ?? true,
              progress, doneBefore, summary, opts.onPacket, opts.agentId ?? 'import', opts.fastDecode !== false, opts.frameMemo !== false);
            if (entry.packets > 0) {
              imported.push({ ...fp, path, kind: entry.kind, agentId: opts.agentId ?? 'import', anonKeyId: anonymizer?.keyId ?? '', packets: entry.packets, importedUs: nowUs() });
            }
          }
        } else if (entry.kind === 'dump') {
          const bytes = readFileSync(path);
          const r = dumps.ingest(bytes, { receivedUs: nowUs(), rawPath: path });
          if (r.duplicate) entry.status = 'duplicate';
          entry.packets = r.packets;
        } else {
          throw new Error('not a pcap, pcapng or Meerkat dump file');
        }
      } catch (e) {
        entry.status = 'error';
        entry.error = errorText(e);
      }
      if (entry.status === 'error') summary.errors++;
      if (entry.status === 'duplicate') summary.duplicates++;
      summary.packets += entry.packets;
      doneBefore += sizes[i]!;
      progress.update(doneBefore, summary.packets);
      // keep the event loop responsive between files
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    summary.ignored = engines.flushAll().nonIp + dumps.flushAll().nonIp;
    writer.flush();
    // only now are the files' flows stored: an interrupted import records nothing
    if (ledger !== null && imported.length > 0) ledger.record(imported);
  } finally {
    progress.stop();
    ledger?.close();
    try {
      if (deferred > 0) (store as SqliteFlowStore).restoreIndexes();
    } finally {
      if (ownStore) store.close();
    }
  }
  summary.records = writer.written + dumps.recordsWritten;
  summary.refusedRecords = writer.refused + dumps.recordsRefused;
  summary.elapsedMs = performance.now() - started;
  summary.packetsPerSec = summary.elapsedMs > 0 ? summary.packets / (summary.elapsedMs / 1000) : 0;
  return summary;
}

function importCapture(path: string, entry: ImportedFile, engine: FlowEngine, pairs: AnonymizedPairs | null,
  extractor: AppMetaExtractor | null, outerFlows: boolean, progress: ProgressSink, doneBefore: number, summary: ImportSummary,
  onPacket: ((rec: PacketRecord, agentId: string, hasMeta?: boolean) => void) | undefined, agentId: string, fast: boolean,
  frameMemo: boolean): void {
  const reader = openCaptureFile(path);
  const inner = new DecodedPacket();
  const outer = new DecodedPacket();
  // the records the extractor finds in a frame, joined to that frame's flow right after it
  const found: AppMeta[] = [];
  const sink = { queueMeta: (m: AppMeta): void => { found.push(m); } };
  let lastExpire = 0;
  const memo = fast && frameMemo ? new FrameFlowMemo() : null;
  let fromMemo = 0;
  try {
    for (let fr = reader.next(); fr !== null; fr = reader.next()) {
      entry.packets++;
      if (memo !== null) {
        // a segment of a flow already seen: counted straight from the frame (frame-flow-memo.ts)
        // when nothing else wants it - the extractor, or the tap for port 53 - and the engine takes it
        const flow = memo.match(fr.linkType, fr.buf, fr.offset, fr.capLen, fr.wireLen, inner);
        if (flow !== null) inner.tsUs = fr.tsUs;
        if (flow !== null && (extractor === null || extractor.ignoresTcpSegment(inner)) &&
            (onPacket === undefined || (inner.sport !== DNS_PORT && inner.dport !== DNS_PORT)) && engine.addToFlow(flow, memo.matchFromA, inner)) {
          fromMemo++;
          if (extractor !== null && fr.tsUs - lastExpire > 1_000_000) { extractor.expire(fr.tsUs); lastExpire = fr.tsUs; }
          if ((entry.packets & (PROGRESS_EVERY - 1)) === 0) progress.update(doneBefore + reader.bytesRead, summary.packets + entry.packets);
          continue;
        }
      }
      // the frame where the reader holds it: no view object per packet (fr.data makes one);
      // the fast lane takes Ethernet[/802.1Q]/IPv4/TCP|UDP, anything else goes to decodeFrame.
      // The time is copied from field to field after the decode: handed to the fast lane (a
      // call V8 does not inline) the double was boxed into a new heap number per packet, ~32 MB
      // of garbage in a 2,000,000-packet import. The decoders only store the time they are given.
      if (fast) decodeFrameFast(fr.linkType, fr.buf, fr.offset, fr.capLen, fr.wireLen, 0, inner, NO_VIEW);
      else decodeFrame(fr.linkType, fr.buf, fr.offset, fr.capLen, fr.wireLen, 0, inner, NO_VIEW);
      inner.tsUs = fr.tsUs;
      if (onPacket !== undefined && (inner.sport === DNS_PORT || inner.dport === DNS_PORT) && inner.payloadLen > 0) {
        // the tap reads DNS messages from the payload: this (rare) packet again, with its view
        decodeFrame(fr.linkType, fr.buf, fr.offset, fr.capLen, fr.wireLen, fr.tsUs, inner);
      }
      if (pairs !== null) pairs.anonymizeRecord(inner);
      if (extractor !== null) {
        extractor.inspect(inner, sink);
        if (fr.tsUs - lastExpire > 1_000_000) { extractor.expire(fr.tsUs); lastExpire = fr.tsUs; }
      }
      if (onPacket !== undefined) onPacket(inner, agentId, found.length > 0);
      engine.add(inner);
      if (memo !== null) memo.remember(engine.lastFlowAdded, engine.lastFromA, engine.activeFlows);
      if (found.length > 0) {
        for (const m of found) engine.addMeta(m);
        found.length = 0;
      }
      if (outerFlows && (inner.flags & RecordFlag.Inner) !== 0) {
        for (let depth = 0; depth < inner.tunnelDepth && depth < LAYER_OPTIONS.length; depth++) {
          decodeFrame(fr.linkType, fr.buf, fr.offset, fr.capLen, fr.wireLen, fr.tsUs, outer, LAYER_OPTIONS[depth]);
          if (pairs !== null) pairs.anonymizeRecord(outer);
          engine.add(outer);
        }
      }
      if ((entry.packets & (PROGRESS_EVERY - 1)) === 0) progress.update(doneBefore + reader.bytesRead, summary.packets + entry.packets);
    }
  } catch (e) {
    // frames before the damage were imported; the file is reported as failed
    entry.status = 'error';
    entry.error = errorText(e);
  } finally {
    reader.close();
    summary.framesFromMemo += fromMemo;
  }
}
