// The agent's configuration file: found by --config, $MEERKAT_AGENT_CONFIG or the default path;
// every key optional; an unknown key anywhere is an error naming it and the closest known key.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { agentConfigFile, agentConfigSchema, anonKeyPath, loadAgentConfig } from '../../agent/config.js';
import { ConfigError, knownKeysAt } from '../../shared/config/load-config.js';
import { repoRoot } from '../../shared/util/repo-paths.js';

describe('agent configuration', () => {
  let dir: string;
  const saved = process.env.MEERKAT_AGENT_CONFIG;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'mk-agent-config-')); });
  after(() => {
    if (saved === undefined) delete process.env.MEERKAT_AGENT_CONFIG;
    else process.env.MEERKAT_AGENT_CONFIG = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (name: string, v: unknown): string => {
    const f = join(dir, name);
    writeFileSync(f, JSON.stringify(v));
    return f;
  };

  it('unknown keys are errors naming them, at the top and inside sections', () => {
    const msg = (v: unknown): string => {
      try {
        loadAgentConfig(write('c.json', v));
      } catch (e) {
        assert.ok(e instanceof ConfigError);
        return e.message;
      }
      return 'no error';
    };
    assert.match(msg({ statedir: '/x' }), /statedir: unknown key \(did you mean "stateDir"\?\); known keys here: stateDir, logLevel, capture/);
    assert.match(msg({ capture: { interfaes: 'any' } }), /capture\.interfaes: unknown key \(did you mean "interfaces"\?\)/);
    assert.match(msg({ dump: { maxSecond: 5 } }), /dump\.maxSecond: unknown key \(did you mean "maxSeconds"\?\)/);
    assert.match(msg({ colour: 'red' }), /colour: unknown key; known keys here/);
  });

  it('docs/configuration.md documents every key', () => {
    const doc = readFileSync(join(repoRoot(), 'docs', 'configuration.md'), 'utf8');
    const walk = (at: string[]): string[] => knownKeysAt(agentConfigSchema, at).flatMap((k) => (knownKeysAt(agentConfigSchema, [...at, k]).length ? walk([...at, k]) : [[...at, k].join('.')]));
    const all = walk([]);
    assert.ok(all.length > 20, `${all.length} keys`);
    assert.deepEqual(all.filter((k) => !doc.includes(`\`${k}\``)), []);
  });

  it('the file: the flag, else $MEERKAT_AGENT_CONFIG; the anonymization key beside the state', () => {
    const f = write('env.json', { stateDir: join(dir, 'state'), dump: { maxSeconds: 5 } });
    process.env.MEERKAT_AGENT_CONFIG = f;
    assert.equal(agentConfigFile(undefined), f);
    assert.equal(agentConfigFile('other.json'), 'other.json');
    const cfg = loadAgentConfig(undefined);
    assert.equal(cfg.stateDir, join(dir, 'state'));
    assert.equal(cfg.dump.maxSeconds, 5);
    assert.equal(anonKeyPath(cfg), join(dir, 'state', 'anon.key'));
    assert.equal(anonKeyPath({ ...cfg, anonymize: { ...cfg.anonymize, keyFile: '/k' } }), '/k');
    process.env.MEERKAT_AGENT_CONFIG = join(dir, 'missing.json');
    assert.throws(() => loadAgentConfig(undefined), /missing\.json: cannot read config file \(ENOENT\)/);
  });
});
