// The one shape of every remote command, shared by the console (which builds and signs it),
// the collector (which queues and delivers it without being able to change it) and the agent
// (which verifies and executes it). docs/commands.md is the prose spec. Pure.
//
//   envelope = { v, agentId, kind, params, issuedAt, expiresAt, nonce, operator, keyId, sig }
//
// `sig` is an Ed25519 signature by an operator key over signedBytes(envelope without sig); the
// agent accepts it only from keys pinned on the host. `nonce` makes every envelope unique: the
// agent executes a nonce at most once (replay guard, persisted).
import { z } from 'zod';

export const COMMAND_VERSION = 1;
/** longest lifetime (expiresAt - issuedAt) an agent accepts */
export const MAX_COMMAND_LIFETIME_MS = 30 * 86_400_000;
/** default lifetime the console gives a command (waiting in the queue included) */
export const DEFAULT_COMMAND_LIFETIME_MS = 24 * 3_600_000;
/** tolerated clock difference between console and agent */
export const CLOCK_SKEW_MS = 60_000;
/** longest targeted full capture / timed interdiction part */
export const MAX_TIMED_MS = 7 * 86_400_000;
/** largest envelope (JSON bytes) the collector accepts and forwards */
export const MAX_ENVELOPE_BYTES = 16 * 1024;

export const AGENT_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const NONCE_RE = /^[A-Za-z0-9_-]{22}$/;
export const KEY_ID_RE = /^[0-9a-f]{16}$/;
const SIG_RE = /^[A-Za-z0-9+/]{86}==$/;

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const duration = int(1_000, MAX_TIMED_MS);
const address = z.string().min(2).max(64);
const peerRef = z.object({ address, pseudonym: z.boolean() }).strict();
const component = z.enum(['capture', 'shipping']);

/** Parameters per command kind (strict: an unknown parameter is an error, not ignored). */
export const COMMAND_PARAMS = {
  /** machine inventory; sensitive parts sealed to the owner */
  inventory: z.object({}).strict(),
  /** payload bytes kept per packet from now on */
  'capture.snaplen': z.object({ snapLen: int(0, 65535) }).strict(),
  /** keep up to snapLen payload bytes for traffic with `peer` (as records carry it) until forMs from execution */
  'capture.peer': z.object({ peer: address, port: int(1, 65535).optional(), snapLen: int(1, 65535), forMs: duration }).strict(),
  /** packets (and seconds) per dump */
  'capture.dump-size': z.object({ packets: int(1, 1_000_000), seconds: z.number().min(1).max(3600).optional() }).strict(),
  'component.stop': z.object({ component }).strict(),
  'component.start': z.object({ component }).strict(),
  'interdiction.isolate': z.object({ allow: z.array(peerRef).max(64).optional(), forMs: duration.optional() }).strict(),
  'interdiction.block': z.object({ peer: peerRef, forMs: duration.optional() }).strict(),
  'interdiction.unblock': z.object({ peer: peerRef }).strict(),
  'interdiction.degrade': z
    .object({
      peer: peerRef.optional(),
      rateBytesPerSec: int(125, 12_500_000_000).optional(),
      lossPercent: z.number().gt(0).max(100).optional(),
      forMs: duration.optional(),
    })
    .strict()
    .refine((p) => p.rateBytesPerSec !== undefined || p.lossPercent !== undefined, 'degrade needs rateBytesPerSec and/or lossPercent'),
  'interdiction.release': z.object({}).strict(),
} as const;

export type CommandKind = keyof typeof COMMAND_PARAMS;
export const COMMAND_KINDS = Object.keys(COMMAND_PARAMS) as CommandKind[];
export type CommandParams<K extends CommandKind> = z.output<(typeof COMMAND_PARAMS)[K]>;

/** Kinds that only read (no change to the host); they are signed and replay-guarded all the same. */
export const READ_ONLY_KINDS: ReadonlySet<CommandKind> = new Set<CommandKind>(['inventory']);

export const commandEnvelopeSchema = z
  .object({
    v: z.literal(COMMAND_VERSION),
    agentId: z.string().regex(AGENT_ID_RE, 'an agent id (lower-case UUID)'),
    kind: z.enum(COMMAND_KINDS as [CommandKind, ...CommandKind[]]),
    params: z.record(z.string(), z.unknown()),
    issuedAt: z.number().int().nonnegative(),
    expiresAt: z.number().int().nonnegative(),
    nonce: z.string().regex(NONCE_RE, '16 random bytes, base64url'),
    /** the signer's name as the operator key file records it (informational; the key id decides) */
    operator: z.string().min(1).max(64),
    keyId: z.string().regex(KEY_ID_RE, '16 hex characters'),
    sig: z.string().regex(SIG_RE, 'a base64 Ed25519 signature').optional(),
  })
  .strict();

export type CommandEnvelope = z.output<typeof commandEnvelopeSchema>;
export type UnsignedEnvelope = Omit<CommandEnvelope, 'sig'>;

export class CommandSchemaError extends Error {
  constructor(readonly what: 'envelope' | 'params', detail: string) {
    super(`invalid command ${what}: ${detail}`);
    this.name = 'CommandSchemaError';
  }
}

function firstIssue(e: z.ZodError): string {
  const i = e.issues[0];
  if (!i) return 'invalid';
  return `${i.path.length ? i.path.map(String).join('.') + ': ' : ''}${i.message}`;
}

/** Parses an envelope (structure only: no signature or time checks). @throws CommandSchemaError */
export function parseEnvelope(x: unknown): CommandEnvelope {
  const r = commandEnvelopeSchema.safeParse(x);
  if (!r.success) throw new CommandSchemaError('envelope', firstIssue(r.error));
  if (r.data.expiresAt <= r.data.issuedAt) throw new CommandSchemaError('envelope', 'expiresAt must be after issuedAt');
  if (r.data.expiresAt - r.data.issuedAt > MAX_COMMAND_LIFETIME_MS) {
    throw new CommandSchemaError('envelope', `lifetime above the maximum of ${MAX_COMMAND_LIFETIME_MS / 86_400_000} days`);
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

const outcomeSchema = z
  .object({
    status: z.enum(['done', 'failed', 'refused']),
    kind: z.string().max(64).optional(),
    nonce: z.string().max(64).optional(),
    code: z.string().max(64).optional(),
    reason: z.string().max(4000).optional(),
    data: z.unknown().optional(),
    redelivered: z.boolean().optional(),
    at: z.number().optional(),
  })
  .loose();

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
