// The agent <-> collector wire protocol (version 1), shared by both ends: the binary
// upload frame header and the JSON control messages. docs/protocol.md is the prose spec.
// Kept free of I/O so the collector and the agent (and tests) use the same codec.
import * as z from 'zod/mini';
import '../config/schema-messages.js';
import { MeerkatError } from '../errors.js';

export const PROTOCOL_VERSION = 1;
/** WebSocket path on the collector's TLS port */
export const AGENT_WS_PATH = '/v1/agent';
/** enrollment endpoints on the same port (server-auth only) */
export const ENROLL_CA_PATH = '/v1/enroll/ca';
export const ENROLL_PATH = '/v1/enroll';
/** response header naming why the collector refused a connection */
export const REFUSAL_HEADER = 'x-meerkat-refusal';

// ---- binary frames ---------------------------------------------------------------

const enum FrameType {
  DumpUpload = 1,
}

/**
 * Upload frame: 12-byte header then the dump file bytes.
 *   0  u8   frame type (1 = dump upload)
 *   1  u8   protocol version (1)
 *   2  u16  epoch (LE): the agent bumps it each time it resends after a retryable nack,
 *           so the collector can drop frames that were already on the wire
 *   4  u64  dump sequence number (LE; must equal the dump header's sequence)
 */
export const UPLOAD_HEADER_LEN = 12;

export interface UploadFrameHeader {
  type: number;
  version: number;
  epoch: number;
  sequence: number;
}

export class FrameError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_PROTOCOL_FRAME';
  constructor(expected: string, got: string) {
    super(`bad upload frame: expected ${expected}, got ${got}`);
    this.name = 'FrameError';
  }
}

/** Builds header + dump into one buffer (one allocation per upload, sent as one message). */
export function encodeUploadFrame(sequence: number, epoch: number, dump: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(UPLOAD_HEADER_LEN + dump.length);
  out[0] = FrameType.DumpUpload;
  out[1] = PROTOCOL_VERSION;
  out.writeUInt16LE(epoch & 0xffff, 2);
  out.writeUInt32LE(sequence % 0x1_0000_0000, 4);
  out.writeUInt32LE(Math.floor(sequence / 0x1_0000_0000), 8);
  out.set(dump, UPLOAD_HEADER_LEN);
  return out;
}

/** Reads the header in place; returns the reason string instead of throwing (hostile input is routine here). */
export function decodeUploadHeader(frame: Uint8Array, out: UploadFrameHeader): string | null {
  if (frame.length < UPLOAD_HEADER_LEN) return `frame of ${frame.length} bytes is shorter than the ${UPLOAD_HEADER_LEN}-byte upload header`;
  out.type = frame[0]!;
  out.version = frame[1]!;
  if (out.type !== FrameType.DumpUpload) return `unknown frame type ${out.type} (expected 1, dump upload)`;
  if (out.version !== PROTOCOL_VERSION) return `unsupported frame version ${out.version} (expected ${PROTOCOL_VERSION})`;
  out.epoch = frame[2]! | (frame[3]! << 8);
  const lo = (frame[4]! | (frame[5]! << 8) | (frame[6]! << 16)) + frame[7]! * 0x1000000;
  const hi = (frame[8]! | (frame[9]! << 8) | (frame[10]! << 16)) + frame[11]! * 0x1000000;
  if (hi > 0x1fffff) return 'sequence number above 2^53-1';
  out.sequence = hi * 0x1_0000_0000 + lo;
  return null;
}

// ---- JSON control messages -----------------------------------------------------------

/** Why an upload was refused; `retry` tells the agent whether sending it again can succeed. */
export const NackCode = {
  /** larger than the collector's maxDumpBytes */
  TooLarge: 'too-large',
  /** frame header or dump does not parse / fails its checksums */
  Malformed: 'malformed',
  /** the dump parses but a value lies outside its domain (e.g. a timestamp that is NaN or past 2^53 µs) */
  InvalidValue: 'invalid-value',
  /** the dump declares more packets than the collector's maxDumpPackets */
  TooManyPackets: 'too-many-packets',
  /** dump header agent id differs from the certificate's */
  AgentMismatch: 'agent-mismatch',
  /** frame sequence differs from the dump header's */
  SequenceMismatch: 'sequence-mismatch',
  /** writing to disk or the database failed (disk full, I/O error) */
  Storage: 'storage',
  /** dropped because an earlier upload in the same epoch failed; resend */
  Aborted: 'aborted',
  /** per-agent or global limit reached; resend later */
  Busy: 'busy',
  /** the collector is stopping */
  ShuttingDown: 'shutting-down',
} as const;
export type NackCodeValue = (typeof NackCode)[keyof typeof NackCode];

export function nackIsRetryable(code: NackCodeValue): boolean {
  return code === NackCode.Storage || code === NackCode.Aborted || code === NackCode.Busy || code === NackCode.ShuttingDown;
}

const nonNeg = z.number().check(z.nonnegative());
const opt = z.optional;

