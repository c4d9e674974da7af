import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate, randomUUID, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { initPki, loadPki, PkiExistsError, pkiPaths, revokeAgent, recordIssuance, loadRevocations } from '../../certs/pki-dir.js';
import { loadCa } from '../../certs/certificate-authority.js';
import { signAgentCsr, issueServerCert } from '../../certs/issue-certificates.js';
import { createAgentCsr, generateAgentKey } from '../../certs/agent-csr.js';
import { CsrError, RevocationListError } from '../../certs/errors.js';
import { KeyFileError } from '../../shared/keys/key-file-error.js';
import { randomSerialHex } from '../../certs/serial-number.js';
import { RevocationList } from '../../certs/revocation-list.js';
import { certFingerprintB64, fingerprintMatches } from '../../certs/fingerprint.js';

/** Runs openssl; out is stdout + stderr (openssl prints "verify OK" on stderr). */
function openssl(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

describe('pki: CA, server and agent certificates', function () {
  let root: string;
  let dir: string;
  const agentKey = generateAgentKey(2048);

  before(function () {
    root = mkdtempSync(join(tmpdir(), 'meerkat-pki-'));
    dir = join(root, 'pki');
    initPki(dir, { serverNames: ['collector.example', 'localhost'], serverIps: ['127.0.0.1', '::1'] });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('writes CA and server material with private keys 0600, verifiable by openssl', () => {
    const p = pkiPaths(dir);
    assert.equal(statSync(p.caKey).mode & 0o777, 0o600);
    assert.equal(statSync(p.serverKey).mode & 0o777, 0o600);
    assert.equal(statSync(p.caCert).mode & 0o077, 0o044); // public, not writable by others
    const v = openssl(['verify', '-CAfile', p.caCert, '-purpose', 'sslserver', p.serverCert]);
    assert.ok(v.ok, v.out);
    const ca = new X509Certificate(readFileSync(p.caCert));
    assert.ok(ca.ca);
    assert.equal((ca.publicKey.asymmetricKeyDetails?.modulusLength ?? 0) >= 3072, true);
    const server = new X509Certificate(readFileSync(p.serverCert));
    assert.match(server.subjectAltName ?? '', /DNS:collector\.example/);
    assert.match(server.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    assert.ok(server.checkHost('localhost'));
    assert.ok(server.checkIP('127.0.0.1'));
    assert.ok(server.verify(ca.publicKey));
  });

  it('refuses to overwrite an existing CA unless forced', () => {
    assert.throws(() => initPki(dir, { serverNames: ['x'] }), PkiExistsError);
  });

  it('generates positive serials whose first byte is never zero (OpenSSL 3 accepts them)', () => {
    for (let i = 0; i < 2000; i++) {
      const s = randomSerialHex();
      assert.equal(s.length, 32);
      const first = parseInt(s.slice(0, 2), 16);
      assert.ok(first > 0 && first < 0x80, `serial ${s}`);
    }
  });

  it('issues an agent certificate with CN = agent id and clientAuth only', () => {
    const pki = loadPki(dir);
    const agentId = randomUUID();
    const csr = createAgentCsr(agentKey);
    // the CSR never carries the host name
    assert.ok(!forge.pki.certificationRequestFromPem(csr).subject.getField('CN').value.includes(require_hostname()));
    const issued = signAgentCsr(pki.ca, csr, agentId);
    const cert = new X509Certificate(issued.certPem);
    assert.equal(cert.subject.split('\n').find((l) => l.startsWith('CN=')), `CN=${agentId}`);
    assert.ok(cert.checkPrivateKey(agentKey));
    const file = join(root, 'agent.crt');
    writeFileSync(file, issued.certPem);
    assert.ok(openssl(['verify', '-CAfile', pkiPaths(dir).caCert, '-purpose', 'sslclient', file]).ok);
    // not usable as a server certificate
    assert.ok(!openssl(['verify', '-CAfile', pkiPaths(dir).caCert, '-purpose', 'sslserver', file]).ok);
    const text = openssl(['x509', '-in', file, '-noout', '-ext', 'extendedKeyUsage']).out;
    assert.match(text, /TLS Web Client Authentication/);
    assert.doesNotMatch(text, /Server/);
  });

  it('rejects bad CSRs and bad agent ids with named errors', () => {
    const pki = loadPki(dir);
    const csr = createAgentCsr(agentKey);
    assert.throws(() => signAgentCsr(pki.ca, 'not a csr', randomUUID()), CsrError);
    // flip one byte inside the signature: the self-signature no longer verifies
    const f = forge.pki.certificationRequestFromPem(csr);
    const der = Buffer.from(forge.asn1.toDer(forge.pki.certificationRequestToAsn1(f)).getBytes(), 'binary');
    der[der.length - 5]! ^= 0xff;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.throws(() => signAgentCsr(pki.ca, tampered, randomUUID()), /signature does not verify/);
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    assert.throws(() => signAgentCsr(pki.ca, createAgentCsr(small), randomUUID()), /at least 2048 bits/);
    assert.throws(() => signAgentCsr(pki.ca, csr, 'my-laptop'), /agent id must be a lower-case UUID/);
  });

  it('reports missing, wrong and mismatched key files with KeyFileError naming the file', () => {
    const p = pkiPaths(dir);
    assert.throws(() => loadCa(join(root, 'nope.crt'), p.caKey), (e: unknown) => e instanceof KeyFileError && e.file.endsWith('nope.crt') && /does not exist/.test(e.message));
    const wrong = join(root, 'wrong.key');
    writeFileSync(wrong, 'hello');
    assert.throws(() => loadCa(p.caCert, wrong), (e: unknown) => e instanceof KeyFileError && e.file === wrong && /PEM/.test(e.message));
    assert.throws(() => loadCa(p.caCert, p.serverKey), (e: unknown) => e instanceof KeyFileError && /does not match/.test(e.message));
  });

  it('server certificates need a name or address', () => {
    const pki = loadPki(dir);
    assert.throws(() => issueServerCert(pki.ca, agentKey, { serverNames: [] }), /at least one name/);
    assert.throws(() => issueServerCert(pki.ca, agentKey, { serverNames: ['a'], serverIps: ['10.0.0.300'] }), /not an IP address/);
  });

  it('fingerprints pin the CA', () => {
    const pki = loadPki(dir);
    const fp = Buffer.from(certFingerprintB64(pki.ca.certPem), 'base64url');
    assert.equal(fp.length, 32);
    assert.ok(fingerprintMatches(pki.ca.certPem, fp));
    assert.ok(!fingerprintMatches(readFileSync(pkiPaths(dir).serverCert, 'utf8').split('-----END CERTIFICATE-----')[0] + '-----END CERTIFICATE-----\n', fp));
  });
});

describe('pki: revocation list and CRL', function () {
  let root: string;
  let dir: string;
  before(function () {
    root = mkdtempSync(join(tmpdir(), 'meerkat-pki-rev-'));
    dir = join(root, 'pki');
    initPki(dir, { serverNames: ['localhost'] });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('revokes every certificate of an agent; openssl sees the serials in the signed CRL', () => {
    const pki = loadPki(dir);
    const key = generateAgentKey(2048);
    const agentId = randomUUID();
    const other = randomUUID();
    const certs = [signAgentCsr(pki.ca, createAgentCsr(key), agentId), signAgentCsr(pki.ca, createAgentCsr(key), agentId), signAgentCsr(pki.ca, createAgentCsr(key), other)];
    for (const [i, c] of certs.entries()) {
      recordIssuance(dir, { agentId: i < 2 ? agentId : other, serial: c.serial, notBefore: '', notAfter: '', issuedAt: '', kind: i === 1 ? 'renew' : 'enroll' });
    }
    const before = loadRevocations(dir);
    assert.equal(before.size, 0);
    const r = revokeAgent(dir, agentId, 'laptop stolen');
    assert.deepEqual(r.serials.sort(), [certs[0]!.serial, certs[1]!.serial].sort());
    assert.equal(r.alreadyRevoked, false);
    const list = loadRevocations(dir);
    assert.ok(list.isRevoked(agentId, 'ffff'));
    assert.ok(list.isRevoked(randomUUID(), certs[1]!.serial.toUpperCase()));
    assert.ok(!list.isRevoked(other, certs[2]!.serial));
    assert.equal(list.data.crlNumber, before.data.crlNumber + 1);

    const p = pkiPaths(dir);
    const crlText = openssl(['crl', '-in', p.crl, '-CAfile', p.caCert, '-noout', '-text']);
    assert.ok(crlText.ok, crlText.out);
    assert.match(crlText.out, /verify OK/);
    assert.match(crlText.out, new RegExp(certs[0]!.serial.toUpperCase()));
    assert.match(crlText.out, new RegExp(`CRL Number: \\n\\s+${list.data.crlNumber}`));
    for (const [i, c] of certs.entries()) {
      const f = join(root, `c${i}.crt`);
      writeFileSync(f, c.certPem);
      const v = openssl(['verify', '-crl_check', '-CRLfile', p.crl, '-CAfile', p.caCert, f]);
      if (i < 2) assert.match(v.out, /certificate revoked/);
      else assert.ok(v.ok, v.out);
    }
    assert.equal(revokeAgent(dir, agentId).alreadyRevoked, true);
  });

  it('refuses a revocation list that was edited or signed by another CA (fail closed)', () => {
    const p = pkiPaths(dir);
    const caPem = readFileSync(p.caCert, 'utf8');
    const original = readFileSync(p.revocations, 'utf8');
    const edited = JSON.parse(original) as { entries: unknown[] };
    edited.entries = [];
    writeFileSync(p.revocations, JSON.stringify(edited));
    assert.throws(() => RevocationList.load(p.revocations, caPem), RevocationListError);
    const otherDir = join(root, 'other');
    initPki(otherDir, { serverNames: ['x'] });
    copyFileSync(pkiPaths(otherDir).revocations, p.revocations);
    assert.throws(() => RevocationList.load(p.revocations, caPem), /signature does not verify/);
    rmSync(p.revocations);
    assert.throws(() => RevocationList.load(p.revocations, caPem), KeyFileError);
    writeFileSync(p.revocations, original);
    assert.ok(RevocationList.load(p.revocations, caPem).size >= 1);
  });
});

function require_hostname(): string {
  return execFileSync('hostname', { encoding: 'utf8' }).trim();
}
