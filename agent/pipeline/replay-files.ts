// Replay: pcap/pcapng files through the same pipeline as live capture, into plain dump files
// in a directory (replay output is for the network owner; it is not spooled or encrypted).
// Each input file ends its own dumps (a dump never mixes files). Direction is Unknown unless
// the host's addresses are given; noise is excluded exactly as live.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { openCaptureFile, type CaptureFileReader } from '../../shared/capture-file/index.js';
import { AddressAnonymizer, type AnonymizePolicy } from '../../shared/anonymize/address-anonymizer.js';
import { loadAnonKey } from '../../shared/keys/owner-keys.js';
import { AgentPipeline, type CaptureStats } from './agent-pipeline.js';
import { createAppMetaExtractor } from '../../shared/appmeta/app-meta-extractor.js';
import type { NamePolicy } from '../../shared/anonymize/name-pseudonymizer.js';
import { MeerkatError } from '../../shared/errors.js';

export class ReplayError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_REPLAY';
  constructor(message: string) {
    super(message);
    this.name = 'ReplayError';
  }
}

export interface ReplayProgress {
  file: string;
  /** 0-based index of the file being read, and how many there are */
  fileIndex: number;
  files: number;
  bytesRead: number;
  fileSize: number;
  /** frames read from this file so far */
  frames: number;
  /** dumps written so far (all files) */
  dumps: number;
}

export interface ReplayOptions {
  outDir: string;
  anonymize: AnonymizePolicy;
  packetsPerDump: number;
  snapLen: number;
  /** the owner's anonymization key file; required unless anonymize is 'none' */
  keyFile?: string;
  /** agent id (UUID) for the dump headers; default a random one (reported in the summary) */
  agentId?: string;
  /** the capturing host's addresses: sets direction and anonymizes them as internal */
  hostAddresses?: readonly string[];
  /** owner-declared internal prefixes (default: the anonymizer's) */
  internalPrefixes?: readonly string[];
  /** also rotate dumps spanning this many seconds of packet time (default: by packet count only) */
  dumpSeconds?: number;
  /** brotli quality of the dumps, 0..11 (default REPLAY_BROTLI_QUALITY) */
  brotliQuality?: number;
  /** extract application metadata (DNS, TLS, HTTP, QUIC) into the dumps (default true) */
  metadata?: boolean;
  /** the name privacy policy for metadata (default 'internal') */
  names?: NamePolicy;
  /** owner-declared internal DNS suffixes (default: the name policy's) */
  internalSuffixes?: readonly string[];
  /** the capturing host's names: names starting with one of them are internal */
  hostNames?: readonly string[];
  /** let link-local noise through for this many seconds from each file's first packet */
  noiseSampleSeconds?: number;
  onProgress?: (p: ReplayProgress) => void;
  /** frames between progress reports (default 65536; 0: only at the end of each file) */
  progressEvery?: number;
}

export interface ReplayFileResult {
  path: string;
  format: 'pcap' | 'pcapng' | '';
  frames: number;
  /** first error that ended the file early (the frames before it were replayed) */
  error?: string;
}

export interface ReplayDumpResult {
  path: string;
  sequence: number;
  packets: number;
  bytes: number;
  firstTsUs: number;
  lastTsUs: number;
}

export interface ReplaySummary {
  agentId: string;
  anonKeyId: string;
  files: ReplayFileResult[];
  dumps: ReplayDumpResult[];
  stats: CaptureStats;
  elapsedMs: number;
  /** frames per second through the whole pipeline (read, decode, exclude, anonymize, encode, compress, write) */
  framesPerSecond: number;
}

/**
 * Brotli quality of replay's dumps: 1, where the live agent ships at 2. Replay is a batch job
 * whose CPU per packet is a target (docs/benchmarks.md); quality 1 halves the compression CPU
 * for 2-6 % more bytes (docs/dump-format.md section 5), and its files stay with the owner.
 */
export const REPLAY_BROTLI_QUALITY = 1;

/** A century: replay rotates by packet count unless asked otherwise (captures can span years). */
const NO_TIME_ROTATION_S = 100 * 365 * 86400;

