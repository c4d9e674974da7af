// The collector's configuration file as a whole: the convention that finds it and the state
// directory (flag, environment, file, default), keys nobody reads and renamed keys refused
// with their names, and the real `meerkat-collector run` refusing mistakes at start (exit 2,
// nothing listening): a typo, an old port name, a section of the wrong shape, an unknown
// analyzer, an alert file it cannot write.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../shared/config/load-config.js';
import { checkTopLevelKeys, collectorConfigFile, collectorHost, COLLECTOR_CONFIG_KEYS, COLLECTOR_STATE_DIR } from '../../collector/collector-config.js';
import { knownKeysAt } from '../../shared/config/load-config.js';
import { collectorServerConfigSchema } from '../../collector/server/server-config.js';
import { storeConfigSchema } from '../../collector/flow-service.js';
import { analysisSettingsSchema } from '../../collector/analyze/analysis-config.js';
import { alertsConfigSchema } from '../../collector/alerts/alerts-config.js';
import { payloadRetentionConfigSchema } from '../../collector/payload/payload-retention.js';
import { quotasSchema } from '../../collector/orgs/org-quotas.js';
import { repoRoot } from '../../shared/util/repo-paths.js';
import { makeTestPki, tmpDir } from '../helpers/transport-rig.js';
import { CollectorProcess, runCollector } from '../helpers/processes.js';


/** The top-level keys the collector reads. */
function checkedTopLevel(): Record<string, string> {
  return COLLECTOR_CONFIG_KEYS;
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  return 'no error';
}

