// An organisation's CA files in the PKI directory and the test for their presence (what
// `meerkat-collector import --org` checks without loading the certificate machinery).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasOrgCa, orgCaPaths, UnknownOrgError } from '../../certs/org-ca-paths.js';

describe('org CA paths', () => {
  let pki: string;
  beforeEach(() => { pki = mkdtempSync(join(tmpdir(), 'mk-orgca-paths-')); });
  afterEach(() => rmSync(pki, { recursive: true, force: true }));

  it('lays the files out under orgs/<org>/ and sees the CA only once ca.crt exists', () => {
    const p = orgCaPaths(pki, 'acme');
    assert.deepEqual(p, { dir: join(pki, 'orgs', 'acme'), caCert: join(pki, 'orgs', 'acme', 'ca.crt'), caKey: join(pki, 'orgs', 'acme', 'ca.key'), issuanceLog: join(pki, 'orgs', 'acme', 'issued.jsonl') });
    assert.equal(hasOrgCa(pki, 'acme'), false);
    mkdirSync(p.dir, { recursive: true });
    assert.equal(hasOrgCa(pki, 'acme'), false, 'a folder is not a CA');
    writeFileSync(p.caCert, 'x');
    assert.equal(hasOrgCa(pki, 'acme'), true);
  });

  it('refuses an organisation id that could leave the folder', () => {
    assert.throws(() => orgCaPaths(pki, '../etc'));
  });

  it('UnknownOrgError is a usage error naming the organisation', () => {
    const e = new UnknownOrgError('acme');
    assert.equal(e.code, 'MEERKAT_ERR_UNKNOWN_ORG');
    assert.match(e.message, /"acme"/);
  });
});
