// The one rule every command follows for naming an agent: its full id (a lower-case UUID), or
// a unique prefix of at least MIN_AGENT_ID_PREFIX characters of it. The console checks it
// against the agents the collector knows, `meerkat pcap --db` against the dumps, and
// `meerkat-collector pki revoke` against the certificates issued. Pure.
import { InputError } from '../errors.js';
import { AGENT_ID_RE } from './command-schema.js';

export const MIN_AGENT_ID_PREFIX = 4;

/** An agent named by text that is no id, too short a prefix, or matches no agent or several. */
export class AgentIdError extends InputError {
  readonly code = 'MEERKAT_ERR_AGENT_ID';
  constructor(message: string) {
    super(message);
    this.name = 'AgentIdError';
  }
}

/** Checks the text's form only: a full id passes as it is, a prefix is lower-cased. @throws AgentIdError */
export function agentIdOrPrefix(text: string): { id: string } | { prefix: string } {
  const t = text.trim().toLowerCase();
  if (AGENT_ID_RE.test(t)) return { id: t };
  if (!/^[0-9a-f-]+$/.test(t) || t.length > 36) throw new AgentIdError(`not an agent id or id prefix: ${JSON.stringify(text)} (an agent id is a UUID; give it whole or its first ${MIN_AGENT_ID_PREFIX} or more characters)`);
  if (t.length < MIN_AGENT_ID_PREFIX) throw new AgentIdError(`agent id prefix ${JSON.stringify(text)} is too short: give at least ${MIN_AGENT_ID_PREFIX} characters`);
  return { prefix: t };
}

/**
 * The one agent of `known` that `text` names. A full id that is not among `known` is returned
 * as it is (the caller's source may simply not list it yet), unless `mustExist`.
 * @throws AgentIdError naming the rule, or the matches when there are several
 */
export function resolveAgentIdPrefix(text: string, known: readonly string[], where = 'known agents', mustExist = false): string {
  const f = agentIdOrPrefix(text);
  if ('id' in f) {
    if (mustExist && !known.includes(f.id)) throw new AgentIdError(`no agent ${f.id} among the ${where}`);
    return f.id;
  }
  const hits = [...new Set(known)].filter((a) => a.startsWith(f.prefix));
  if (hits.length === 1) return hits[0]!;
  if (hits.length === 0) throw new AgentIdError(`no agent id starts with ${JSON.stringify(f.prefix)} among the ${where}`);
  throw new AgentIdError(`${JSON.stringify(f.prefix)} matches ${hits.length} agents (${hits.slice(0, 4).join(', ')}${hits.length > 4 ? ', ...' : ''}); give more of the id`);
}
