// Runs a commander program with the project's exit-code contract:
// 0 success, 1 runtime failure, 2 usage or configuration error (an InputError).
// Errors print one clear line on stderr with their stable code (docs/errors.md), or with
// --json one JSON object {error, kind, code}.
import { Command, CommanderError } from 'commander';
import { errorCode, InputError } from '../errors.js';

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

/** An error the user caused (bad flag value, bad config): exit code 2. */
export class UsageError extends InputError {
  readonly code = 'MEERKAT_ERR_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function exitCodeFor(err: unknown): number {
  // bad input named by the user: a config file, an address, a flag value
  return err instanceof InputError ? EXIT_USAGE : EXIT_FAILURE;
}

let pipeGuarded = false;

export async function runCli(program: Command, argv: string[] = process.argv): Promise<void> {
  if (!pipeGuarded) {
    // `meerkat ... | head`: a reader that goes away is the end of output, not an error
    pipeGuarded = true;
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT_OK);
      throw e;
    });
  }
  // every level of sub-command, so a usage error anywhere exits 2
  const override = (c: Command): void => {
    c.exitOverride();
    for (const sub of c.commands) override(sub);
  };
  program.configureOutput({ outputError: (str, write) => write(str) });
  override(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help asked for (--help, `help`) and version are normal exits; help shown because no
      // sub-command was given (`meerkat`, `meerkat keys`) is a usage error
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || (err.code === 'commander.help' && err.exitCode === 0)) {
        process.exitCode = EXIT_OK;
        return;
      }
      process.exitCode = err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
      return;
    }
    const msg = err instanceof Error ? err.message : String(err);
    const wantsJson = argv.includes('--json');
    const code = errorCode(err);
    if (wantsJson) process.stderr.write(JSON.stringify({ error: msg, kind: err instanceof Error ? err.name : 'Error', code }) + '\n');
    else process.stderr.write(`error: ${msg} [${code}]\n`);
    if (process.env.MEERKAT_DEBUG && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    process.exitCode = exitCodeFor(err);
  }
}

/** Parses a positive integer option value or throws a UsageError naming the flag. */
export function parseIntOption(flag: string, min = 0, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v: string) => {
    if (!/^\d+$/.test(v.trim())) throw new UsageError(`${flag} expects a whole number, got ${JSON.stringify(v)}`);
    const n = Number(v);
    if (n < min || n > max) throw new UsageError(`${flag} must be between ${min} and ${max}, got ${n}`);
    return n;
  };
}
