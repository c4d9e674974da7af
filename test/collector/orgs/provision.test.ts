// Provisioning and decommissioning with real parts (PKI on disk, collector.db, token store):
// create makes the organisation's CA and first token; the default organisation of a fresh
// installation needs no step; delete revokes its CA and every agent it issued to in one new
// signed list and CRL, removes tokens, memberships, the CA key and the data, and is audited.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPki, loadRevocations, pkiPaths } from '../../../certs/pki-dir.js';
import { EnrollTokenStore } from '../../../certs/enroll-tokens.js';
import { hasOrgCa, loadOrgCa, orgCaPaths, recordOrgIssuance } from '../../../certs/org-ca.js';
import { signAgentCsr } from '../../../certs/issue-certificates.js';
import { createAgentCsr, generateAgentKey } from '../../../certs/agent-csr.js';
import { parseEnrollToken } from '../../../certs/enroll-token-format.js';
import { fingerprintMatches } from '../../../certs/fingerprint.js';
import { openCollectorState, type CollectorState } from '../../../collector/orgs/collector-state.js';
import { OrgStateError } from '../../../collector/orgs/org-registry.js';
import { orgPaths } from '../../../collector/orgs/org-paths.js';
import { createOrganisation, deleteOrganisation, ORG_CA_REVOCATION_PREFIX, resumeOrganisation, suspendOrganisation } from '../../../collector/orgs/provision.js';

