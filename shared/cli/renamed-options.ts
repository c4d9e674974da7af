// Flags that were renamed stay known to the parser, hidden, only to refuse them with their new
// name ("--admin is now --ops ..."), instead of commander's bare "unknown option". Used for the
// port names (docs/configuration.md, "Renamed keys") and the console's flag names (docs/cli.md).
import { Option, type Command } from 'commander';
import { UsageError } from './run-cli.js';

/** Adds each old flag as a hidden option that fails with `--old is now NEW`. */
export function refuseRenamedOptions(cmd: Command, renamed: Readonly<Record<string, string>>): Command {
  for (const [old, now] of Object.entries(renamed)) {
    cmd.addOption(new Option(`${old} [value]`).hideHelp().argParser(() => {
      throw new UsageError(`${old} is now ${now}`);
    }));
  }
  cmd.hook('preAction', (_this, action) => {
    // a bare `--old` (no value) never reaches the parser above
    const opts = action.opts<Record<string, unknown>>();
    for (const [old, now] of Object.entries(renamed)) {
      const key = old.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
      if (opts[key] !== undefined) throw new UsageError(`${old} is now ${now}`);
    }
  });
  return cmd;
}
