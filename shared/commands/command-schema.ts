// The one shape of every remote command, shared by the console (which builds and signs it),
// the collector (which queues and delivers it without being able to change it) and the agent
// (which verifies and executes it). docs/commands.md is the prose spec. Pure.
//
//   envelope = { v, agentId, kind, params, issuedAt, expiresAt, nonce, operator, keyId, sig }
//
// `sig` is an Ed25519 signature by an operator key over signedBytes(envelope without sig); the
// agent accepts it only from keys pinned on the host. `nonce` makes every envelope unique: the
// agent executes a nonce at most once (replay guard, persisted).
import * as z from 'zod/mini';
import '../config/schema-messages.js';
import { MeerkatError } from '../errors.js';
import { inDurationRange, type DurationRange } from '../cli/duration.js';
import { COMMAND_LIMITS, isLossInRange, isRateInRange } from './command-limits.js';

export const COMMAND_VERSION = 1;
/** default lifetime the console gives a command (waiting in the queue included) */
export const DEFAULT_COMMAND_LIFETIME_MS = 24 * 3_600_000;
/** tolerated clock difference between console and agent */
export const CLOCK_SKEW_MS = 60_000;
/** largest envelope (JSON bytes) the collector accepts and forwards */
export const MAX_ENVELOPE_BYTES = 16 * 1024;

export const AGENT_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NONCE_RE = /^[A-Za-z0-9_-]{22}$/;
export const KEY_ID_RE = /^[0-9a-f]{16}$/;
const SIG_RE = /^[A-Za-z0-9+/]{86}==$/;

const int = (min: number, max: number) => z.int().check(z.gte(min), z.lte(max));
const duration = (r: DurationRange) => z.number().check(z.refine((ms) => inDurationRange(ms, r), `a whole number of ms, ${r.minMs} .. ${r.maxMs}`));
const interdictionFor = duration(COMMAND_LIMITS.interdiction);
const address = z.string().check(z.minLength(2), z.maxLength(64));
const peerRef = z.strictObject({ address, pseudonym: z.boolean() });
const L = COMMAND_LIMITS;
const component = z.enum(['capture', 'shipping']);
const opt = z.optional;

/** Parameters per command kind (strict: an unknown parameter is an error, not ignored). */
const COMMAND_PARAMS = {
  /** machine inventory; sensitive parts sealed to the owner */
  inventory: z.strictObject({}),
  /** payload bytes kept per packet from now on */
  'capture.snaplen': z.strictObject({ snapLen: int(L.snapLen.min, L.snapLen.max) }),
  /** keep up to snapLen payload bytes for traffic with `peer` (as records carry it) until forMs from execution */
  'capture.peer': z.strictObject({ peer: address, port: opt(int(1, 65535)), snapLen: int(1, L.snapLen.max), forMs: duration(L.peerCapture) }),
  /** packets (and seconds) per dump */
  'capture.dump-size': z.strictObject({ packets: int(L.dumpPackets.min, L.dumpPackets.max), seconds: opt(z.number().check(z.gte(L.dumpSeconds.min), z.lte(L.dumpSeconds.max))) }),
  /** ship the retro ring's packets of [sinceMs, untilMs] (of `peer` / `port` when given) as retro dumps (docs/pcap.md) */
  'capture.retro': z
    .strictObject({ peer: opt(address), port: opt(int(1, 65535)), sinceMs: z.int().check(z.nonnegative()), untilMs: z.int().check(z.nonnegative()) })
    .check(z.refine((p) => p.untilMs > p.sinceMs && p.untilMs - p.sinceMs <= L.retroWindow.maxMs, `untilMs must be after sinceMs, at most ${L.retroWindow.maxMs / 86_400_000} days later`)),
  'component.stop': z.strictObject({ component }),
  'component.start': z.strictObject({ component }),
  'interdiction.isolate': z.strictObject({ allow: opt(z.array(peerRef).check(z.maxLength(L.allow))), forMs: opt(interdictionFor) }),
  'interdiction.block': z.strictObject({ peer: peerRef, forMs: opt(interdictionFor) }),
  'interdiction.unblock': z.strictObject({ peer: peerRef }),
  'interdiction.degrade': z
    .strictObject({
      peer: opt(peerRef),
      rateBytesPerSec: opt(z.number().check(z.refine(isRateInRange, `a whole number of bytes/s, ${L.rate.minBytesPerSec} .. ${L.rate.maxBytesPerSec}`))),
      lossPercent: opt(z.number().check(z.refine(isLossInRange, 'a percentage in (0, 100], two decimals at most'))),
      forMs: opt(interdictionFor),
    })
    .check(z.refine((p) => p.rateBytesPerSec !== undefined || p.lossPercent !== undefined, 'degrade needs rateBytesPerSec and/or lossPercent')),
  'interdiction.release': z.strictObject({}),
} as const;

export type CommandKind = keyof typeof COMMAND_PARAMS;
const COMMAND_KINDS = Object.keys(COMMAND_PARAMS) as CommandKind[];
export type CommandParams<K extends CommandKind> = z.output<(typeof COMMAND_PARAMS)[K]>;

