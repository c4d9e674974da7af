// `meerkat dump inspect` on good and poisoned dumps: a dump whose timestamps lie outside the
// format's domain is refused with the reader's reason (it used to die on "Invalid time value").
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerDumpCommands } from '../../../console/commands/dump.js';
import { DumpWriter } from '../../../shared/dump/index.js';
import { runCommand } from '../../helpers/cli-run.js';
import { recordsFromPcap } from '../../shared/dump/helpers/pcap-records.js';
import { poisonFirstTimestamp } from '../../shared/dump/helpers/poisoned-dump.js';

const AGENT = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';

describe('meerkat dump inspect', () => {
  let dir: string;
  let good: Uint8Array;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-inspect-'));
    const w = new DumpWriter({ agentId: AGENT, anonKeyId: '00ff10ee20dd30cc', snapLen: 0 });
    for (const r of recordsFromPcap('zeek/ssh_ssh.pcap', 20)) w.add(r);
    good = w.finish(5);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the header and the records of a good dump in text mode', async () => {
    const f = join(dir, 'good.mkd');
    writeFileSync(f, good);
    const r = await runCommand(registerDumpCommands, ['dump', 'inspect', f, '--limit', '2']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /first\s+20\d\d-/);
    assert.equal(r.out.split('\n').filter((l) => l.startsWith('{')).length, 2);
  });

  for (const bad of [NaN, Infinity, -Infinity, 1e300, -1e300]) {
    it(`refuses a dump whose first timestamp is ${bad} with the reason, in text and JSON mode`, async () => {
      const f = join(dir, `bad-${String(bad)}.mkd`);
      writeFileSync(f, poisonFirstTimestamp(good, bad));
      for (const mode of [[], ['--json']]) {
        const r = await runCommand(registerDumpCommands, ['dump', 'inspect', f, ...mode]);
        assert.equal(r.code, 1, `exit code; stderr: ${r.err}`);
        assert.match(r.err, /column 'ts' at record 0: timestamp|header times -\d+/);
        assert.doesNotMatch(r.err, /Invalid time value/);
        assert.equal(r.out, '', 'nothing printed for a refused dump');
      }
    });
  }
});