/**
 * Hands up to `max` frames of `reader` to the pipeline; returns how many (fewer: end of file).
 * The per-frame loop lives here, apart from the async bookkeeping of replayFiles, so V8
 * optimizes a small loop whose every path runs from the first frame on.
 */
function feedFrames(reader: CaptureFileReader, pipeline: AgentPipeline, max: number): number {
  let n = 0;
  for (; n < max; n++) {
    const f = reader.next();
    if (f === null) break;
    pipeline.handleFrameAt(f);
  }
  return n;
}

export async function replayFiles(files: string[], opts: ReplayOptions): Promise<ReplaySummary> {
  if (files.length === 0) throw new ReplayError('no capture files to replay');
  let key: Uint8Array;
  if (opts.keyFile) key = loadAnonKey(opts.keyFile);
  else if (opts.anonymize === 'none') key = new Uint8Array(32); // names the key id only; nothing is rewritten
  else throw new ReplayError(`anonymize '${opts.anonymize}' needs the owner's anonymization key (keyFile)`);
  const anonymizer = new AddressAnonymizer({
    key,
    policy: opts.anonymize,
    internalPrefixes: opts.internalPrefixes ? [...opts.internalPrefixes] : undefined,
    hostAddresses: opts.hostAddresses ? [...opts.hostAddresses] : undefined,
  });
  const agentId = opts.agentId ?? randomUUID();
  mkdirSync(opts.outDir, { recursive: true });

  const dumps: ReplayDumpResult[] = [];
  let seq = 1;
  const pipeline = new AgentPipeline({
    agentId,
    anonymizer,
    snapLen: opts.snapLen,
    packetsPerDump: opts.packetsPerDump,
    dumpSeconds: opts.dumpSeconds ?? NO_TIME_ROTATION_S,
    compressionLevel: opts.brotliQuality ?? REPLAY_BROTLI_QUALITY,
    hostAddresses: opts.hostAddresses,
    metadata: opts.metadata === false
      ? undefined
      : createAppMetaExtractor({ key, addresses: anonymizer, names: opts.names ?? (opts.anonymize === 'none' ? 'none' : 'internal'), internalSuffixes: opts.internalSuffixes, hostNames: opts.hostNames }),
    nextSequence: () => seq++,
    onDump: (bytes, header) => {
      const path = join(opts.outDir, `${String(header.sequence).padStart(8, '0')}.mkd`);
      writeFileSync(path, bytes);
      dumps.push({ path, sequence: header.sequence, packets: header.packetCount, bytes: bytes.length, firstTsUs: header.firstTsUs, lastTsUs: header.lastTsUs });
    },
  });

  const every = opts.progressEvery === undefined ? 65536 : opts.progressEvery > 0 ? opts.progressEvery : Infinity;
  const results: ReplayFileResult[] = [];
  const t0 = performance.now();
  for (let i = 0; i < files.length; i++) {
    const path = files[i]!;
    const res: ReplayFileResult = { path, format: '', frames: 0 };
    results.push(res);
    let reader: CaptureFileReader | undefined;
    try {
      reader = openCaptureFile(path);
      res.format = reader.format;
      if (opts.noiseSampleSeconds) pipeline.allowNoiseFor(opts.noiseSampleSeconds);
      const r = reader;
      const report = (): void => opts.onProgress?.({ file: path, fileIndex: i, files: files.length, bytesRead: r.bytesRead, fileSize: r.fileSize, frames: res.frames, dumps: dumps.length });
      while (feedFrames(r, pipeline, every) === every) {
        res.frames = r.framesRead;
        report();
        // let the event loop breathe (progress rendering, signals) on long files
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      res.frames = r.framesRead;
      report();
    } catch (e) {
      res.error = (e as Error).message;
      if (reader) res.frames = reader.framesRead; // the frames before the damage were replayed
    } finally {
      reader?.close();
    }
    pipeline.flush();
  }
  const elapsedMs = performance.now() - t0;
  const stats = pipeline.stats();
  return {
    agentId,
    anonKeyId: anonymizer.keyId,
    files: results,
    dumps,
    stats,
    elapsedMs,
    framesPerSecond: elapsedMs > 0 ? Math.round(stats.packetsSeen / (elapsedMs / 1000)) : 0,
  };
}
