// The meerkat-agent command set. Loaded by cli.ts after the process is set up for the
// sub-command it runs; each sub-command loads its heavy parts only when it runs.
import { Command } from 'commander';
import { runCli } from '../shared/cli/run-cli.js';
import { MEERKAT_VERSION } from '../shared/version.js';
import { registerReplayCommand } from './commands/replay.js';
import { registerRunCommand } from './commands/run.js';
import { register as registerEnrollCommand } from './commands/enroll.js';

export async function runAgentCli(argv: string[] = process.argv): Promise<void> {
  const program = new Command('meerkat-agent')
    .description('Meerkat endpoint agent: captures this host\'s packets, anonymizes them, packs dump files and ships them to the collector')
    .version(MEERKAT_VERSION);
  registerRunCommand(program);
  registerEnrollCommand(program);
  registerReplayCommand(program);
  await runCli(program, argv);
}
