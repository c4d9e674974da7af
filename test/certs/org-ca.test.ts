// Organisation CAs: the root (pathlen 1) signs one CA per organisation (pathlen 0, OU=org),
// which signs that organisation's agents (OU=org); the organisation of a certificate is told
// from the CA whose signature it carries, never from its OU alone. openssl checks the chains
// and the constraints the same way; a pre-organisation root certified again with pathlen 1
// still verifies what it signed before.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caPathLen, createCa, createIntermediateCa, recertifyRoot } from '../../certs/certificate-authority.js';
import { signAgentCsr } from '../../certs/issue-certificates.js';
import { createAgentCsr, generateAgentKey } from '../../certs/agent-csr.js';
import { createOrgCa, destroyOrgCaKey, loadOrgCa, orgCaPaths, orgOfAgentCert, OrgCaExistsError, type AgentIssuer } from '../../certs/org-ca.js';
import { splitPemCertificates, verifyChainToRoot } from '../../certs/cert-chain.js';
import { initPki, pkiPaths, replaceRootCert } from '../../certs/pki-dir.js';
import { loadCa } from '../../certs/certificate-authority.js';
import { KeyFileError } from '../../shared/keys/key-file-error.js';

const A1 = '3b1f6a52-9c1e-4d6f-8a2b-0c4d5e6f7a8b';
const B1 = '7c2d8e90-1f3a-4b5c-9d6e-7f8a9b0c1d2e';

function opensslVerify(dir: string, root: string, chain: string[], leaf: string): { ok: boolean; out: string } {
  const files = { root: join(dir, 'v-root.pem'), chain: join(dir, 'v-chain.pem'), leaf: join(dir, 'v-leaf.pem') };
  writeFileSync(files.root, root);
  writeFileSync(files.chain, chain.join(''));
  writeFileSync(files.leaf, leaf);
  const r = spawnSync('openssl', ['verify', '-CAfile', files.root, ...(chain.length ? ['-untrusted', files.chain] : []), '-purpose', 'sslclient', files.leaf], { encoding: 'utf8' });
  return { ok: r.status === 0, out: r.stdout + r.stderr };
}

