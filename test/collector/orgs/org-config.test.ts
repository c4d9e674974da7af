// org.json over the collector config: unknown keys refused (file and field named), each
// section checked by its own parser, sections replaced, quotas and store merged field by
// field, alert outputs (sinks) never inherited by an organisation other than default.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../shared/config/load-config.js';
import { effectiveOrgConfig, loadOrgConfig, parseOrgConfig } from '../../../collector/orgs/org-config.js';
import { collectorServerConfigSchema } from '../../../collector/server/server-config.js';

describe('organisations: settings over the collector defaults', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'meerkat-orgcfg-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const base = collectorServerConfigSchema.parse({
    stateDir: '/var/lib/x',
    analyzers: [{ builtin: 'scan', config: {} }],
    alerts: { notify: 'new', outputs: [{ type: 'jsonl', path: '/var/log/meerkat/alerts.jsonl' }] },
    store: { flowsDays: 10, path: '/old/meerkat.db' },
    quotas: { dumpsPerSec: 50, agents: 100 },
  });

  it('refuses unknown keys and bad sections, naming the file', () => {
    assert.throws(() => parseOrgConfig({ analyzer: [] }, 'orgs/acme/org.json'), (e: unknown) => e instanceof ConfigError && /orgs\/acme\/org\.json/.test(e.message) && /analyzer/.test(e.message));
    assert.throws(() => parseOrgConfig({ analyzers: [{ builtin: 'no-such' }] }, 'f.json'), /no built-in analyzer/);
    assert.throws(() => parseOrgConfig({ quotas: { dumpsPerSec: -1 } }, 'f.json'), ConfigError);
    assert.throws(() => parseOrgConfig({ store: { path: '/elsewhere.db' } }, 'f.json'), ConfigError, 'an organisation cannot move its database');
    assert.throws(() => parseOrgConfig({ responses: [{ nonsense: true }] }, 'f.json'), ConfigError);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ not json');
    assert.throws(() => loadOrgConfig(bad), /not JSON/);
    assert.deepEqual(loadOrgConfig(join(dir, 'missing.json')), {});
  });

  it('inherits what the organisation leaves out; its own sections replace; quotas and store merge by field', () => {
    const own = parseOrgConfig({ quotas: { dumpsPerSec: 5 }, store: { rawDumpsDays: 2 }, analyzers: [{ builtin: 'beacon', config: {} }] }, 'org.json');
    const e = effectiveOrgConfig(base, 'acme', own, join(dir, 'org.json'));
    const c = e.config as Record<string, unknown>;
    assert.deepEqual(e.quotas, { dumpsPerSec: 5, agents: 100 });
    assert.deepEqual(c.store, { flowsDays: 10, rawDumpsDays: 2 }, 'the pre-organisation database path is not inherited');
    assert.deepEqual(c.analyzers, [{ builtin: 'beacon', config: {} }]);
    assert.equal(e.analyzerBaseDir, dir, 'its analyzer paths resolve against its own folder');
    assert.deepEqual(c.alerts, { notify: 'new', outputs: [] }, 'the collector\'s alert outputs are sinks of the default organisation only');
    const d = effectiveOrgConfig(base, 'default', {}, join(dir, 'org.json'));
    assert.deepEqual((d.config as Record<string, unknown>).alerts, base.alerts as unknown);
    assert.deepEqual((d.config as Record<string, unknown>).store, { flowsDays: 10, path: '/old/meerkat.db' });
    assert.equal(d.analyzerBaseDir, undefined);
    const withOutputs = effectiveOrgConfig(base, 'acme', parseOrgConfig({ alerts: { outputs: [{ type: 'jsonl', path: 'acme.jsonl' }] } }, 'o'), 'o');
    assert.deepEqual(((withOutputs.config as Record<string, unknown>).alerts as { outputs: unknown[] }).outputs, [{ type: 'jsonl', path: 'acme.jsonl' }]);
  });
});
