// The agent's command handler (the shipper's onCommand): every command from the collector is
// checked here before anything happens - signature by a pinned operator key, target agent,
// time window, parameters, then the replay guard - and only then executed, one at a time.
// Every refusal is answered (status "refused" with a code and reason, so the collector audits
// it) and logged here; nothing on the host changes for a refused command.
import type { Logger } from '../../shared/log.js';
import { verifyCommand } from '../../shared/commands/command-signing.js';
import { READ_ONLY_KINDS, RefusalCode, type CommandEnvelope, type CommandKind, type CommandOutcome, type RefusalCodeValue } from '../../shared/commands/command-schema.js';
import { parseRecordAddress, type PeerRef } from '../../shared/commands/peer-ref.js';
import type { CommandHandler } from '../transport/shipper.js';
import type { CaptureControl } from './capture-control.js';
import type { RetroControl } from '../retro/retro-control.js';
import type { InterdictionControl } from './interdiction-control.js';
import type { InventoryReport } from '../../shared/commands/agent-reports.js';
import type { PinnedKeySet } from './pinned-keys.js';
import { PeerResolutionError } from './peer-resolver.js';
import type { ReplayGuard } from './replay-guard.js';
import { InputError, MeerkatError } from '../../shared/errors.js';

export interface CommandExecutorOptions {
  agentId: string;
  log: Logger;
  /** the pinned operator keys, read for every command (a newly pinned key works without restart) */
  keys: () => PinnedKeySet;
  /** null when the replay record is unusable: every command is then refused (with replayProblem) */
  replay: ReplayGuard | null;
  replayProblem?: string;
  capture: CaptureControl | null;
  /** the retro ring (agent config `retro`), null when it is off */
  retro?: RetroControl | null;
  interdiction: InterdictionControl | null;
  /** unavailable reason when interdiction could not be set up on this host */
  interdictionUnavailable?: string;
  inventory: () => InventoryReport;
  now?: () => number;
}

export interface ExecutorStats {
  done: number;
  failed: number;
  refused: number;
  redelivered: number;
  lastRefusal: { code: string; reason: string; at: string } | null;
}

type Reply = { ok: boolean; result: CommandOutcome; error?: string };

export class CommandExecutor {
  /** plug into ShipperOptions.onCommand */
  readonly handle: CommandHandler;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly s: ExecutorStats = { done: 0, failed: 0, refused: 0, redelivered: 0, lastRefusal: null };
  private readonly now: () => number;

  constructor(private readonly o: CommandExecutorOptions) {
    this.now = o.now ?? Date.now;
    // one command at a time: two interdiction changes must not interleave
    this.handle = (id, command) => {
      const run = this.chain.then(() => this.process(id, command));
      this.chain = run.catch(() => undefined);
      return run;
    };
  }

  stats(): ExecutorStats {
    return { ...this.s };
  }

  private refuse(deliveryId: string, code: RefusalCodeValue, reason: string, env?: CommandEnvelope): Reply {
    this.s.refused++;
    this.s.lastRefusal = { code, reason, at: new Date(this.now()).toISOString() };
    this.o.log.warn({ deliveryId, code, reason, kind: env?.kind, keyId: env?.keyId, operator: env?.operator }, 'command refused');
    const result: CommandOutcome = { status: 'refused', code, reason, at: this.now(), ...(env ? { kind: env.kind, nonce: env.nonce } : {}) };
    return { ok: false, result, error: `refused (${code}): ${reason}` };
  }

