// Building, signing and verifying command envelopes (Ed25519 over canonical JSON). The console
// signs; the agent verifies against the operator keys it pinned. The collector does neither: it
// cannot produce a valid signature and is not trusted to judge one. Pure apart from randomness.
import { randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { signedText } from './signed-text.js';
import {
  CLOCK_SKEW_MS, COMMAND_VERSION, RefusalCode, parseEnvelope, parseParams,
  type CommandEnvelope, type CommandKind, type CommandParams, type RefusalCodeValue, type UnsignedEnvelope,
} from './command-schema.js';
import { CommandSchemaError } from './command-schema.js';
import type { OperatorSigningKey } from './operator-keys.js';

/** The exact bytes that are signed: context line + canonical JSON of the envelope without `sig` (signed-text.ts). */
export function signedBytes(env: UnsignedEnvelope | CommandEnvelope): Buffer {
  return Buffer.from(signedText(env), 'utf8');
}

function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

export interface BuildCommandOptions<K extends CommandKind> {
  agentId: string;
  kind: K;
  params: CommandParams<K>;
  /** lifetime from now, ms */
  lifetimeMs: number;
  nowMs?: number;
}

/** A signed envelope. Parameters are validated first. @throws CommandSchemaError */
export function buildSignedCommand<K extends CommandKind>(key: OperatorSigningKey, o: BuildCommandOptions<K>): CommandEnvelope {
  const now = o.nowMs ?? Date.now();
  const params = parseParams(o.kind, o.params) as Record<string, unknown>;
  const env: UnsignedEnvelope = {
    v: COMMAND_VERSION,
    agentId: o.agentId,
    kind: o.kind,
    params,
    issuedAt: now,
    expiresAt: now + o.lifetimeMs,
    nonce: newNonce(),
    operator: key.name,
    keyId: key.keyId,
  };
  parseEnvelope(env);
  return signEnvelope(env, key);
}

/** Signs (or re-signs) an envelope as given. */
export function signEnvelope(env: UnsignedEnvelope, key: OperatorSigningKey): CommandEnvelope {
  const { sig: _old, ...rest } = env as CommandEnvelope;
  const unsigned: UnsignedEnvelope = { ...rest, keyId: key.keyId };
  return { ...unsigned, sig: sign(null, signedBytes(unsigned), key.privateKey).toString('base64') };
}

export interface VerifyContext {
  /** this agent's id */
  agentId: string;
  nowMs: number;
  /** pinned operator public keys by key id */
  keys: ReadonlyMap<string, KeyObject>;
}

export type VerifyResult =
  | { ok: true; envelope: CommandEnvelope; params: Record<string, unknown> }
  | { ok: false; code: RefusalCodeValue; reason: string; envelope?: CommandEnvelope };

/**
 * Everything an agent checks before it acts, in this order: structure, signature present, key
 * pinned, signature valid, target is this agent, time window, parameters. The replay check
 * comes after (agent/control/replay-guard.ts): a nonce is only recorded for a genuine command.
 */
export function verifyCommand(raw: unknown, ctx: VerifyContext): VerifyResult {
  let env: CommandEnvelope;
  try {
    env = parseEnvelope(raw);
  } catch (e) {
    if (e instanceof CommandSchemaError) return { ok: false, code: RefusalCode.Malformed, reason: e.message };
    throw e;
  }
  const refuse = (code: RefusalCodeValue, reason: string): VerifyResult => ({ ok: false, code, reason, envelope: env });
  if (env.sig === undefined) return refuse(RefusalCode.Unsigned, 'the command carries no operator signature');
  const key = ctx.keys.get(env.keyId);
  if (!key) return refuse(RefusalCode.UnknownKey, `signed by key ${env.keyId}, which is not an operator key pinned on this agent`);
  let good = false;
  try {
    good = verify(null, signedBytes(env), key, Buffer.from(env.sig, 'base64'));
  } catch {
    good = false;
  }
  if (!good) return refuse(RefusalCode.BadSignature, `the signature does not verify with operator key ${env.keyId} (forged or altered command)`);
  if (env.agentId !== ctx.agentId) return refuse(RefusalCode.WrongTarget, `the command is for agent ${env.agentId}, this is agent ${ctx.agentId}`);
  if (ctx.nowMs > env.expiresAt + CLOCK_SKEW_MS) {
    return refuse(RefusalCode.Expired, `the command expired at ${new Date(env.expiresAt).toISOString()} (agent time ${new Date(ctx.nowMs).toISOString()})`);
  }
  if (env.issuedAt > ctx.nowMs + CLOCK_SKEW_MS) {
    return refuse(RefusalCode.NotYetValid, `the command is issued at ${new Date(env.issuedAt).toISOString()}, in the future for this agent (${new Date(ctx.nowMs).toISOString()})`);
  }
  let params: Record<string, unknown>;
  try {
    params = parseParams(env.kind, env.params) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof CommandSchemaError) return refuse(RefusalCode.BadParams, e.message);
    throw e;
  }
  return { ok: true, envelope: env, params };
}
