// `meerkat deanon` / `meerkat anon` with names: a name's pseudonym from `anon` (declared
// suffix) turns back with `deanon`, addresses still work beside names, JSON output names
// the field, and a token from another key fails with exit code 1 and a message. An address
// that does not map back into an internal prefix is not a pseudonym of this key (exit 1, the
// others still shown), unless --any or the agents' own --internal-prefix say otherwise.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initOwnerKeys, loadAnonKey } from '../../../shared/keys/owner-keys.js';
import { anonymizeText, deanonymizeText } from '../../../shared/anonymize/pseudonym-text.js';
import { registerPseudonymCommands } from '../../../console/commands/pseudonyms.js';
import { runCommand } from '../../helpers/cli-run.js';

describe('meerkat deanon / anon (names)', () => {
  let dir = '';
  let other = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mk-pseudo-'));
    initOwnerKeys(join(dir, 'keys'));
    initOwnerKeys(join(dir, 'other'));
    other = join(dir, 'other');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('anon then deanon gives the name back, next to addresses', async () => {
    const keys = join(dir, 'keys');
    const a = await runCommand(registerPseudonymCommands, ['anon', '--owner-keys', keys, '--json', 'www.corp.example.com', '10.1.2.3', '3.2.1.10.in-addr.arpa', '--internal-suffix', 'corp.example.com']);
    assert.equal(a.code, 0, a.err);
    const rows = a.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    assert.equal(rows[0]!.name, 'www.corp.example.com');
    assert.match(rows[0]!.pseudonym!, /^mk--[a-z2-7]+\.mk--[a-z2-7]+$/);
    assert.equal(rows[1]!.address, '10.1.2.3');
    assert.equal(rows[2]!.pseudonym, rows[1]!.pseudonym!.split('.').reverse().join('.') + '.in-addr.arpa');
    const d = await runCommand(registerPseudonymCommands, ['deanon', '--owner-keys', keys, rows[0]!.pseudonym!, rows[1]!.pseudonym!, rows[2]!.pseudonym!]);
    assert.equal(d.code, 0, d.err);
    assert.deepEqual(d.out.trim().split('\n').map((l) => l.split(' -> ')[1]), ['www.corp.example.com', '10.1.2.3', '3.2.1.10.in-addr.arpa']);
    const wrong = await runCommand(registerPseudonymCommands, ['deanon', '--owner-keys', other, rows[0]!.pseudonym!]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.err, /not made with this anonymization key/);
  });

  it('an address whose inverse is no internal one is not a pseudonym; the notation as printed is accepted', async () => {
    const keys = join(dir, 'keys');
    const key = { anonKey: loadAnonKey(join(keys, 'anon.key')) };
    const p = anonymizeText(key, '192.168.7.9');
    const ok = await runCommand(registerPseudonymCommands, ['deanon', '--owner-keys', keys, `${p}*`]);
    assert.equal(ok.code, 0, ok.err);
    assert.equal(ok.out, `${p}* -> 192.168.7.9\n`);
    // an external address as the data shows it (no *): its inverse lands outside every internal prefix
    let external = '198.51.100.7';
    for (let i = 8; /^(10|192\.168|172\.(1[6-9]|2\d|3[01])|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])|169\.254)\./.test(deanonymizeText(key, external)); i++) external = `198.51.100.${i}`;
    const not = await runCommand(registerPseudonymCommands, ['deanon', '--owner-keys', keys, external]);
    assert.equal(not.code, 1);
    assert.match(not.err, new RegExp(`${external.replace(/\./g, '\\.')} is not a pseudonym of this key: it does not map back into an internal prefix`));
    assert.match(not.err, /\[MEERKAT_ERR_NOT_A_PSEUDONYM\]/);
    const any = await runCommand(registerPseudonymCommands, ['deanon', '--owner-keys', keys, external, '--any']);
    assert.equal(any.code, 0);
    assert.equal(any.out, `${external} -> ${deanonymizeText(key, external)}\n`);
    const declared = await runCommand(registerPseudonymCommands, ['deanon', '--owner-keys', keys, external, '--internal-prefix', `${deanonymizeText(key, external)}/32`]);
    assert.equal(declared.code, 0, declared.err);
    // several values: the good ones print, the bad one is an error line, exit 1
    const mixed = await runCommand(registerPseudonymCommands, ['deanon', '--owner-keys', keys, '--json', p, external]);
    assert.equal(mixed.code, 1);
    const rows = mixed.out.trim().split('\n').map((l) => JSON.parse(l) as { address?: string; error?: string; code?: string });
    assert.equal(rows[0]!.address, '192.168.7.9');
    assert.equal(rows[1]!.code, 'MEERKAT_ERR_NOT_A_PSEUDONYM');
    const renamed = await runCommand(registerPseudonymCommands, ['deanon', '--key-file', join(keys, 'anon.key'), p]);
    assert.equal(renamed.code, 2);
    assert.match(renamed.err, /--key-file is now --anon-key/);
    const byFile = await runCommand(registerPseudonymCommands, ['deanon', '--anon-key', join(keys, 'anon.key'), p]);
    assert.equal(byFile.out, `${p} -> 192.168.7.9\n`);
  });
});
