// The meerkat-agent command set. Loaded by cli.ts after the process is set up for the
// sub-command it runs; each sub-command loads its heavy parts only when it runs.
import { Command } from 'commander';
import { runCli } from '../shared/cli/run-cli.js';
import { MEERKAT_VERSION } from '../shared/version.js';
import { registerReplayCommand } from './commands/replay.js';

export async function runAgentCli(argv: string[] = process.argv): Promise<void> {
  const program = new Command('meerkat-agent')
    .description('Meerkat endpoint agent: captures this host\'s packets, anonymizes them, packs dump files and ships them to the collector')
    .version(MEERKAT_VERSION);
  // `replay` is a batch job whose CPU per packet is a target (docs/benchmarks.md): it does not
  // load the service's modules (the shipper's TLS and WebSocket, pino, the config schemas),
  // about a third of its start-up; every other invocation (`--help` included) sees all commands
  if (argv[2] !== 'replay') {
    const [{ registerRunCommand }, { register: registerEnrollCommand }] = await Promise.all([import('./commands/run.js'), import('./commands/enroll.js')]);
    registerRunCommand(program);
    registerEnrollCommand(program);
  }
  registerReplayCommand(program);
  await runCli(program, argv);
}
