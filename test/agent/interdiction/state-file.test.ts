// The persisted policy: atomic 0600 writes, round trip, and clear errors for damaged files.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyPolicy } from '../../../agent/interdiction/policy.js';
import { applyPolicyChange } from '../../../agent/interdiction/policy-changes.js';
import { InterdictionStateError, readStateFile, writeStateFile, STATE_VERSION } from '../../../agent/interdiction/state-file.js';

describe('agent/interdiction/state-file', function () {
  let dir: string;
  beforeEach(function () { dir = mkdtempSync(join(tmpdir(), 'mk-istate-')); });
  afterEach(function () { rmSync(dir, { recursive: true, force: true }); });

  it('writes 0600 (folder 0700 when created), leaves no temp file, and reads back the same state', async function () {
    const file = join(dir, 'sub', 'interdiction.json');
    const policy = applyPolicyChange(emptyPolicy([{ address: '192.0.2.10', port: 443 }]), { kind: 'isolate', allow: ['10.0.0.0/8'], forMs: 60_000 }, 1000);
    const old = process.umask(0o000);
    try {
      await writeStateFile(file, { version: STATE_VERSION, backend: 'nft', updatedAt: 5, policy });
    } finally {
      process.umask(old);
    }
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'sub')).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['interdiction.json']);
    assert.deepEqual(await readStateFile(file), { version: STATE_VERSION, backend: 'nft', updatedAt: 5, policy });
    await writeStateFile(file, { version: STATE_VERSION, backend: 'iptables', updatedAt: 6, policy: emptyPolicy() });
    assert.equal((await readStateFile(file))?.backend, 'iptables', 'replaced');
  });

  it('a missing file is "nothing persisted"; a damaged one is an error naming the file and the problem', async function () {
    assert.equal(await readStateFile(join(dir, 'none.json')), undefined);
    const file = join(dir, 'bad.json');
    const cases: [string, RegExp][] = [
      ['{"version":1,"backend":"nft","policy":{"mode":"iso', /not valid JSON/],
      ['{"version":2,"backend":"nft","policy":{}}', /expected an object with version 1/],
      ['{"version":1,"backend":"pf","policy":{}}', /unknown backend "pf"/],
      ['{"version":1,"backend":"nft","policy":{"mode":"isolate","allow":["10.0.0.0/33"],"blocks":[],"degrade":[],"managementChannels":[]}}', /policy\.allow: expected an IPv4\/IPv6 address or CIDR/],
    ];
    for (const [text, re] of cases) {
      writeFileSync(file, text);
      await assert.rejects(readStateFile(file), (e: unknown) => e instanceof InterdictionStateError && e.message.startsWith(`interdiction state file ${file}: `) && re.test(e.message));
    }
  });
});
