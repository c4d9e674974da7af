// The host-local commands with a `scaleOut` section in the configuration (a PostgreSQL cluster
// started here): `org create` publishes the organisation (its CA certificate, never its key)
// and makes its first token in PostgreSQL, where the front-ends look; `token create|list|revoke`
// work on PostgreSQL's tokens; suspend and resume reach PostgreSQL; `org publish` writes an
// organisation made before, with its agents and its quotas; without the section `org publish`
// is a usage error.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { EnrollTokenStore } from '../../../certs/enroll-tokens.js';
import { readOrgCaCert } from '../../../certs/org-ca.js';
import { registerOrgCommands } from '../../../collector/commands/org.js';
import { registerTokenCommands } from '../../../collector/commands/token.js';
import { PgOrgRecords } from '../../../collector/scale/org-records.js';
import { orgPaths } from '../../../collector/orgs/org-paths.js';
import { openPgPool } from '../../../shared/store/postgres/pg-connect.js';
import { runCommand } from '../../helpers/cli-run.js';
import { issueAgent, makeTestPki, tmpDir, type TestPki } from '../../helpers/transport-rig.js';
import { startPgCluster, type PgCluster } from '../../helpers/pg-cluster.js';

describe('org and token commands with a scaleOut section (PostgreSQL)', function () {
  this.timeout(60_000);
  let root: string;
  let pgc: PgCluster | undefined;
  let pool: pg.Pool | undefined;
  let records: PgOrgRecords;
  let tp: TestPki;
  let cfg: string;
  let state: string;

  before(async () => {
    root = tmpDir('org-sync');
    pgc = await startPgCluster();
    pool = openPgPool({ url: pgc.url, passwordFile: pgc.passwordFile });
    records = await PgOrgRecords.open(pool);
    state = join(root, 'state');
    tp = makeTestPki(root, ['localhost'], ['127.0.0.1'], { stateDir: state });
    cfg = join(root, 'collector.json');
    writeFileSync(cfg, JSON.stringify({ stateDir: state, pkiDir: tp.dir, scaleOut: { natsUrl: 'nats://127.0.0.1:4222', pgUrl: pgc.url, pgPasswordFile: pgc.passwordFile } }));
  });
  after(async () => {
    await pool?.end();
    pgc?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('org create publishes the organisation and makes its first token in PostgreSQL', async () => {
    const r = await runCommand(registerOrgCommands, ['org', 'create', 'acme', '--config', cfg, '--ca-bits', '2048', '--json']);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out) as { scaleOut: boolean; token: { token: string; id: string } };
    assert.equal(out.scaleOut, true);
    const rec = await records.get('acme');
    assert.deepEqual([rec?.state, rec?.legacyRoot, rec?.caCerts], ['active', false, [readOrgCaCert(tp.dir, 'acme')]]);
    assert.ok(!rec!.caCerts.join('').includes('PRIVATE KEY'), 'no key in PostgreSQL');
    assert.deepEqual(await records.peekToken(out.token.token), { id: out.token.id, org: 'acme' });
    const local = EnrollTokenStore.open(state);
    try {
      assert.deepEqual(local.list('acme'), [], 'the token is not in this host\'s collector.db');
    } finally {
      local.close();
    }
  });

  it('token create, list and revoke work on PostgreSQL', async () => {
    const c = await runCommand(registerTokenCommands, ['token', 'create', '--org', 'acme', '--uses', '3', '--config', cfg, '--json']);
    assert.equal(c.code, 0, c.err);
    const t = JSON.parse(c.out) as { token: string; id: string; uses: number; caFingerprintSha256: string };
    assert.deepEqual(await records.peekToken(t.token), { id: t.id, org: 'acme' });
    const l = await runCommand(registerTokenCommands, ['token', 'list', '--org', 'acme', '--config', cfg, '--json']);
    assert.equal(l.code, 0, l.err);
    assert.equal(l.out.trim().split('\n').length, 2);
    const v = await runCommand(registerTokenCommands, ['token', 'revoke', t.id, '--config', cfg, '--json']);
    assert.equal(v.code, 0, v.err);
    assert.equal((await records.listTokens('acme')).find((x) => x.id === t.id)?.revokedAt instanceof Date, true);
    const unknown = await runCommand(registerTokenCommands, ['token', 'create', '--org', 'nobody', '--config', cfg]);
    assert.equal(unknown.code, 1, 'an organisation PostgreSQL does not hold gets no token');
    assert.match(unknown.err, /no organisation "nobody"/);
  });

  it('suspend and resume reach PostgreSQL', async () => {
    assert.equal((await runCommand(registerOrgCommands, ['org', 'suspend', 'acme', '--reason', 'unpaid', '--config', cfg])).code, 0);
    assert.deepEqual([(await records.get('acme'))?.state, (await records.get('acme'))?.stateReason], ['suspended', 'unpaid']);
    assert.equal((await runCommand(registerOrgCommands, ['org', 'resume', 'acme', '--config', cfg])).code, 0);
    assert.equal((await records.get('acme'))?.state, 'active');
  });

  it('org publish writes an organisation made before, with the agents enrolled into it here, and its quotas', async () => {
    const a = issueAgent(tp);
    assert.equal(await records.get('default'), null);
    const r = await runCommand(registerOrgCommands, ['org', 'publish', 'default', '--config', cfg, '--json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), { id: 'default', agents: 1 });
    assert.deepEqual(await records.orgOfAgent(a.agentId), { org: 'default', revoked: false });
    assert.equal((await records.get('default'))?.caCerts.length, 1);
    // the quotas of its org.json (over the collector config's) go with it
    writeFileSync(orgPaths(state, 'acme').config, JSON.stringify({ quotas: { dumpsPerSec: 7, agents: 3 } }));
    assert.equal((await runCommand(registerOrgCommands, ['org', 'publish', 'acme', '--config', cfg])).code, 0);
    assert.deepEqual((await records.get('acme'))?.quotas, { dumpsPerSec: 7, agents: 3 });
    const plain = join(root, 'plain.json');
    writeFileSync(plain, JSON.stringify({ stateDir: state, pkiDir: tp.dir }));
    const u = await runCommand(registerOrgCommands, ['org', 'publish', 'default', '--config', plain]);
    assert.equal(u.code, 2);
    assert.match(u.err, /no scaleOut section/);
  });
});
