// Reading a new password for `meerkat-collector user add|passwd`: never from the command line
// (shell history, ps). --password-stdin takes the first line of standard input (scripts);
// otherwise, on a terminal, it is asked twice without echo.
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { UsageError } from '../../shared/cli/run-cli.js';

async function firstLineOfStdin(): Promise<string> {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    rl.close();
    return line;
  }
  throw new UsageError('--password-stdin: standard input is empty');
}

function askHidden(prompt: string): Promise<string> {
  let muted = false;
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output: out, terminal: true });
  return new Promise((resolve) => {
    rl.question(prompt, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    muted = true;
  });
}

export async function readNewPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) return firstLineOfStdin();
  if (!process.stdin.isTTY) throw new UsageError('no terminal to ask the password on: pipe it with --password-stdin');
  const a = await askHidden('new password: ');
  const b = await askHidden('again: ');
  if (a !== b) throw new UsageError('the two passwords differ');
  return a;
}
