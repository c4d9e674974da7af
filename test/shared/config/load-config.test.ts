// Config errors name the mistake: a section given as a string (`"control": "127.0.0.1:9470"`)
// is reported as such - not as `Unrecognized keys: "0", ..., "14"` - by the helper and by the
// real `meerkat-collector run` (exit 2); a state directory that does not exist yet is created.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, configSection } from '../../../shared/config/load-config.js';
import { makeTestPki, tmpDir } from '../../helpers/transport-rig.js';
import { CollectorProcess, collectorCliArgs } from '../../helpers/processes.js';

function runCollector(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...collectorCliArgs(), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('config sections', () => {
  it('configSection returns a copy of the object, {} when absent, and names any other value', () => {
    const cfg = { control: { listen: 'off' }, a: 'x', b: [1], c: 7, d: null };
    const sec = configSection(cfg, 'control', '{}');
    assert.deepEqual(sec, { listen: 'off' });
    sec.listen = 'changed';
    assert.equal(cfg.control.listen, 'off', 'a copy');
    assert.deepEqual(configSection(cfg, 'missing', '{}'), {});
    const err = (key: string): string => {
      try {
        configSection(cfg, key, '{"listen": "127.0.0.1:9470"}');
      } catch (e) {
        assert.ok(e instanceof ConfigError);
        return e.message;
      }
      return 'no error';
    };
    assert.equal(err('a'), 'config key "a" must be an object such as {"listen": "127.0.0.1:9470"}, got the string "x"');
    assert.match(err('b'), /got an array$/);
    assert.match(err('c'), /got a number 7$/);
    assert.match(err('d'), /got null$/);
  });

  describe('meerkat-collector run (real process)', function () {
    this.timeout(60_000);
    let root: string;
    before(() => { root = tmpDir('config'); });
    after(() => rmSync(root, { recursive: true, force: true }));

    for (const [key, value, want] of [
      ['control', '127.0.0.1:9470', /config key "control" must be an object such as \{"listen": "127\.0\.0\.1:9470"\}, got the string "127\.0\.0\.1:9470"/],
      ['store', 'meerkat.db', /config key "store" must be an object such as \{"flowsDays": 30\}, got the string "meerkat\.db"/],
      ['admin', { listen: '127.0.0.1:9469' }, /admin: expected "host:port" \(e\.g\. "127\.0\.0\.1:9469"\) or "off"/],
    ] as const) {
      it(`"${key}": ${JSON.stringify(value)} is reported as what it is, exit 2`, async () => {
        const file = join(root, `${key}.json`);
        writeFileSync(file, JSON.stringify({ stateDir: join(root, 'state'), [key]: value }));
        const r = await runCollector(['run', '--config', file, '--listen', '127.0.0.1:0', '--admin', 'off']);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, want);
        assert.doesNotMatch(r.stderr, /Unrecognized key/);
      });
    }

    it('creates a state directory that does not exist yet (0700) and runs', async () => {
      const tp = makeTestPki(root);
      const stateDir = join(root, 'not', 'there', 'yet');
      const c = await CollectorProcess.start(join(root, 'fresh.json'), { stateDir, pkiDir: tp.dir });
      try {
        assert.ok(existsSync(join(stateDir, 'meerkat.db')));
        assert.equal(statSync(stateDir).mode & 0o777, 0o700);
      } finally {
        assert.equal(await c.stop(), 0, c.stderr.slice(-2000));
      }
      assert.doesNotMatch(c.stderr, /cannot open database/);
    });
  });
});
