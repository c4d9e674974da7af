// Console commands that moved to `meerkat-collector` (they work on the collector host, with its
// CA key and state): still known by name, hidden, only to say where they are now (exit 2).
import type { Command } from 'commander';
import { UsageError } from '../../shared/cli/run-cli.js';

const MOVED: ReadonlyArray<readonly [string, string]> = [
  ['pki', 'meerkat-collector pki init|list|revoke|operator ...'],
  ['enroll-token', 'meerkat-collector token create|list|revoke'],
];

export function registerMovedCommands(program: Command): void {
  for (const [name, now] of MOVED) {
    program.command(name, { hidden: true })
      .argument('[args...]')
      .allowUnknownOption()
      .helpOption(false)
      .action(() => {
        throw new UsageError(`\`meerkat ${name}\` moved to the collector host: run \`${now}\` there (docs/cli.md)`);
      });
  }
}
