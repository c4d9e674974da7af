// The sub-command table collector/cli.ts loads from: each entry's module registers exactly the
// command it is listed under (the CLI loads only that module when the name is on the command
// line), and the CLI started with one sub-command or with none answers as the full program.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Command } from 'commander';
import { COLLECTOR_COMMANDS } from '../../../collector/commands/command-table.js';
import { collectorCliArgs } from '../../helpers/processes.js';

describe('collector command table', () => {
  it('each loader registers one top-level command, named as listed; names are unique', async () => {
    for (const c of COLLECTOR_COMMANDS) {
      const program = new Command('meerkat-collector');
      (await c.load())(program);
      assert.deepEqual(program.commands.map((s) => s.name()), [c.name], c.name);
    }
    assert.equal(new Set(COLLECTOR_COMMANDS.map((c) => c.name)).size, COLLECTOR_COMMANDS.length);
  });

  it('the CLI: --help lists every command; a named one alone still has its own help; an unknown one is a usage error', () => {
    const run = (...args: string[]): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [...collectorCliArgs(), ...args], { encoding: 'utf8' });
    const help = run('--help');
    assert.equal(help.status, 0);
    for (const c of COLLECTOR_COMMANDS) assert.match(String(help.stdout), new RegExp(`^  ${c.name}\\b`, 'm'), c.name);
    const one = run('token', '--help');
    assert.equal(one.status, 0);
    assert.match(String(one.stdout), /^Usage: meerkat-collector token/m);
    assert.match(String(one.stdout), /^ {2}create\b/m);
    const bad = run('no-such-command');
    assert.equal(bad.status, 2);
    assert.match(String(bad.stderr), /unknown command 'no-such-command'/);
  });
});
