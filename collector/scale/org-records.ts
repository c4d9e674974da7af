// The collector-wide organisation records of a scale-out deployment, in PostgreSQL's `meerkat`
// schema (docs/scale-out.md "Organisations"), so that every front-end sees the same
// organisations: each one's state and quotas, the CA certificate(s) its agents' chains are
// verified against (certificates only: the signing keys stay in the PKI directory of the hosts
// that enroll, docs/organisations.md), which organisation every enrolled agent id belongs to,
// and the enrollment tokens (only the SHA-256 of the secret, as in certs/enroll-tokens.ts).
// A token is used in one transaction that locks its row and its organisation's row, checks
// both, takes the use and records the new agent's organisation: two front-ends using the same
// single-use token at once enroll one agent, and an organisation's agents quota holds across
// front-ends.
import type pg from 'pg';
import {
  checkTokenIdPrefix, enrollTokenHash, mintEnrollToken, refuseUnusable, tokenRowOf, TokenIdError,
  type CreateEnrollTokenOptions, type EnrollTokenCreated, type EnrollTokenDbRow, type EnrollTokenRow,
} from '../../certs/enroll-tokens.js';
import { checkOrgId } from '../../shared/orgs/org-id.js';
import { inPgTransaction } from '../../shared/store/postgres/pg-transaction.js';
import { EnrollRefusedError, type EnrollTokenSource } from '../server/enroll-handler.js';
import { quotasSchema, type Quotas } from '../orgs/org-quotas.js';
import { OrgStateError, type OrgState } from '../orgs/org-registry.js';

export interface PgOrgRecord {
  id: string;
  name: string;
  state: OrgState;
  stateReason: string;
  /** the collector root signs this organisation's agents itself (a pre-organisation installation's `default`) */
  legacyRoot: boolean;
  /** PEM certificates of the CA(s) that sign its agents (several while a CA is replaced) */
  caCerts: string[];
  quotas: Quotas;
  updatedMs: number;
}

const DDL = `
  CREATE SCHEMA IF NOT EXISTS meerkat;
  CREATE TABLE IF NOT EXISTS meerkat.orgs (
    id text PRIMARY KEY, name text NOT NULL,
    state text NOT NULL CHECK (state IN ('active', 'suspended', 'deleted')), state_reason text NOT NULL DEFAULT '',
    legacy_root boolean NOT NULL DEFAULT false, ca_certs text[] NOT NULL DEFAULT '{}', quotas jsonb NOT NULL DEFAULT '{}',
    created_ms bigint NOT NULL, updated_ms bigint NOT NULL);
  CREATE TABLE IF NOT EXISTS meerkat.agent_orgs (
    agent_id text PRIMARY KEY, org text NOT NULL REFERENCES meerkat.orgs (id), enrolled_ms bigint NOT NULL, revoked_ms bigint);
  CREATE INDEX IF NOT EXISTS agent_orgs_org ON meerkat.agent_orgs (org);
  CREATE TABLE IF NOT EXISTS meerkat.enroll_tokens (
    hash text PRIMARY KEY, org text NOT NULL REFERENCES meerkat.orgs (id), uses_left integer NOT NULL, uses_total integer NOT NULL,
    created_at bigint NOT NULL, expires_at bigint NOT NULL, revoked_at bigint, label text NOT NULL DEFAULT '');
  CREATE INDEX IF NOT EXISTS enroll_tokens_org ON meerkat.enroll_tokens (org);
`;

interface OrgRow { id: string; name: string; state: OrgState; state_reason: string; legacy_root: boolean; ca_certs: string[]; quotas: unknown; updated_ms: number }

function fromRow(r: OrgRow): PgOrgRecord {
  // quotas are written only through setQuotas (validated); a row edited by hand into nonsense means no quota, not a crash
  const q = quotasSchema.safeParse(r.quotas);
  return { id: r.id, name: r.name, state: r.state, stateReason: r.state_reason, legacyRoot: r.legacy_root, caCerts: r.ca_certs, quotas: q.success ? q.data : {}, updatedMs: r.updated_ms };
}