/** Kinds that only read (no change to the host); they are signed and replay-guarded all the same. */
export const READ_ONLY_KINDS: ReadonlySet<CommandKind> = new Set<CommandKind>(['inventory']);

const commandEnvelopeSchema = z.strictObject({
  v: z.literal(COMMAND_VERSION),
  agentId: z.string().check(z.regex(AGENT_ID_RE, 'an agent id (lower-case UUID)')),
  kind: z.enum(COMMAND_KINDS as [CommandKind, ...CommandKind[]]),
  params: z.record(z.string(), z.unknown()),
  issuedAt: z.int().check(z.nonnegative()),
  expiresAt: z.int().check(z.nonnegative()),
  nonce: z.string().check(z.regex(NONCE_RE, '16 random bytes, base64url')),
  /** the signer's name as the operator key file records it (informational; the key id decides) */
  operator: z.string().check(z.minLength(1), z.maxLength(64)),
  keyId: z.string().check(z.regex(KEY_ID_RE, '16 hex characters')),
  sig: z.optional(z.string().check(z.regex(SIG_RE, 'a base64 Ed25519 signature'))),
});

export type CommandEnvelope = z.output<typeof commandEnvelopeSchema>;
export type UnsignedEnvelope = Omit<CommandEnvelope, 'sig'>;

export class CommandSchemaError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_COMMAND_SCHEMA';
  constructor(readonly what: 'envelope' | 'params', detail: string) {
    super(`invalid command ${what}: ${detail}`);
    this.name = 'CommandSchemaError';
  }
}

function firstIssue(e: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }): string {
  const i = e.issues[0];
  if (!i) return 'invalid';
  return `${i.path.length ? i.path.map(String).join('.') + ': ' : ''}${i.message}`;
}

/** Parses an envelope (structure only: no signature or time checks). @throws CommandSchemaError */
export function parseEnvelope(x: unknown): CommandEnvelope {
  const r = commandEnvelopeSchema.safeParse(x);
  if (!r.success) throw new CommandSchemaError('envelope', firstIssue(r.error));
  if (r.data.expiresAt <= r.data.issuedAt) throw new CommandSchemaError('envelope', 'expiresAt must be after issuedAt');
  if (r.data.expiresAt - r.data.issuedAt > COMMAND_LIMITS.lifetime.maxMs) {
    throw new CommandSchemaError('envelope', `lifetime above the maximum of ${COMMAND_LIMITS.lifetime.maxMs / 86_400_000} days`);
  }
  return r.data;
}

/** Validates the parameters of a kind. @throws CommandSchemaError */
export function parseParams<K extends CommandKind>(kind: K, params: unknown): CommandParams<K> {
  const r = COMMAND_PARAMS[kind].safeParse(params);
  if (!r.success) throw new CommandSchemaError('params', `${kind}: ${firstIssue(r.error)}`);
  return r.data as CommandParams<K>;
}

// ---- what the agent answers -----------------------------------------------------------------

/** Why an agent refused a command (nothing was changed). */
export const RefusalCode = {
  Malformed: 'malformed',
  Unsigned: 'unsigned',
  UnknownKey: 'unknown-key',
  BadSignature: 'bad-signature',
  WrongTarget: 'wrong-target',
  Expired: 'expired',
  NotYetValid: 'not-yet-valid',
  Replay: 'replay',
  BadParams: 'bad-params',
  Unsupported: 'unsupported',
} as const;
export type RefusalCodeValue = (typeof RefusalCode)[keyof typeof RefusalCode];

/** The `result` of a command-result message (the agent's answer). */
export interface CommandOutcome {
  status: 'done' | 'failed' | 'refused';
  kind?: string;
  nonce?: string;
  /** refusal code, or a short failure code */
  code?: string;
  reason?: string;
  /** what the command did / reports (kind-specific) */
  data?: unknown;
  /** the same delivery arrived again; this is the stored outcome of its single execution */
  redelivered?: boolean;
  /** agent time of execution, ms */
  at?: number;
}

const outcomeSchema = z.looseObject({
  status: z.enum(['done', 'failed', 'refused']),
  kind: opt(z.string().check(z.maxLength(64))),
  nonce: opt(z.string().check(z.maxLength(64))),
  code: opt(z.string().check(z.maxLength(64))),
  reason: opt(z.string().check(z.maxLength(4000))),
  data: opt(z.unknown()),
  redelivered: opt(z.boolean()),
  at: opt(z.number()),
});

/** Reads an agent's answer; an answer that does not parse counts as a failure with its text. */
export function readOutcome(ok: boolean, result: unknown, error: string | undefined): CommandOutcome {
  const r = outcomeSchema.safeParse(result);
  if (r.success) return r.data as CommandOutcome;
  return ok ? { status: 'done', data: result } : { status: 'failed', code: 'agent-error', reason: error ?? 'the agent reported a failure without a reason' };
}

/** Command states as the collector tracks them. */
export const COMMAND_STATES = ['queued', 'delivered', 'done', 'failed', 'expired', 'refused'] as const;
export type CommandState = (typeof COMMAND_STATES)[number];
export const TERMINAL_STATES: ReadonlySet<CommandState> = new Set<CommandState>(['done', 'failed', 'expired', 'refused']);
