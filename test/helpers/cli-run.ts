// Runs a console command through commander and the project's runCli, capturing stdout,
// stderr and the exit code.
import { Command } from 'commander';
import { runCli } from '../../shared/cli/run-cli.js';

interface Run { code: number; out: string; err: string }

export async function runCommand(register: (p: Command) => void, args: string[]): Promise<Run> {
  const program = new Command('meerkat');
  register(program);
  let out = '';
  let err = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string | Uint8Array) => { out += String(c); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => { err += String(c); return true; }) as typeof process.stderr.write;
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await runCli(program, ['node', 'meerkat', ...args]);
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = before;
  return { code, out, err };
}

