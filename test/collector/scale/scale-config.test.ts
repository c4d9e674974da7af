import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scaleOutConfigFrom, scaleOutSchema } from '../../../collector/scale/scale-config.js';
import { repoRoot } from '../../../shared/util/repo-paths.js';
import { collectorServerConfigSchema } from '../../../collector/server/server-config.js';
import { ConfigError } from '../../../shared/config/load-config.js';

function cfg(scaleOut: unknown): ReturnType<typeof collectorServerConfigSchema.parse> {
  return collectorServerConfigSchema.parse({ stateDir: '/tmp/x', scaleOut });
}

describe('scaleOut config', () => {
  it('takes the URLs from the file or the flags, with defaults for the rest', () => {
    const so = scaleOutConfigFrom(cfg({ natsUrl: 'nats://n:4222', pgUrl: 'postgres://m@p/db' }), {});
    assert.equal(so.natsUrl, 'nats://n:4222');
    assert.equal(so.partitions, 16);
    assert.deepEqual(so.orgs, ['default']);
    assert.equal(so.orgRefreshMs, 1000);
    assert.equal(so.workerAnalysis, true, 'workers analyze unless told not to');
    assert.equal(scaleOutConfigFrom(cfg({ natsUrl: 'nats://n', pgUrl: 'postgres://m@p/db', workerAnalysis: false }), {}).workerAnalysis, false);
    const flagged = scaleOutConfigFrom(cfg(undefined), { natsUrl: 'tls://n:4222', pgUrl: 'postgres://m@p/db' });
    assert.equal(flagged.natsUrl, 'tls://n:4222');
  });

  it('refuses what is missing or wrong, naming the key', () => {
    assert.throws(() => scaleOutConfigFrom(cfg(undefined), {}), (e: Error) => e instanceof ConfigError && /natsUrl/.test(e.message));
    assert.throws(() => scaleOutConfigFrom(cfg({ natsUrl: 'nats://n', pgUrl: 'postgres://m@p/db', partitions: 0 }), {}), /partitions/);
    assert.throws(() => scaleOutConfigFrom(cfg({ natsUrl: 'nats://n', pgUrl: 'postgres://m@p/db', pgPassword: 'x' }), {}), /pgPassword/);
    assert.throws(() => scaleOutConfigFrom(cfg({ natsUrl: 'nats://n', pgUrl: 'postgres://m@p/db', natsTls: { ca: 'a', cert: 'c' } }), {}), /cert and key together/);
    assert.throws(() => scaleOutConfigFrom(cfg({ natsUrl: 'nats://n', pgUrl: 'postgres://m@p/db', orgs: ['Bad Org'] }), {}), /orgs/);
    assert.throws(() => scaleOutConfigFrom(cfg('nats://n'), {}), /scaleOut/);
  });

  it('docs/scale-out.md documents every key of the section', () => {
    const doc = readFileSync(join(repoRoot(), 'docs', 'scale-out.md'), 'utf8');
    const missing = Object.keys(scaleOutSchema.shape).filter((k) => !doc.includes(`\`scaleOut.${k}\``) && !doc.includes(`\`${k}\``));
    assert.deepEqual(missing, []);
  });
});
