// Opening sealed inventory the way the web console does (tweetnacl + WebCrypto, no Node APIs):
// a real inventory of this machine collected and sealed by the agent's code to an owner key set
// made by initOwnerKeys, opened with box.key read as text; the same bytes as the CLI's opener;
// wrong keys, tampering and damaged files refused with their own errors; arbitrary input never
// throws anything else.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildInventoryReport, collectInventory } from '../../../agent/control/inventory.js';
import { boxKeyIdWeb, boxKeysFromText, openSealedWeb, SealedBoxError, type OwnerBoxKeys } from '../../../shared/commands/sealed-box-open.js';
import { openSealed } from '../../../shared/commands/sealed-box.js';
import { initOwnerKeys, loadBoxPublicKey } from '../../../shared/keys/owner-keys.js';
import { KeyFileError } from '../../../shared/keys/key-file-error.js';

describe('sealed-box-open', () => {
  let dir: string;
  let other: string;
  let keys: OwnerBoxKeys;
  let otherKeys: OwnerBoxKeys;
  let boxText: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-sealed-open-'));
    other = mkdtempSync(join(tmpdir(), 'meerkat-sealed-other-'));
    initOwnerKeys(dir);
    initOwnerKeys(other);
    boxText = readFileSync(join(dir, 'box.key'), 'utf8');
    keys = boxKeysFromText('box.key', boxText);
    otherKeys = boxKeysFromText('box.key', readFileSync(join(other, 'box.key'), 'utf8'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  });

  it('opens the inventory the agent collected and sealed to box.pub, as the CLI does', async () => {
    const inv = collectInventory({ version: 'test', display: (a) => `${a}*` });
    assert.ok(inv.sensitive.hostname.length > 0, 'a real host name was collected');
    const report = buildInventoryReport(inv, loadBoxPublicKey(join(dir, 'box.pub')));
    assert.ok(report.sealed);
    assert.ok(!JSON.stringify(report).includes(JSON.stringify(inv.sensitive.hostname)), 'the host name is not in the clear');
    const opened = await openSealedWeb(report.sealed, keys);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(opened)), inv.sensitive);
    assert.deepEqual(opened, openSealed(report.sealed, keys));
    assert.equal(report.sealed.to, await boxKeyIdWeb(keys.boxPublicKey));
  });

  it('refuses another owner key, a tampered box and a damaged key file', async () => {
    const report = buildInventoryReport(collectInventory({ version: 'test', display: (a) => a }), keys.boxPublicKey);
    await assert.rejects(openSealedWeb(report.sealed, otherKeys), (e: unknown) => e instanceof SealedBoxError && /sealed to owner key/.test(e.message));
    const ct = Buffer.from(report.sealed!.ct, 'base64');
    ct[ct.length - 1]! ^= 1;
    await assert.rejects(openSealedWeb({ ...report.sealed, ct: ct.toString('base64') }, keys), (e: unknown) => e instanceof SealedBoxError && /authentication failed/.test(e.message));
    // a box secret key file whose public key belongs to another key pair
    const damaged = JSON.stringify({ ...JSON.parse(boxText), publicKey: Buffer.from(otherKeys.boxPublicKey).toString('base64') });
    assert.throws(() => boxKeysFromText('box.key', damaged), KeyFileError);
    assert.throws(() => boxKeysFromText('anon.key', readFileSync(join(dir, 'anon.key'), 'utf8')), KeyFileError);
  });

  it('answers any input with the sealed content or a SealedBoxError, nothing else', async () => {
    const sealed = buildInventoryReport(collectInventory({ version: 'test', display: (a) => a }), keys.boxPublicKey).sealed!;
    const arb = fc.oneof(
      fc.anything(),
      fc.record({ type: fc.constant('meerkat-sealed'), v: fc.constant(1), to: fc.constantFrom(sealed.to, 'x'), epk: fc.oneof(fc.constant(sealed.epk), fc.string()), nonce: fc.oneof(fc.constant(sealed.nonce), fc.base64String()), ct: fc.oneof(fc.constant(sealed.ct), fc.base64String(), fc.string()) }),
    );
    await fc.assert(fc.asyncProperty(arb, async (x) => {
      try {
        await openSealedWeb(x, keys);
      } catch (e) {
        assert.ok(e instanceof SealedBoxError, `unexpected ${String(e)}`);
      }
    }), { numRuns: 300 });
  });
});