describe('pki: organisation CAs', function () {
  this.timeout(60_000);
  let dir: string;
  const key = generateAgentKey(2048);
  const csr = createAgentCsr(key);
  const root = createCa({ bits: 3072 });
  const caA = createIntermediateCa(root, { org: 'acme', bits: 2048 });
  const caB = createIntermediateCa(root, { org: 'blue', bits: 2048 });
  const issuers: AgentIssuer[] = [
    { org: 'acme', cert: new X509Certificate(caA.certPem), legacyRoot: false },
    { org: 'blue', cert: new X509Certificate(caB.certPem), legacyRoot: false },
  ];
  before(() => { dir = mkdtempSync(join(tmpdir(), 'meerkat-orgca-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('root pathlen 1, organisation CA pathlen 0 with OU=org; openssl verifies leaf -> org CA -> root', () => {
    assert.equal(caPathLen(root), 1);
    assert.equal(caPathLen(caA), 0);
    const x = new X509Certificate(caA.certPem);
    assert.ok(x.ca);
    assert.match(x.subject, /OU=acme/);
    const leaf = signAgentCsr(caA, csr, A1, { org: 'acme' });
    assert.match(new X509Certificate(leaf.certPem).subject, /OU=acme/);
    const v = opensslVerify(dir, root.certPem, [caA.certPem], leaf.certPem);
    assert.ok(v.ok, v.out);
    // pathlen 0 of the organisation CA: a CA it signed cannot sign agents (openssl refuses the chain)
    // (another name: a CA certificate whose subject equals its issuer's is "self-issued" and RFC 5280 does not count it)
    const sub = createIntermediateCa(caA, { org: 'acme-sub', bits: 2048 });
    const deep = signAgentCsr(sub, csr, A1, { org: 'acme' });
    assert.equal(opensslVerify(dir, root.certPem, [sub.certPem, caA.certPem], deep.certPem).ok, false);
    // a pathlen-0 root cannot have organisation CAs at all
    const old = createCa({ bits: 3072, pathLen: 0 });
    const underOld = createIntermediateCa(old, { org: 'acme', bits: 2048 });
    const l2 = signAgentCsr(underOld, csr, A1, { org: 'acme' });
    const refused = opensslVerify(dir, old.certPem, [underOld.certPem], l2.certPem);
    assert.equal(refused.ok, false);
    assert.match(refused.out, /path length/i);
  });

  it('the organisation of a certificate is its signer\'s; an OU naming another organisation is refused', () => {
    const good = new X509Certificate(signAgentCsr(caA, csr, A1, { org: 'acme' }).certPem);
    assert.deepEqual(orgOfAgentCert(good, issuers), { ok: true, org: 'acme', issuer: issuers[0] });
    // signed by acme's CA, claiming blue
    const forgedOu = new X509Certificate(signAgentCsr(caA, csr, B1, { org: 'blue' }).certPem);
    const r = orgOfAgentCert(forgedOu, issuers);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, 'org-mismatch');
    assert.equal(!r.ok && r.reason === 'org-mismatch' && r.org, 'acme');
    // no OU at all under an organisation CA
    const noOu = new X509Certificate(signAgentCsr(caA, csr, A1).certPem);
    assert.equal(orgOfAgentCert(noOu, issuers).ok, false);
    // a CA someone made with the very same name as blue's: its leaves carry no signature of ours
    const lookalike = createIntermediateCa(createCa({ bits: 3072 }), { org: 'blue', bits: 2048 });
    assert.equal(new X509Certificate(lookalike.certPem).subject, new X509Certificate(caB.certPem).subject);
    const fake = new X509Certificate(signAgentCsr(lookalike, csr, B1, { org: 'blue' }).certPem);
    const u = orgOfAgentCert(fake, issuers);
    assert.equal(!u.ok && u.reason, 'unknown-issuer');
  });

  it('under a legacy root, its leaves without OU belong to the organisation it stands for; another OU is refused', () => {
    const legacy = createCa({ bits: 3072, pathLen: 0 });
    const li: AgentIssuer[] = [{ org: 'default', cert: new X509Certificate(legacy.certPem), legacyRoot: true }, ...issuers];
    const old = new X509Certificate(signAgentCsr(legacy, csr, A1).certPem);
    const v = orgOfAgentCert(old, li);
    assert.equal(v.ok && v.org, 'default');
    const claims = new X509Certificate(signAgentCsr(legacy, csr, A1, { org: 'acme' }).certPem);
    assert.equal(orgOfAgentCert(claims, li).ok, false);
  });

  it('a pathlen-0 root certified again (same key, pathlen 1) still verifies what it signed, and can sign organisation CAs', () => {
    const old = createCa({ bits: 3072, pathLen: 0 });
    const oldLeaf = signAgentCsr(old, csr, A1);
    const again = recertifyRoot(old, 1);
    assert.equal(caPathLen(again), 1);
    assert.equal(new X509Certificate(again.certPem).subject, new X509Certificate(old.certPem).subject);
    assert.notEqual(again.certPem, old.certPem);
    // an agent pinned on the old certificate, the collector on the new one: both verify the old leaf
    assert.ok(opensslVerify(dir, old.certPem, [], oldLeaf.certPem).ok);
    assert.ok(opensslVerify(dir, again.certPem, [], oldLeaf.certPem).ok);
    const ca = createIntermediateCa(again, { org: 'acme', bits: 2048 });
    const leaf = signAgentCsr(ca, csr, A1, { org: 'acme' });
    assert.ok(opensslVerify(dir, again.certPem, [ca.certPem], leaf.certPem).ok);
    // what the agent checks: its chain file against the root it pinned (old or new, same key)
    assert.ok(verifyChainToRoot(leaf.certPem + ca.certPem, old.certPem).ok);
  });

  it('PKI files: created once (0600 key), loaded, refused twice, key destroyed at decommissioning', () => {
    const pki = join(dir, 'pki');
    initPki(pki, { serverNames: ['collector.test'], serverBits: 2048 });
    const r = loadCa(pkiPaths(pki).caCert, pkiPaths(pki).caKey);
    assert.equal(caPathLen(r), 1, 'a new root has pathlen 1');
    const made = createOrgCa(pki, 'acme', r, { bits: 2048 });
    assert.equal(execFileSync('stat', ['-c', '%a', made.paths.caKey], { encoding: 'utf8' }).trim(), '600');
    assert.equal(loadOrgCa(pki, 'acme').certPem, made.ca.certPem);
    assert.throws(() => createOrgCa(pki, 'acme', r, { bits: 2048 }), OrgCaExistsError);
    assert.throws(() => orgCaPaths(pki, '../etc'), /organisation id/);
    destroyOrgCaKey(pki, 'acme');
    assert.throws(() => loadOrgCa(pki, 'acme'), KeyFileError);
    assert.ok(readFileSync(made.paths.caCert, 'utf8').includes('BEGIN CERTIFICATE'), 'the certificate stays');
    // replacing the root certificate rewrites the server chain behind it
    replaceRootCert(pki, recertifyRoot(r, 1));
    const chain = splitPemCertificates(readFileSync(pkiPaths(pki).serverCert, 'utf8'));
    assert.equal(chain.length, 2);
    assert.equal(chain[1]!.trim(), readFileSync(pkiPaths(pki).caCert, 'utf8').trim());
  });
});

describe('pki: certificate chains as the agent holds them', () => {
  const key = generateAgentKey(2048);
  const csr = createAgentCsr(key);
  const root = createCa({ bits: 3072 });
  const ca = createIntermediateCa(root, { org: 'acme', bits: 2048 });
  const other = createIntermediateCa(createCa({ bits: 3072 }), { org: 'acme', bits: 2048 });

  it('accepts leaf + organisation CA, and a leaf signed by the root itself; names what is wrong otherwise', () => {
    const leaf = signAgentCsr(ca, csr, A1, { org: 'acme' }).certPem;
    const ok = verifyChainToRoot(leaf + ca.certPem, root.certPem);
    assert.ok(ok.ok);
    assert.ok(ok.ok && ok.leaf.checkPrivateKey(key));
    assert.ok(verifyChainToRoot(signAgentCsr(root, csr, A1).certPem, root.certPem).ok, 'pre-organisation: root-signed');
    const cases: Array<[string, string, RegExp]> = [
      ['leaf alone, intermediate missing', leaf, /not signed by the pinned CA/],
      ['another root\'s intermediate', signAgentCsr(other, csr, A1, { org: 'acme' }).certPem + other.certPem, /chain certificate 1 is not signed by the pinned CA/],
      ['a leaf in place of the CA', leaf + leaf, /not a CA|not signed/],
      ['too many intermediates', leaf + ca.certPem + ca.certPem, /at most 1/],
      ['nothing', 'hello', /no certificate/],
    ];
    for (const [what, pem, re] of cases) {
      const v = verifyChainToRoot(pem, root.certPem);
      assert.equal(v.ok, false, what);
      assert.match(!v.ok ? v.detail : '', re, what);
    }
  });
});
