// What the host-local sub-commands (`meerkat-collector org ...`, `token ...`) write to
// PostgreSQL when the collector configuration has a `scaleOut` section (docs/scale-out.md
// "Organisations"): the front-ends read organisations, agents and tokens from there, not from
// this host's collector.db. An organisation is provisioned on the host that holds the PKI (its
// CA key is made there, as in the single process) and published: its row, state and CA
// certificate, and the agents this host enrolled into it. Tokens are made, listed and revoked
// in PostgreSQL directly.
import type pg from 'pg';
import { hasOrgCa, readOrgCaCert } from '../../certs/org-ca.js';
import { certFingerprintB64, certFingerprintHex } from '../../certs/fingerprint.js';
import { readCaCert } from '../../certs/pki-dir.js';
import { checkOrgId } from '../../shared/orgs/org-id.js';
import { openPgPool } from '../../shared/store/postgres/pg-connect.js';
import type { CollectorServerConfig } from '../server/server-config.js';
import type { CollectorState } from '../orgs/collector-state.js';
import { effectiveOrgConfig, loadOrgConfig } from '../orgs/org-config.js';
import { orgPaths } from '../orgs/org-paths.js';
import { tokenView, type IssuedToken, type TokenDirs, type TokenRequest, type TokenView } from '../setup/enroll-tokens.js';
import { PgOrgRecords } from './org-records.js';
import { pgOptionsOf, scaleOutConfigFrom } from './scale-config.js';

export interface ScaleOutRecords {
  records: PgOrgRecords;
  close(): Promise<void>;
}

/** The organisation records of the configuration's scale-out PostgreSQL, or null when it has no `scaleOut` section. */
export async function openScaleOutRecords(cfg: CollectorServerConfig): Promise<ScaleOutRecords | null> {
  if ((cfg as Record<string, unknown>).scaleOut === undefined) return null;
  const pool: pg.Pool = openPgPool(pgOptionsOf(scaleOutConfigFrom(cfg, {}), 2));
  try {
    const records = await PgOrgRecords.open(pool);
    return { records, close: () => pool.end() };
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
}

/** Runs fn with the scale-out records when the configuration has them, else returns null without connecting. */
export async function withScaleOutRecords<T>(cfg: CollectorServerConfig, fn: (r: PgOrgRecords) => Promise<T>): Promise<T | null> {
  const so = await openScaleOutRecords(cfg);
  if (!so) return null;
  try {
    return await fn(so.records);
  } finally {
    await so.close();
  }
}

/**
 * Writes an organisation of this host's collector.db to PostgreSQL: its state, its CA
 * certificate (never its key), its quotas (the collector config's `quotas` with its org.json's
 * over them, as the single process applies them) and the agents enrolled into it here. Returns
 * how many agents were new to PostgreSQL.
 */
export async function publishOrganisation(records: PgOrgRecords, s: CollectorState, id: string, cfg: CollectorServerConfig): Promise<{ agents: number }> {
  const o = s.orgs.require(checkOrgId(id));
  const caCerts = !o.legacyRoot && hasOrgCa(s.pkiDir, id) ? [readOrgCaCert(s.pkiDir, id)] : [];
  await records.put({ id, name: o.name, state: o.state, stateReason: o.stateReason, legacyRoot: o.legacyRoot, caCerts });
  if (o.state !== 'deleted') {
    const paths = orgPaths(s.stateDir, id);
    await records.setQuotas(id, effectiveOrgConfig(cfg, id, loadOrgConfig(paths.config), paths.config).quotas);
  }
  const agents = o.state === 'deleted' ? 0 : await records.importAgents(s.orgs.agentsOf(id), id);
  if (o.state === 'deleted') await records.deleteOrgTokens(id);
  return { agents };
}

/** A token of the organisation in PostgreSQL, pinning this host's root (what the front-ends serve). */
export async function issuePgToken(records: PgOrgRecords, dirs: TokenDirs, req: TokenRequest): Promise<IssuedToken> {
  const caPem = readCaCert(dirs.pkiDir);
  const t = await records.createToken({ org: req.org ?? 'default', uses: req.uses, expiresInSec: req.expiresInSec, caFingerprint: certFingerprintB64(caPem), label: req.label ?? '' });
  return { token: t.token, id: t.id, org: t.org, uses: t.uses, expiresAt: t.expiresAt.toISOString(), label: req.label ?? '', caFingerprintSha256: certFingerprintHex(caPem) };
}

export async function listPgTokens(records: PgOrgRecords, org?: string, now = Date.now()): Promise<TokenView[]> {
  return (await records.listTokens(org)).map((r) => tokenView(r, now));
}

export async function revokePgToken(records: PgOrgRecords, id: string, org?: string, now = Date.now()): Promise<{ token: TokenView; alreadyRevoked: boolean }> {
  const r = await records.revokeToken(id, org === undefined ? {} : { org });
  return { token: tokenView(r.row, now), alreadyRevoked: r.alreadyRevoked };
}