/** Agent health as the heartbeat carries it; every field optional so older agents stay valid. */
const agentHealthSchema = z.looseObject({
  /** packets seen by capture, kept after exclusion, dropped by the kernel / interface */
  packetsCaptured: opt(nonNeg),
  packetsKept: opt(nonNeg),
  packetsDropped: opt(nonNeg),
  packetsIfDropped: opt(nonNeg),
  dumpsWritten: opt(nonNeg),
  /** dumps the spool had to discard (byte limit) */
  spoolDropped: opt(nonNeg),
  spoolBytes: opt(nonNeg),
  spoolFiles: opt(nonNeg),
  /** process CPU since the previous heartbeat, percent of one core */
  cpuPercent: opt(nonNeg),
  rssBytes: opt(nonNeg),
  heapUsedBytes: opt(nonNeg),
  uptimeSec: opt(nonNeg),
  /**
   * Packet-time watermark, µs: every packet captured before it is in a dump already handed
   * to the spool. With spoolFiles = 0 the collector holds all of them and may expire this
   * agent's flows up to it (idle hosts' flows then close without waiting for new traffic).
   */
  packetTimeUs: opt(nonNeg),
});
export type AgentHealth = z.infer<typeof agentHealthSchema>;

const str = (max: number) => z.string().check(z.maxLength(max));
const intAtLeast = (min: number) => z.int().check(z.gte(min));
const positiveInt = z.int().check(z.positive());

const agentMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('hello'),
    v: z.int(),
    agentId: z.string(),
    software: opt(str(200)),
    /** the agent's own window (unacked uploads it will keep in flight) */
    window: opt(positiveInt),
  }),
  z.object({ type: z.literal('heartbeat'), ts: z.number(), health: agentHealthSchema }),
  z.object({ type: z.literal('renew'), csr: str(16384) }),
  z.object({
    type: z.literal('command-result'),
    id: str(200),
    ok: z.boolean(),
    result: opt(z.unknown()),
    error: opt(str(4000)),
  }),
]);
export type AgentMessage = z.infer<typeof agentMessageSchema>;

const collectorMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('welcome'),
    v: z.int(),
    agentId: z.string(),
    serverTime: z.number(),
    /** largest dump the collector accepts (bytes, without the frame header) */
    maxDumpBytes: positiveInt,
    /** unacked uploads the collector is willing to queue for this agent */
    window: positiveInt,
    heartbeatSec: z.number().check(z.positive()),
  }),
  /** epoch: echoed from the upload frame, so an agent can ignore answers to frames it has since resent */
  z.object({ type: z.literal('ack'), seq: intAtLeast(0), epoch: intAtLeast(0), dup: z.boolean() }),
  z.object({
    type: z.literal('nack'),
    /** -1 when the frame was too broken to carry a sequence */
    seq: intAtLeast(-1),
    epoch: intAtLeast(0),
    code: z.string(),
    reason: z.string(),
    retry: z.boolean(),
  }),
  z.object({ type: z.literal('renewed'), cert: z.string(), ca: z.string() }),
  z.object({ type: z.literal('renew-failed'), reason: z.string() }),
  z.object({ type: z.literal('command'), id: z.string(), command: z.unknown() }),
  /**
   * threat-intel prefixes the agent ships early for (agent/watchlist/watchlist-codec.ts):
   * base64 of packed records, version = content hash; unsigned, see docs/responses.md
   */
  z.object({
    type: z.literal('watchlist'),
    version: str(64),
    v4: str(256 * 1024),
    v6: str(256 * 1024),
    /** entry hashes of listed domains and JA4/JA4S fingerprints (watchlist-codec.ts) */
    names: opt(str(256 * 1024)),
    ja4: opt(str(256 * 1024)),
    truncated: opt(z.boolean()),
  }),
  z.object({ type: z.literal('error'), code: z.string(), reason: z.string() }),
]);
export type CollectorMessage = z.infer<typeof collectorMessageSchema>;

/** Largest JSON control message either side accepts (bytes). */
const MAX_CONTROL_MESSAGE_BYTES = 64 * 1024;

/** Parses a text frame; returns the message or a reason string. */
export function parseAgentMessage(text: string): AgentMessage | string {
  if (text.length > MAX_CONTROL_MESSAGE_BYTES) return `control message of ${text.length} bytes exceeds ${MAX_CONTROL_MESSAGE_BYTES}`;
  let raw: unknown;
  try { raw = JSON.parse(text); } catch { return 'control message is not JSON'; }
  const r = agentMessageSchema.safeParse(raw);
  return r.success ? r.data : `control message not understood: ${r.error.issues[0]?.message ?? 'invalid'}`;
}

export function parseCollectorMessage(text: string): CollectorMessage | string {
  if (text.length > MAX_CONTROL_MESSAGE_BYTES * 4) return `control message of ${text.length} bytes is too large`;
  let raw: unknown;
  try { raw = JSON.parse(text); } catch { return 'control message is not JSON'; }
  const r = collectorMessageSchema.safeParse(raw);
  return r.success ? r.data : `control message not understood: ${r.error.issues[0]?.message ?? 'invalid'}`;
}

/** WebSocket close codes the collector uses (4000-4999 are application codes). */
export const CloseCode = {
  Replaced: 4000,
  ProtocolError: 4002,
  Revoked: 4003,
  ShuttingDown: 4004,
  IdleTimeout: 4005,
  /** the agent's organisation was suspended: reconnect later (uploads are refused meanwhile, keep spooling) */
  OrgSuspended: 4006,
} as const;
