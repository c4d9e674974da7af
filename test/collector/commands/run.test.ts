// `meerkat-collector run --role`: what is refused before anything starts (exit 2, naming the
// problem). The roles running for real are in test/system/scale-out.test.ts.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCollector } from '../../helpers/processes.js';
import { tmpDir } from '../../helpers/transport-rig.js';


describe('meerkat-collector run --role', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => { dir = tmpDir('run-role'); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const config = (extra: Record<string, unknown>): string => {
    const f = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(f, JSON.stringify({ stateDir: join(dir, 'state'), ...extra }));
    return f;
  };

  it('refuses an unknown role', async () => {
    const r = await runCollector(['run', '--role', 'bogus', '--config', config({})]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--role must be all, frontend or worker/);
  });

  it('a worker without NATS and PostgreSQL settings names the missing key', async () => {
    const r = await runCollector(['run', '--role', 'worker', '--config', config({})]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /scaleOut/);
    assert.match(r.stderr, /natsUrl/);
  });

  it('a password in the PostgreSQL URL and a missing credentials file are configuration errors', async () => {
    const pw = await runCollector(['run', '--role', 'worker', '--config', config({ scaleOut: { natsUrl: 'nats://127.0.0.1:1', pgUrl: 'postgres://m:secret@127.0.0.1:1/db' } })]);
    assert.equal(pw.code, 2);
    assert.match(pw.stderr, /password/);
    assert.doesNotMatch(pw.stderr, /secret/, 'the password is not echoed');
    const creds = await runCollector(['run', '--role', 'frontend', '--config', config({ scaleOut: { natsUrl: 'nats://127.0.0.1:1', pgUrl: 'postgres://m@127.0.0.1:1/db', pgPasswordFile: join(dir, 'none') } })]);
    assert.equal(creds.code, 2);
    assert.match(creds.stderr, /cannot read the PostgreSQL password file/);
  });
});