export class PgOrgRecords {
  private constructor(private readonly pool: pg.Pool, private readonly now: () => number) {}

  /** Creates the tables when missing (safe from many processes at once) and returns the records. The pool stays the caller's. */
  static async open(pool: pg.Pool, o: { now?: () => number } = {}): Promise<PgOrgRecords> {
    await inPgTransaction(pool, async (c) => {
      // the same lock as the flow store's schema creation (shared/store/postgres/pg-schema.ts)
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('meerkat-schema'))`);
      await c.query(DDL);
    });
    return new PgOrgRecords(pool, o.now ?? Date.now);
  }

  // ---- organisations -------------------------------------------------------------------

  async list(o: { includeDeleted?: boolean } = {}): Promise<PgOrgRecord[]> {
    const r = await this.pool.query<OrgRow>(`SELECT * FROM meerkat.orgs ${o.includeDeleted ? '' : "WHERE state <> 'deleted'"} ORDER BY id`);
    return r.rows.map(fromRow);
  }

  async get(id: string): Promise<PgOrgRecord | null> {
    const r = await this.pool.query<OrgRow>('SELECT * FROM meerkat.orgs WHERE id = $1', [id]);
    return r.rows[0] ? fromRow(r.rows[0]) : null;
  }

  /**
   * Writes an organisation as the host that provisions it knows it (`org create` on a host whose
   * configuration has a scaleOut section, or a front-end taking the organisations of its
   * `scaleOut.orgs` from its PKI directory). `onlyIfMissing`: an organisation already there is
   * left as it is (front-ends starting together). Returns whether a row was written.
   */
  async put(rec: { id: string; name?: string; state?: OrgState; stateReason?: string; legacyRoot?: boolean; caCerts: string[] }, o: { onlyIfMissing?: boolean } = {}): Promise<boolean> {
    const id = checkOrgId(rec.id);
    const t = this.now();
    const r = await this.pool.query(
      `INSERT INTO meerkat.orgs (id, name, state, state_reason, legacy_root, ca_certs, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
       ON CONFLICT (id) DO ${o.onlyIfMissing ? 'NOTHING' : `UPDATE SET name = EXCLUDED.name, state = EXCLUDED.state, state_reason = EXCLUDED.state_reason,
         legacy_root = EXCLUDED.legacy_root, ca_certs = EXCLUDED.ca_certs, updated_ms = EXCLUDED.updated_ms
         WHERE meerkat.orgs.state <> 'deleted'`}`,
      [id, rec.name ?? id, rec.state ?? 'active', rec.stateReason ?? '', rec.legacyRoot ?? false, rec.caCerts, t]);
    return (r.rowCount ?? 0) > 0;
  }

  /** Suspends, resumes or deletes an organisation (a deleted one stays deleted). @throws OrgStateError */
  async setState(id: string, state: OrgState, reason = ''): Promise<PgOrgRecord> {
    const r = await this.pool.query<OrgRow>(
      `UPDATE meerkat.orgs SET state = $2, state_reason = $3, updated_ms = $4 WHERE id = $1 AND state <> 'deleted' RETURNING *`, [id, state, reason.slice(0, 500), this.now()]);
    if (r.rows[0]) return fromRow(r.rows[0]);
    const had = await this.get(id);
    if (!had) throw new OrgStateError('unknown', `no organisation ${JSON.stringify(id)} in PostgreSQL`);
    throw new OrgStateError('deleted', `organisation ${id} was deleted`);
  }

  /** The organisation's quotas on the front-ends (validated; `{}`: the defaults of scaleOut). @throws OrgStateError */
  async setQuotas(id: string, quotas: Quotas): Promise<void> {
    const q = quotasSchema.parse(quotas);
    const r = await this.pool.query('UPDATE meerkat.orgs SET quotas = $2, updated_ms = $3 WHERE id = $1', [id, JSON.stringify(q), this.now()]);
    if ((r.rowCount ?? 0) === 0) throw new OrgStateError('unknown', `no organisation ${JSON.stringify(id)} in PostgreSQL`);
  }

  // ---- agents --------------------------------------------------------------------------

  /** The organisation an agent id was enrolled into, or null. */
  async orgOfAgent(agentId: string): Promise<{ org: string; revoked: boolean } | null> {
    const r = await this.pool.query<{ org: string; revoked_ms: number | null }>('SELECT org, revoked_ms FROM meerkat.agent_orgs WHERE agent_id = $1', [agentId]);
    const row = r.rows[0];
    return row ? { org: row.org, revoked: row.revoked_ms !== null } : null;
  }

  /** Agents of the organisation that are not revoked (its agents quota counts these). */
  async countAgents(org: string, c: pg.Pool | pg.PoolClient = this.pool): Promise<number> {
    const r = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM meerkat.agent_orgs WHERE org = $1 AND revoked_ms IS NULL', [org]);
    return r.rows[0]!.n;
  }

  /** Records agents enrolled elsewhere (a single-process installation moved to scale-out); known ones stay. */
  async importAgents(agentIds: readonly string[], org: string): Promise<number> {
    if (agentIds.length === 0) return 0;
    const r = await this.pool.query(
      'INSERT INTO meerkat.agent_orgs (agent_id, org, enrolled_ms) SELECT unnest($1::text[]), $2, $3 ON CONFLICT (agent_id) DO NOTHING', [agentIds, org, this.now()]);
    return r.rowCount ?? 0;
  }

  async markAgentRevoked(agentId: string): Promise<void> {
    await this.pool.query('UPDATE meerkat.agent_orgs SET revoked_ms = $2 WHERE agent_id = $1 AND revoked_ms IS NULL', [agentId, this.now()]);
  }

  // ---- enrollment tokens ---------------------------------------------------------------

  /** A token for an active organisation; only its hash is stored. @throws OrgStateError */
  async createToken(opts: CreateEnrollTokenOptions): Promise<EnrollTokenCreated> {
    const now = this.now();
    const { hash, label, ...t } = mintEnrollToken(opts, now);
    const r = await this.pool.query(
      `INSERT INTO meerkat.enroll_tokens (hash, org, uses_left, uses_total, created_at, expires_at, label)
       SELECT $1, id, $3, $3, $4, $5, $6 FROM meerkat.orgs WHERE id = $2 AND state = 'active'`,
      [hash, t.org, t.uses, now, t.expiresAt.getTime(), label]);
    if ((r.rowCount ?? 0) === 0) {
      const o = await this.get(t.org);
      throw new OrgStateError(o ? 'state' : 'unknown', o ? `organisation ${t.org} is ${o.state}: no tokens for it` : `no organisation ${JSON.stringify(t.org)} in PostgreSQL`);
    }
    return t;
  }

  /** The token's id and organisation if it could be used now. @throws EnrollTokenError */
  async peekToken(token: string): Promise<{ id: string; org: string }> {
    const hash = enrollTokenHash(token);
    const r = await this.pool.query<EnrollTokenDbRow>('SELECT * FROM meerkat.enroll_tokens WHERE hash = $1', [hash]);
    refuseUnusable(r.rows[0], this.now());
    return { id: hash.slice(0, 12), org: r.rows[0]!.org };
  }

  /**
   * Takes one use of the token for `agentId` and records the agent's organisation, in one
   * transaction holding the token's row and its organisation's row: a concurrent use of the
   * same token (another front-end) waits and then finds no use left; a concurrent enrollment
   * into the same organisation waits, so the agents quota is exact.
   * @throws EnrollTokenError (token unknown, expired, used up, revoked), EnrollRefusedError (organisation suspended, deleted, at its agents quota)
   */
  async consumeToken(token: string, agentId: string): Promise<{ id: string; org: string }> {
    const hash = enrollTokenHash(token);
    return inPgTransaction(this.pool, async (c) => {
      const t = await c.query<EnrollTokenDbRow>('SELECT * FROM meerkat.enroll_tokens WHERE hash = $1 FOR UPDATE', [hash]);
      refuseUnusable(t.rows[0], this.now());
      const org = t.rows[0]!.org;
      const o = await c.query<OrgRow>('SELECT * FROM meerkat.orgs WHERE id = $1 FOR UPDATE', [org]);
      const rec = o.rows[0] ? fromRow(o.rows[0]) : null;
      if (!rec || rec.state === 'deleted') throw new EnrollRefusedError(403, 'org-deleted', `organisation ${org} was deleted`);
      if (rec.state === 'suspended') throw new EnrollRefusedError(403, 'org-suspended', `organisation ${org} is suspended: it enrolls no agents`);
      if (rec.quotas.agents !== undefined) {
        const n = await this.countAgents(org, c);
        if (n >= rec.quotas.agents) throw new EnrollRefusedError(403, 'quota-agents', `the organisation has ${n} agents, its quota is ${rec.quotas.agents}`);
      }
      await c.query('UPDATE meerkat.enroll_tokens SET uses_left = uses_left - 1 WHERE hash = $1', [hash]);
      await c.query('INSERT INTO meerkat.agent_orgs (agent_id, org, enrolled_ms) VALUES ($1, $2, $3)', [agentId, org, this.now()]);
      return { id: hash.slice(0, 12), org };
    });
  }

  /** Tokens, oldest first; only the organisation's when `org` is given. */
  async listTokens(org?: string): Promise<EnrollTokenRow[]> {
    const r = org === undefined
      ? await this.pool.query<EnrollTokenDbRow>('SELECT * FROM meerkat.enroll_tokens ORDER BY created_at')
      : await this.pool.query<EnrollTokenDbRow>('SELECT * FROM meerkat.enroll_tokens WHERE org = $1 ORDER BY created_at', [org]);
    return r.rows.map(tokenRowOf);
  }

  /** Revokes the token whose id is `id` or starts with it, as EnrollTokenStore.revoke does. @throws TokenIdError */
  async revokeToken(id: string, o: { org?: string } = {}): Promise<{ row: EnrollTokenRow; alreadyRevoked: boolean }> {
    const t = checkTokenIdPrefix(id);
    const hits = await this.pool.query<{ hash: string }>(
      `SELECT hash FROM meerkat.enroll_tokens WHERE left(hash, $1) = $2 ${o.org === undefined ? '' : 'AND org = $3'}`,
      o.org === undefined ? [t.length, t] : [t.length, t, o.org]);
    if (hits.rows.length === 0) throw new TokenIdError(`no token with id ${JSON.stringify(t)}${o.org === undefined ? '' : ` in organisation ${o.org}`}`);
    if (hits.rows.length > 1) throw new TokenIdError(`${JSON.stringify(t)} matches ${hits.rows.length} tokens; give more of the id`);
    const hash = hits.rows[0]!.hash;
    const changed = await this.pool.query('UPDATE meerkat.enroll_tokens SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL', [hash, this.now()]);
    const row = await this.pool.query<EnrollTokenDbRow>('SELECT * FROM meerkat.enroll_tokens WHERE hash = $1', [hash]);
    return { row: tokenRowOf(row.rows[0]!), alreadyRevoked: (changed.rowCount ?? 0) === 0 };
  }

  /** Deletes every token of an organisation (it is being decommissioned); returns how many. */
  async deleteOrgTokens(org: string): Promise<number> {
    return (await this.pool.query('DELETE FROM meerkat.enroll_tokens WHERE org = $1', [org])).rowCount ?? 0;
  }

  /** These records as the agent server's token source (the pool is not closed with it). */
  tokenSource(): EnrollTokenSource {
    return { peek: (t) => this.peekToken(t), consume: (t, agentId) => this.consumeToken(t, agentId), close: () => undefined };
  }
}
