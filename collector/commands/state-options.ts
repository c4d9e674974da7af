// Where the host-local sub-commands (`org`, `user`) find the collector's state: as every
// `meerkat-collector` command does (host-options.ts: --config, --state-dir and the
// environment); the PKI in --pki-dir, else the config's pkiDir, else <state dir>/pki. They open it the way
// `run` does (openCollectorState: an old installation is taken into `default` first), so they
// work before the collector's first start and while it runs (SQLite, WAL).
import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { hostFrom, hostOptions } from './host-options.js';
import { openCollectorState, type CollectorState } from '../orgs/collector-state.js';

export interface StateFlags {
  config?: string;
  stateDir?: string;
  pkiDir?: string;
  json?: boolean;
}

export function stateOptions(c: Command): Command {
  return hostOptions(c)
    .option('--pki-dir <dir>', 'PKI directory (default "pkiDir" of the configuration, else <state-dir>/pki)')
    .option('--json', 'print JSON');
}

export function stateDirsFrom(f: StateFlags): { stateDir: string; pkiDir: string } {
  const h = hostFrom(f);
  return { stateDir: h.stateDir, pkiDir: f.pkiDir ?? h.pkiDir };
}

/** The person at the keyboard, for the collector audit. */
export function cliActor(): string {
  let name = process.env.SUDO_USER;
  if (!name) {
    try { name = userInfo().username; } catch { name = 'unknown'; }
  }
  return `cli:${name}`;
}

/** Runs fn with the collector state open (closed afterwards). */
export async function withState<T>(f: StateFlags, fn: (s: CollectorState) => T | Promise<T>): Promise<T> {
  const s = openCollectorState({ ...stateDirsFrom(f), actor: cliActor() });
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}

export function print(f: { json?: boolean }, data: unknown, text: string): void {
  process.stdout.write(f.json ? JSON.stringify(data, null, 2) + '\n' : text.endsWith('\n') ? text : text + '\n');
}