describe('collector configuration', () => {
  let root: string;
  before(() => { root = tmpDir('collector-config'); });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('a key nobody reads is named, with the closest known key; renamed keys name their new ones', () => {
    assert.match(messageOf(() => checkTopLevelKeys({ listne: '0.0.0.0:8443' }, 'c.json')), /c\.json: invalid configuration\n  listne: unknown key \(did you mean "listen"\?\); known keys: stateDir, /);
    assert.match(messageOf(() => checkTopLevelKeys({ analyzer: [] }, 'c.json')), /analyzer: unknown key \(did you mean "analyzers"\?\)/);
    assert.match(messageOf(() => checkTopLevelKeys({ admin: '127.0.0.1:9469', control: { listen: 'off' } }, 'c.json')),
      /admin: renamed; use "ops".*\n  control: renamed; use "api".*"apiNames"/);
    assert.match(messageOf(() => checkTopLevelKeys([], 'c.json')), /must be a JSON object/);
    checkTopLevelKeys({ stateDir: '/x', listen: '0.0.0.0:8443', api: 'off', ops: 'off', analyzers: [], alerts: {}, store: {} }, 'c.json');
  });

  it('docs/configuration.md documents every key (sections to their last level)', () => {
    const doc = readFileSync(join(repoRoot(), 'docs', 'configuration.md'), 'utf8');
    const paths = (schema: unknown, prefix: string[]): string[] => knownKeysAt(schema, []).length === 0 ? [] : walk(schema, [], prefix);
    function walk(schema: unknown, at: string[], prefix: string[]): string[] {
      return knownKeysAt(schema, at).flatMap((k) => {
        const below = knownKeysAt(schema, [...at, k]);
        return below.length ? walk(schema, [...at, k], prefix) : [[...prefix, ...at, k].join('.')];
      });
    }
    const all = [
      ...Object.keys(checkedTopLevel()).filter((k) => !['tls', 'limits', 'store', 'analysis', 'alerts', 'payloadRetention', 'quotas'].includes(k)),
      ...walk(collectorServerConfigSchema, ['tls'], []), ...walk(collectorServerConfigSchema, ['limits'], []),
      ...paths(storeConfigSchema, ['store']), ...paths(analysisSettingsSchema, ['analysis']), ...paths(alertsConfigSchema, ['alerts']),
      ...paths(payloadRetentionConfigSchema, ['payloadRetention']), ...paths(quotasSchema, ['quotas']),
    ];
    assert.ok(all.length > 40, `${all.length} keys`);
    const missing = all.filter((k) => !doc.includes(`\`${k}\``));
    assert.deepEqual(missing, []);
  });

  it('finds the file and the state directory: flag, environment, file, default', () => {
    const file = join(root, 'c.json');
    writeFileSync(file, JSON.stringify({ stateDir: join(root, 'from-file') }));
    assert.equal(collectorConfigFile(undefined, {}), existsSync('/etc/meerkat-collector/collector.json') ? '/etc/meerkat-collector/collector.json' : null);
    assert.equal(collectorConfigFile(undefined, { MEERKAT_COLLECTOR_CONFIG: file }), file);
    assert.equal(collectorConfigFile('flag.json', { MEERKAT_COLLECTOR_CONFIG: file }), 'flag.json');
    assert.equal(collectorHost({}, {}, { MEERKAT_COLLECTOR_CONFIG: file }).stateDir, join(root, 'from-file'));
    assert.equal(collectorHost({}, {}, { MEERKAT_COLLECTOR_CONFIG: file, MEERKAT_STATE_DIR: join(root, 'env') }).stateDir, join(root, 'env'));
    const h = collectorHost({ stateDir: join(root, 'flag') }, {}, { MEERKAT_COLLECTOR_CONFIG: file, MEERKAT_STATE_DIR: join(root, 'env') });
    assert.deepEqual([h.stateDir, h.pkiDir, h.dumpDir, h.file], [join(root, 'flag'), join(root, 'flag', 'pki'), join(root, 'flag', 'dumps'), file]);
    if (!existsSync('/etc/meerkat-collector/collector.json')) assert.equal(collectorHost({}, {}, {}).stateDir, COLLECTOR_STATE_DIR);
    assert.match(messageOf(() => collectorHost({ config: join(root, 'missing.json') }, {}, {})), /missing\.json: cannot read the collector configuration \(ENOENT\); create it with `meerkat-collector init`/);
    // the ports, with their defaults
    const d = collectorHost({}, {}, { MEERKAT_COLLECTOR_CONFIG: file }).config;
    assert.deepEqual([d.listen, d.api, d.ops], ['0.0.0.0:8443', '127.0.0.1:9470', '127.0.0.1:9469']);
  });

  describe('meerkat-collector run refuses a configuration with a mistake (real process, exit 2)', function () {
    this.timeout(60_000);

    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['a typo', { listne: '127.0.0.1:0' }, /listne: unknown key \(did you mean "listen"\?\)/],
      ['the old port names', { admin: '127.0.0.1:9469', control: { listen: '127.0.0.1:9470' } }, /admin: renamed; use "ops"[\s\S]*control: renamed; use "api"/],
      ['a section as a string', { store: 'meerkat.db' }, /config key "store" must be an object such as \{"flowsDays": 30\}, got the string "meerkat\.db"/],
      ['a port as an object', { ops: { listen: '127.0.0.1:9469' } }, /ops: expected "host:port" \(e\.g\. "127\.0\.0\.1:9469"\) or "off"/],
      ['an unknown analyzer', { analyzers: [{ builtin: 'scna' }] }, /no built-in analyzer "scna" \(did you mean "scan"\?\); the built-ins are /],
      ['a typo inside a section', { limits: { hartbeatSec: 2 } }, /limits\.hartbeatSec: unknown key \(did you mean "heartbeatSec"\?\)/],
    ];
    for (const [what, cfg, want] of cases) {
      it(what, async () => {
        const file = join(root, `${what.replace(/\W+/g, '-')}.json`);
        writeFileSync(file, JSON.stringify({ stateDir: join(root, 'state'), ops: 'off', api: 'off', ...cfg }));
        const r = await runCollector(['run', '--config', file, '--listen', '127.0.0.1:0']);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, want);
        assert.match(r.stderr, /\[MEERKAT_ERR_CONFIG\]/);
      });
    }

    it('an alert output file it cannot write stops the start, naming the file', async function () {
      if (process.getuid?.() === 0) {
        // root writes anywhere: a path under a regular file cannot be created by anyone
        writeFileSync(join(root, 'not-a-dir'), 'x');
      }
      const tp = makeTestPki(join(root, 'alerts-pki'));
      const locked = join(root, 'locked');
      mkdirSync(locked, { recursive: true });
      chmodSync(locked, 0o500);
      const target = process.getuid?.() === 0 ? join(root, 'not-a-dir', 'alerts.jsonl') : join(locked, 'alerts.jsonl');
      const file = join(root, 'alerts.json');
      writeFileSync(file, JSON.stringify({ stateDir: join(root, 'state-alerts'), pkiDir: tp.dir, alerts: { outputs: [{ type: 'jsonl', path: target }] } }));
      const r = await runCollector(['run', '--config', file, '--listen', '127.0.0.1:0', '--ops', 'off', '--api', 'off']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`alert output jsonl:${target.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: cannot append to .* \\(E[A-Z]+\\)`));
      assert.match(r.stderr, /\[MEERKAT_ERR_ALERT_OUTPUT\]/);
    });

    it('creates a state directory that does not exist yet (0700) and runs', async () => {
      const tp = makeTestPki(join(root, 'fresh-pki'));
      const stateDir = join(root, 'not', 'there', 'yet');
      const c = await CollectorProcess.start(join(root, 'fresh.json'), { stateDir, pkiDir: tp.dir });
      try {
        assert.ok(existsSync(join(stateDir, 'orgs', 'default', 'meerkat.db')));
        assert.equal(statSync(stateDir).mode & 0o777, 0o700);
      } finally {
        assert.equal(await c.stop(), 0, c.stderr.slice(-2000));
      }
      assert.doesNotMatch(c.stderr, /cannot open database/);
    });
  });
});
