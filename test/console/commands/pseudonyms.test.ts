// `meerkat deanon` / `meerkat anon` with names: a name's pseudonym from `anon` (declared
// suffix) turns back with `deanon`, addresses still work beside names, JSON output names
// the field, and a token from another key fails with exit code 1 and a message.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initOwnerKeys } from '../../../shared/keys/owner-keys.js';
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
});
