// A command signed the browser's way (tweetnacl, op.key parsed without node:crypto) verifies
// exactly as the agent verifies a CLI-signed one; a tampered one does not; a damaged key file is named.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initOperatorKeys, loadOperatorPublicKey } from '../../../shared/commands/operator-keys.js';
import { parseOperatorKey, signCommandInBrowser } from '../../../shared/commands/browser-signer.js';
import { verifyCommand } from '../../../shared/commands/command-signing.js';

const AGENT = '3b1f6a52-9c1e-4d6f-8a2b-0c4d5e6f7a8b';

describe('browser command signer', function () {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-bsign-'));
    initOperatorKeys(dir, { name: 'alice' });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('signs what the agent verifies, with the key id of the CLI', async () => {
    const key = await parseOperatorKey('op.key', readFileSync(join(dir, 'op.key'), 'utf8'));
    const pub = loadOperatorPublicKey(join(dir, 'op.pub'));
    assert.equal(key.keyId, pub.keyId);
    assert.equal(key.name, 'alice');
    const now = Date.now();
    const env = signCommandInBrowser(key, { agentId: AGENT, kind: 'interdiction.isolate', params: { forMs: 3_600_000 }, lifetimeMs: 600_000, nowMs: now });
    const keys = new Map([[pub.keyId, pub.key]]);
    const ok = verifyCommand(JSON.parse(JSON.stringify(env)), { agentId: AGENT, nowMs: now, keys });
    assert.equal(ok.ok, true, JSON.stringify(ok));
    const tampered = { ...env, params: { forMs: 7_200_000 } };
    const bad = verifyCommand(tampered, { agentId: AGENT, nowMs: now, keys });
    assert.equal(bad.ok, false);
  });

  it('names a file that is not an operator key', async () => {
    await assert.rejects(parseOperatorKey('anon.key', '{"type":"meerkat-anon-key","version":1,"key":"AAAA"}'), /anon\.key: is not a Meerkat operator signing key/);
    await assert.rejects(parseOperatorKey('x', 'garbage'), /not JSON/);
  });
});
