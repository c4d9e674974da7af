// The console's settings, one rule each: flag, else environment, else ~/.meerkat/config.json
// ($MEERKAT_CONFIG), else the default; a mistake in the file is named ("did you mean"), a
// renamed variable is refused with its new name, and `meerkat config` says where each came from.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiUrlSetting, operatorDirSetting, orgSetting, ownerKeysSetting } from '../../console/settings.js';
import { registerSettingsCommand } from '../../console/commands/settings.js';
import { runCommand } from '../helpers/cli-run.js';

const VARS = ['MEERKAT_CONFIG', 'MEERKAT_API_URL', 'MEERKAT_OPERATOR_DIR', 'MEERKAT_OWNER_KEYS', 'MEERKAT_ADMIN_URL', 'MEERKAT_ORG', 'HOME'] as const;

describe('console settings', () => {
  let dir: string;
  const saved: Record<string, string | undefined> = {};
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mk-settings-'));
    for (const v of VARS) saved[v] = process.env[v];
  });
  afterEach(() => {
    for (const v of VARS) {
      if (saved[v] === undefined) delete process.env[v];
      else process.env[v] = saved[v];
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('flag, environment, file, default - in that order', () => {
    for (const v of VARS) delete process.env[v];
    process.env.HOME = join(dir, 'home');
    assert.deepEqual(apiUrlSetting(), { value: 'https://127.0.0.1:9470', source: 'default' });
    assert.deepEqual(operatorDirSetting(), { value: join(dir, 'home', '.meerkat', 'operator'), source: 'default' });
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ api: 'https://collector.test:9470', ownerKeys: '/keys' }));
    process.env.MEERKAT_CONFIG = file;
    assert.deepEqual(apiUrlSetting(), { value: 'https://collector.test:9470', source: 'config', from: file });
    assert.deepEqual(ownerKeysSetting(), { value: '/keys', source: 'config', from: file });
    process.env.MEERKAT_API_URL = 'https://env.test:9470';
    assert.deepEqual(apiUrlSetting(), { value: 'https://env.test:9470', source: 'environment', from: 'MEERKAT_API_URL' });
    assert.deepEqual(apiUrlSetting('https://flag.test:1'), { value: 'https://flag.test:1', source: 'flag' });
  });

  it('the organisation: --org, else MEERKAT_ORG, else "org" of the file, else default; not a slug is a usage error naming where it came from', () => {
    for (const v of VARS) delete process.env[v];
    process.env.HOME = join(dir, 'home-org');
    assert.deepEqual(orgSetting(), { value: 'default', source: 'default' });
    const file = join(dir, 'org.json');
    writeFileSync(file, JSON.stringify({ org: 'acme' }));
    process.env.MEERKAT_CONFIG = file;
    assert.deepEqual(orgSetting(), { value: 'acme', source: 'config', from: file });
    process.env.MEERKAT_ORG = 'blue';
    assert.deepEqual(orgSetting(), { value: 'blue', source: 'environment', from: 'MEERKAT_ORG' });
    assert.deepEqual(orgSetting('red-team'), { value: 'red-team', source: 'flag' });
    assert.throws(() => orgSetting('Acme!'), (e: unknown) => e instanceof Error && /--org: expected an organisation id/.test(e.message));
    process.env.MEERKAT_ORG = '../etc';
    assert.throws(() => orgSetting(), /MEERKAT_ORG: expected an organisation id/);
    delete process.env.MEERKAT_ORG;
    writeFileSync(file, JSON.stringify({ org: 'Not A Slug' }));
    assert.throws(() => orgSetting(), /org/);
  });

  it('a mistake in the file is named; a renamed variable is refused with its new name; a named file must exist', () => {
    for (const v of VARS) delete process.env[v];
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ operatordir: '/x' }));
    process.env.MEERKAT_CONFIG = file;
    assert.throws(() => apiUrlSetting(), /operatordir: unknown key \(did you mean "operatorDir"\?\); known keys here: api, operatorDir, ownerKeys, org/);
    process.env.MEERKAT_CONFIG = join(dir, 'missing.json');
    assert.throws(() => apiUrlSetting(), /missing\.json: cannot read the console settings \(ENOENT\)/);
    delete process.env.MEERKAT_CONFIG;
    process.env.HOME = join(dir, 'nohome');
    process.env.MEERKAT_ADMIN_URL = 'https://old:9470';
    assert.throws(() => apiUrlSetting(), /MEERKAT_ADMIN_URL is now MEERKAT_API_URL/);
  });

  it('meerkat config prints each setting with where it came from', async () => {
    for (const v of VARS) delete process.env[v];
    process.env.HOME = join(dir, 'home2');
    process.env.MEERKAT_OPERATOR_DIR = '/ops';
    const r = await runCommand(registerSettingsCommand, ['config', '--json', '--api', 'https://a:1']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as Record<string, { value: string; source: string }>;
    assert.deepEqual([j.api!.source, j.operatorDir!.source, j.ownerKeys!.source, j.org!.source], ['flag', 'environment', 'default', 'default']);
    assert.equal(j.operatorDir!.value, '/ops');
  });
});
