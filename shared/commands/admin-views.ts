// What the collector's operators' API (docs/api.md) answers about agents and
// commands, as the collector builds it and the console reads it. Types only.
import type { CommandOutcome, CommandState } from './command-schema.js';

/** One agent in GET /v1/agents. */
export interface AgentView {
  agentId: string;
  online: boolean;
  connectedSince: string | null;
  firstSeen: string | null;
  lastSeen: string | null;
  /** agent software version from its heartbeat */
  version: string | null;
  /**
   * the last heartbeat as the agent sent it (capture, spool, control, interdiction), with the
   * control and interdiction state of commands the agent carried out since then
   */
  health: Record<string, unknown> | null;
  /** the collector's revocation list names this agent: it is refused at every connect */
  revoked: boolean;
  /** commands sent or waiting to be sent to it that it has not answered yet (not in force) */
  pendingCommands: Array<{ id: string; kind: string; state: CommandState; createdAt: string }>;
}

/** One command in POST /v1/commands and GET /v1/commands[/ID]. */
export interface CommandView {
  id: string;
  agentId: string;
  kind: string;
  state: CommandState;
  params: Record<string, unknown>;
  signer: { operator: string; keyId: string; signed: boolean };
  submittedBy: string;
  createdAt: string;
  expiresAt: string;
  deliveredAt: string | null;
  deliveries: number;
  finishedAt: string | null;
  result: CommandOutcome | null;
  error: string | null;
}
