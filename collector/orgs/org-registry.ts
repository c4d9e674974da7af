// The organisations a collector serves and the organisation of every agent id it enrolled,
// in the collector-wide database. Every change to an organisation bumps a version counter, so
// a running collector notices what a CLI process (`meerkat-collector org ...`) changed with one
// cheap read per poll.
import { MeerkatError } from '../../shared/errors.js';
import { checkOrgId } from '../../shared/orgs/org-id.js';
import { getMeta, setMeta, type CollectorDatabase } from './collector-db.js';

export const ORG_STATES = ['active', 'suspended', 'deleted'] as const;
export type OrgState = (typeof ORG_STATES)[number];

export interface OrgRecord {
  id: string;
  name: string;
  state: OrgState;
  stateReason: string;
  /** the pre-organisation root signs this organisation's agents itself (an installation migrated into `default`) */
  legacyRoot: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** An organisation that is missing, in the wrong state, or already there. */
export class OrgStateError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_ORG_STATE';
  constructor(readonly reason: 'unknown' | 'exists' | 'deleted' | 'state', message: string) {
    super(message);
    this.name = 'OrgStateError';
  }
}

interface Row { id: string; name: string; state: OrgState; state_reason: string; legacy_root: number; created_at: number; updated_at: number }

function fromRow(r: Row): OrgRecord {
  return { id: r.id, name: r.name, state: r.state, stateReason: r.state_reason, legacyRoot: r.legacy_root === 1, createdAt: new Date(r.created_at), updatedAt: new Date(r.updated_at) };
}

export class OrgRegistry {
  constructor(private readonly db: CollectorDatabase, private readonly now: () => number = Date.now) {}

  private bump(): void {
    setMeta(this.db, 'orgs_version', String(Number(getMeta(this.db, 'orgs_version') ?? '0') + 1));
  }

  /** Increases with every change of any organisation (also by other processes). */
  version(): number {
    return Number(getMeta(this.db, 'orgs_version') ?? '0');
  }

  create(o: { id: string; name: string; legacyRoot?: boolean }): OrgRecord {
    checkOrgId(o.id);
    const name = o.name.trim().slice(0, 200) || o.id;
    const t = this.now();
    this.db.transaction(() => {
      const had = this.get(o.id);
      if (had) throw new OrgStateError(had.state === 'deleted' ? 'deleted' : 'exists', had.state === 'deleted'
        ? `organisation ${o.id} was deleted; its id is not given out again (its revoked certificates name it)`
        : `organisation ${o.id} exists already`);
      this.db.prepare('INSERT INTO orgs (id, name, state, legacy_root, created_at, updated_at) VALUES (?, ?, \'active\', ?, ?, ?)').run(o.id, name, o.legacyRoot ? 1 : 0, t, t);
      this.bump();
    })();
    return this.get(o.id)!;
  }

  get(id: string): OrgRecord | null {
    const r = this.db.prepare('SELECT * FROM orgs WHERE id = ?').get(id) as Row | undefined;
    return r ? fromRow(r) : null;
  }

  /** The organisation, or OrgStateError('unknown'). */
  require(id: string): OrgRecord {
    const o = this.get(id);
    if (!o) throw new OrgStateError('unknown', `no organisation ${JSON.stringify(id)} on this collector`);
    return o;
  }

  list(opts: { includeDeleted?: boolean } = {}): OrgRecord[] {
    const rows = this.db.prepare(`SELECT * FROM orgs ${opts.includeDeleted ? '' : "WHERE state != 'deleted'"} ORDER BY id`).all() as Row[];
    return rows.map(fromRow);
  }

  setState(id: string, state: OrgState, reason = ''): OrgRecord {
    this.db.transaction(() => {
      const o = this.require(id);
      if (o.state === 'deleted') throw new OrgStateError('deleted', `organisation ${id} was deleted`);
      this.db.prepare('UPDATE orgs SET state = ?, state_reason = ?, updated_at = ? WHERE id = ?').run(state, reason.slice(0, 500), this.now(), id);
      this.bump();
    })();
    return this.require(id);
  }

  rename(id: string, name: string): void {
    this.db.prepare('UPDATE orgs SET name = ?, updated_at = ? WHERE id = ?').run(name.trim().slice(0, 200), this.now(), id);
    this.bump();
  }

  // ---- agents ------------------------------------------------------------------------

  /** Records the organisation of a newly enrolled agent id (ids are unique on a collector). */
  assignAgent(agentId: string, org: string): void {
    this.db.prepare('INSERT INTO agent_orgs (agent_id, org, enrolled_at) VALUES (?, ?, ?)').run(agentId, org, this.now());
  }

  /** Records agents enrolled before organisations existed (migration); already known ones stay. */
  importAgents(agentIds: readonly string[], org: string): number {
    const ins = this.db.prepare('INSERT OR IGNORE INTO agent_orgs (agent_id, org, enrolled_at) VALUES (?, ?, ?)');
    let n = 0;
    this.db.transaction(() => { for (const a of agentIds) n += ins.run(a, org, this.now()).changes; })();
    return n;
  }

  orgOfAgent(agentId: string): string | null {
    return (this.db.prepare('SELECT org FROM agent_orgs WHERE agent_id = ?').get(agentId) as { org: string } | undefined)?.org ?? null;
  }

  /** Agents of the organisation that are not revoked (the agents quota counts these). */
  countAgents(org: string): number {
    return (this.db.prepare('SELECT count(*) AS n FROM agent_orgs WHERE org = ? AND revoked_at IS NULL').get(org) as { n: number }).n;
  }

  agentsOf(org: string): string[] {
    return (this.db.prepare('SELECT agent_id FROM agent_orgs WHERE org = ? ORDER BY agent_id').all(org) as { agent_id: string }[]).map((r) => r.agent_id);
  }

  markAgentRevoked(agentId: string): void {
    this.db.prepare('UPDATE agent_orgs SET revoked_at = ? WHERE agent_id = ? AND revoked_at IS NULL').run(this.now(), agentId);
  }

  markOrgAgentsRevoked(org: string): number {
    return this.db.prepare('UPDATE agent_orgs SET revoked_at = ? WHERE org = ? AND revoked_at IS NULL').run(this.now(), org).changes;
  }
}