describe('organisations: provisioning and decommissioning', function () {
  this.timeout(120_000);
  let dir: string;
  let pki: string;
  let s: CollectorState;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-provision-'));
    pki = join(dir, 'pki');
    initPki(pki, { serverNames: ['collector.test'], serverBits: 2048 });
    s = openCollectorState({ stateDir: dir, pkiDir: pki });
  });
  after(() => {
    s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a fresh installation has the default organisation, with a CA of its own, without a step', () => {
    assert.deepEqual(s.orgs.list().map((o) => [o.id, o.state, o.legacyRoot]), [['default', 'active', false]]);
    assert.ok(hasOrgCa(pki, 'default'));
    assert.ok(s.audit.list().some((e) => e.action === 'org.create' && e.org === 'default'));
  });

  it('create: the organisation CA (root-signed, pathlen 0), its folder, a first token pinning the root', () => {
    const r = createOrganisation(s, { id: 'acme', name: 'Acme Ltd', actor: 'cli:test', firstToken: { uses: 2, expiresInSec: 3600 }, caBits: 2048 });
    assert.equal(r.org.state, 'active');
    assert.equal(r.org.name, 'Acme Ltd');
    assert.ok(existsSync(orgPaths(dir, 'acme').dir));
    const ca = new X509Certificate(readFileSync(orgCaPaths(pki, 'acme').caCert, 'utf8'));
    assert.ok(ca.checkIssued(new X509Certificate(readFileSync(pkiPaths(pki).caCert, 'utf8'))));
    assert.equal(ca.fingerprint256, r.caFingerprintHex);
    const t = parseEnrollToken(r.token!.token);
    assert.ok(fingerprintMatches(readFileSync(pkiPaths(pki).caCert, 'utf8'), t.caFingerprint), 'the token pins the root agents verify the collector with');
    const store = EnrollTokenStore.open(dir);
    try {
      assert.equal(store.peek(r.token!.token).org, 'acme');
    } finally {
      store.close();
    }
    assert.throws(() => createOrganisation(s, { id: 'acme', actor: 'x' }), (e: unknown) => e instanceof OrgStateError && e.reason === 'exists');
    assert.throws(() => createOrganisation(s, { id: 'Acme!', actor: 'x' }), /organisation id/);
  });

  it('an interrupted create (CA made, row not) finishes when run again', () => {
    // as if the process died after the CA was written
    const root = loadOrgCa(pki, 'acme');
    void root;
    mkdirSync(join(pki, 'orgs', 'half'), { recursive: true });
    createOrganisation(s, { id: 'half', actor: 'x', caBits: 2048 });
    s.orgs.setState('half', 'deleted');
    assert.ok(hasOrgCa(pki, 'half'));
  });

  it('suspend and resume change the state and are audited; tokens of a suspended organisation are not made', () => {
    suspendOrganisation(s, 'acme', { actor: 'cli:test', reason: 'unpaid' });
    assert.equal(s.orgs.get('acme')!.state, 'suspended');
    assert.equal(s.orgs.get('acme')!.stateReason, 'unpaid');
    resumeOrganisation(s, 'acme', { actor: 'cli:test' });
    assert.equal(s.orgs.get('acme')!.state, 'active');
    const acts = s.audit.list({ org: 'acme' }).map((e) => e.action);
    assert.deepEqual(acts.filter((a) => a.startsWith('org.')), ['org.create', 'org.suspend', 'org.resume']);
  });

  it('delete: CA and every agent certificate revoked (openssl sees the serials), tokens, memberships, key and data gone; the id is not given out again', () => {
    const ca = loadOrgCa(pki, 'acme');
    const key = generateAgentKey(2048);
    const agents = ['3b1f6a52-9c1e-4d6f-8a2b-0c4d5e6f7a8b', '7c2d8e90-1f3a-4b5c-9d6e-7f8a9b0c1d2e'];
    const serials: string[] = [];
    for (const a of agents) {
      const c = signAgentCsr(ca, createAgentCsr(key), a, { org: 'acme' });
      recordOrgIssuance(pki, 'acme', { agentId: a, serial: c.serial, notBefore: '', notAfter: '', issuedAt: '', kind: 'enroll' });
      s.orgs.assignAgent(a, 'acme');
      serials.push(c.serial);
    }
    s.users.addCertificateUser('alice');
    s.users.grant('alice', 'acme', 'admin');
    writeFileSync(join(orgPaths(dir, 'acme').dir, 'meerkat.db'), 'x'.repeat(1000));
    const caSerial = new X509Certificate(ca.certPem).serialNumber;
    const r = deleteOrganisation(s, 'acme', { actor: 'cli:test', reason: 'contract ended' });
    assert.equal(r.agentsRevoked, 2);
    assert.equal(r.certificatesRevoked, 3);
    assert.equal(r.tokensDeleted, 1);
    assert.equal(r.membershipsRemoved, 1);
    assert.ok(r.bytesRemoved >= 1000);
    const rev = loadRevocations(pki);
    for (const a of agents) assert.ok(rev.isAgentRevoked(a));
    assert.ok(rev.isRevoked(ORG_CA_REVOCATION_PREFIX + 'acme', caSerial));
    const crl = spawnSync('openssl', ['crl', '-in', pkiPaths(pki).crl, '-noout', '-text'], { encoding: 'utf8' }).stdout.toUpperCase();
    for (const sn of [...serials, caSerial]) assert.ok(crl.includes(sn.toUpperCase().replace(/^0+/, '')), `CRL lists ${sn}`);
    assert.equal(existsSync(orgCaPaths(pki, 'acme').caKey), false, 'the CA key is destroyed');
    assert.equal(existsSync(orgCaPaths(pki, 'acme').caCert), true, 'its certificate stays (revoked)');
    assert.equal(existsSync(orgPaths(dir, 'acme').dir), false);
    assert.equal(s.orgs.get('acme')!.state, 'deleted');
    assert.deepEqual(s.users.get('alice')!.memberships, []);
    assert.throws(() => createOrganisation(s, { id: 'acme', actor: 'x' }), (e: unknown) => e instanceof OrgStateError && e.reason === 'deleted');
    const row = s.audit.list({ action: 'org.delete' })[0]!;
    assert.equal(row.org, 'acme');
    assert.equal((row.detail as { reason: string }).reason, 'contract ended');
    // the other organisations are untouched
    assert.equal(s.orgs.get('default')!.state, 'active');
    assert.ok(hasOrgCa(pki, 'default') && existsSync(orgCaPaths(pki, 'default').caKey));
  });
});
