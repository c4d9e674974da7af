// Routes collector commands on the agent: a command signed by an authorised RESPONSE key
// (response-keys.ts) goes to an executor that trusts only those keys, and only if the
// command's kind is in that key's scope; every other command goes to the operator executor
// (agent/control/command-executor.ts) unchanged. An out-of-scope command is refused with code
// "out-of-scope" and answered, so the collector audits the refusal; nothing changes on the host.
// One command at a time across both executors (two interdiction changes must not interleave).
import { join } from 'node:path';
import { childLogger, type Logger } from '../../shared/log.js';
import { verifyCommand } from '../../shared/commands/command-signing.js';
import type { CommandKind, CommandOutcome } from '../../shared/commands/command-schema.js';
import type { CommandHandler } from '../transport/shipper.js';
import { CommandExecutor } from '../control/command-executor.js';
import type { AgentControl } from '../control/agent-control.js';
import { ReplayGuard } from '../control/replay-guard.js';
import { loadResponseKeys, type ResponseKeySet } from './response-keys.js';

const OUT_OF_SCOPE = 'out-of-scope';

export interface ResponseRouterOptions {
  stateDir: string;
  agentId: string;
  /** the operator path (control.executor.handle) */
  operator: CommandHandler;
  /** capture / interdiction targets for response commands */
  control: Pick<AgentControl, 'capture' | 'interdiction' | 'retro'>;
  log: Logger;
  /** response keys, read per command (default from stateDir) */
  keys?: () => ResponseKeySet;
  now?: () => number;
}

export interface ResponseRouter {
  readonly handle: CommandHandler;
  stats(): { responses: number; outOfScope: number };
}

function keyIdOf(command: unknown): string | null {
  if (typeof command !== 'object' || command === null) return null;
  const k = (command as { keyId?: unknown }).keyId;
  return typeof k === 'string' ? k : null;
}

export function createResponseRouter(o: ResponseRouterOptions): ResponseRouter {
  const now = o.now ?? Date.now;
  const loadKeys = o.keys ?? (() => loadResponseKeys(o.stateDir));
  const log = childLogger(o.log, 'responses');
  let replay: ReplayGuard | null = null;
  let replayProblem: string | undefined;
  try {
    // a replay record of its own: a nonce signed by a response key can never reach the operator executor
    replay = ReplayGuard.open(join(o.stateDir, 'control', 'response-replay.json'));
  } catch (e) {
    replayProblem = (e as Error).message;
    log.error({ err: replayProblem }, 'response replay record unusable: response commands will be refused');
  }
  let current: ResponseKeySet = { keys: new Map(), problems: [] };
  const responder = new CommandExecutor({
    agentId: o.agentId,
    log,
    keys: () => ({ keys: new Map([...current.keys].map(([id, k]) => [id, k.key])), pinned: [], problems: current.problems }),
    replay,
    ...(replayProblem ? { replayProblem } : {}),
    capture: o.control.capture,
    retro: o.control.retro,
    interdiction: o.control.interdiction,
    inventory: () => { throw new Error('inventory is never a response'); },
    now,
  });
  const s = { responses: 0, outOfScope: 0 };
  let chain: Promise<unknown> = Promise.resolve();

  const route = async (id: string, command: unknown): Promise<{ ok: boolean; result?: unknown; error?: string }> => {
    const keyId = keyIdOf(command);
    const set = loadKeys();
    const rk = keyId !== null ? set.keys.get(keyId) : undefined;
    if (rk === undefined) return o.operator(id, command);
    current = set;
    // signature first: only a genuine response command earns a scope verdict
    const v = verifyCommand(command, { agentId: o.agentId, nowMs: now(), keys: new Map([[rk.keyId, rk.key]]) });
    if (v.ok && !rk.kinds.has(v.envelope.kind as CommandKind)) {
      s.outOfScope++;
      const reason = `response key ${rk.keyId} (${rk.name}) is not authorised for ${v.envelope.kind} on this agent (authorised: ${[...rk.kinds].join(', ')})`;
      log.warn({ deliveryId: id, kind: v.envelope.kind, keyId: rk.keyId }, 'response command refused: out of scope');
      const result: CommandOutcome = { status: 'refused', kind: v.envelope.kind, nonce: v.envelope.nonce, code: OUT_OF_SCOPE, reason, at: now() };
      return { ok: false, result, error: `refused (${OUT_OF_SCOPE}): ${reason}` };
    }
    s.responses++;
    return responder.handle(id, command);
  };

  return {
    handle: (id, command) => {
      const run = chain.then(() => route(id, command));
      chain = run.catch(() => undefined);
      return run;
    },
    stats: () => ({ ...s }),
  };
}