  private async process(deliveryId: string, command: unknown): Promise<Reply> {
    const keys = this.o.keys();
    for (const p of keys.problems) this.o.log.error({ problem: p }, 'pinned operator key problem');
    const v = verifyCommand(command, { agentId: this.o.agentId, nowMs: this.now(), keys: keys.keys });
    if (!v.ok) return this.refuse(deliveryId, v.code, v.reason, v.envelope);
    const env = v.envelope;
    const replay = this.o.replay;
    if (!replay) return this.refuse(deliveryId, RefusalCode.Unsupported, `commands are disabled until the replay record is repaired: ${this.o.replayProblem ?? 'unavailable'}`, env);

    const seen = replay.lookup(env.nonce);
    if (seen) {
      if (seen.deliveryId === deliveryId) {
        // the collector never got our answer; give it again, do not run the command again
        this.s.redelivered++;
        const outcome: CommandOutcome = seen.outcome
          ? { ...seen.outcome, redelivered: true }
          : { status: 'failed', kind: env.kind, nonce: env.nonce, code: 'interrupted', reason: 'the agent stopped while running this command; its effect is unknown (see the agent status)', redelivered: true };
        return { ok: outcome.status === 'done', result: outcome, ...(outcome.status !== 'done' ? { error: outcome.reason ?? outcome.status } : {}) };
      }
      return this.refuse(deliveryId, RefusalCode.Replay, `this signed command (nonce ${env.nonce}) was already accepted at ${new Date(seen.at).toISOString()} as delivery ${seen.deliveryId}`, env);
    }
    if (!replay.hasRoom()) return this.refuse(deliveryId, RefusalCode.Unsupported, 'the replay record is full of unexpired commands; retry later', env);
    // durably BEFORE acting: a crash from here on can lose this command, never run it twice
    try {
      replay.record(env.nonce, env.expiresAt, deliveryId);
    } catch (e) {
      this.s.failed++;
      const reason = `cannot record the command against replay (${(e as Error).message}); not executed`;
      this.o.log.error({ deliveryId, kind: env.kind, err: (e as Error).message }, 'replay record write failed');
      return { ok: false, result: { status: 'failed', kind: env.kind, nonce: env.nonce, code: 'state', reason, at: this.now() }, error: reason };
    }

    let outcome: CommandOutcome;
    try {
      const data = await this.execute(env.kind, v.params);
      outcome = { status: 'done', kind: env.kind, nonce: env.nonce, data, at: this.now() };
      this.s.done++;
      const level = READ_ONLY_KINDS.has(env.kind) ? 'debug' : 'info';
      this.o.log[level]({ deliveryId, kind: env.kind, operator: env.operator, keyId: env.keyId }, 'command executed');
    } catch (e) {
      if (e instanceof PeerResolutionError || e instanceof ParamError || e instanceof InputError) {
        // refused, but only after it was recorded: the same signed command stays unusable
        outcome = { status: 'refused', kind: env.kind, nonce: env.nonce, code: RefusalCode.BadParams, reason: e.message, at: this.now() };
        this.s.refused++;
        this.s.lastRefusal = { code: RefusalCode.BadParams, reason: e.message, at: new Date(this.now()).toISOString() };
        this.o.log.warn({ deliveryId, kind: env.kind, reason: e.message }, 'command refused');
      } else if (e instanceof UnsupportedError) {
        outcome = { status: 'refused', kind: env.kind, nonce: env.nonce, code: RefusalCode.Unsupported, reason: e.message, at: this.now() };
        this.s.refused++;
        this.o.log.warn({ deliveryId, kind: env.kind, reason: e.message }, 'command refused');
      } else {
        outcome = { status: 'failed', kind: env.kind, nonce: env.nonce, code: 'error', reason: e instanceof Error ? e.message : String(e), at: this.now() };
        this.s.failed++;
        this.o.log.error({ deliveryId, kind: env.kind, err: outcome.reason }, 'command failed');
      }
    }
    try {
      replay.complete(env.nonce, outcome);
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'cannot store the command outcome');
    }
    return { ok: outcome.status === 'done', result: outcome, ...(outcome.status !== 'done' ? { error: outcome.reason ?? outcome.status } : {}) };
  }

  private async execute(kind: CommandKind, p: Record<string, unknown>): Promise<unknown> {
    const capture = (): CaptureControl => {
      if (!this.o.capture) throw new UnsupportedError(`${kind}: this agent runs without live capture`);
      return this.o.capture;
    };
    switch (kind) {
      case 'inventory':
        return this.o.inventory();
      case 'capture.snaplen':
        return capture().setSnapLen(p.snapLen as number);
      case 'capture.peer': {
        let peer: string;
        try {
          peer = parseRecordAddress(p.peer as string, '--peer');
        } catch (e) {
          throw new ParamError((e as Error).message);
        }
        return capture().addPeerCapture(peer, p.port as number | undefined, p.snapLen as number, p.forMs as number);
      }
      case 'capture.retro': {
        if (!this.o.retro) throw new UnsupportedError('capture.retro: the retro ring is off on this agent (agent config "retro": {"enabled": true})');
        let peer: string | undefined;
        try {
          peer = p.peer === undefined ? undefined : parseRecordAddress(p.peer as string, '--peer');
        } catch (e) {
          throw new ParamError((e as Error).message);
        }
        return this.o.retro.pull(peer, p.port as number | undefined, p.sinceMs as number, p.untilMs as number);
      }
      case 'capture.dump-size':
        return capture().setDumpSize(p.packets as number, p.seconds as number | undefined);
      case 'component.stop':
        return capture().stop(p.component as 'capture' | 'shipping');
      case 'component.start':
        return capture().start(p.component as 'capture' | 'shipping');
      case 'interdiction.isolate':
      case 'interdiction.block':
      case 'interdiction.unblock':
      case 'interdiction.degrade':
      case 'interdiction.release': {
        if (!this.o.interdiction) throw new UnsupportedError(`${kind}: interdiction is not available on this agent (${this.o.interdictionUnavailable ?? 'not set up'})`);
        return this.o.interdiction.execute(kind, p as { allow?: PeerRef[]; peer?: PeerRef; forMs?: number; rateBytesPerSec?: number; lossPercent?: number });
      }
    }
  }
}

class ParamError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_COMMAND_PARAMS';
  constructor(message: string) {
    super(message);
    this.name = 'ParamError';
  }
}

class UnsupportedError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_COMMAND_UNSUPPORTED';
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedError';
  }
}
