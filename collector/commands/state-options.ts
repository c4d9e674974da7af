// Where the host-local sub-commands (`org`, `user`) find the collector's state: --state-dir,
// else $MEERKAT_STATE_DIR, else the collector config's stateDir (--config), else the default;
// the PKI in --pki-dir, else the config's pkiDir, else <state dir>/pki. They open it the way
// `run` does (openCollectorState: an old installation is taken into `default` first), so they
// work before the collector's first start and while it runs (SQLite, WAL).
import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { loadCollectorServerConfig, resolvedDirs } from '../server/server-config.js';
import { COLLECTOR_STATE_DIR } from '../../shared/config/state-dirs.js';
import { openCollectorState, type CollectorState } from '../orgs/collector-state.js';

export interface StateFlags {
  config?: string;
  stateDir?: string;
  pkiDir?: string;
  json?: boolean;
}

export function stateOptions(c: Command): Command {
  return c
    .option('--config <file>', 'collector config file (for its stateDir / pkiDir)')
    .option('--state-dir <dir>', `collector state directory (default $MEERKAT_STATE_DIR or ${COLLECTOR_STATE_DIR})`)
    .option('--pki-dir <dir>', 'PKI directory (default <state-dir>/pki)')
    .option('--json', 'print JSON');
}

export function stateDirsFrom(f: StateFlags): { stateDir: string; pkiDir: string } {
  const cfg = loadCollectorServerConfig(f.config);
  const stateDir = f.stateDir ?? process.env.MEERKAT_STATE_DIR ?? cfg.stateDir;
  // the config's pkiDir belongs to the config's state dir; another state dir has its own pki/
  return { stateDir, pkiDir: f.pkiDir ?? (stateDir === cfg.stateDir ? resolvedDirs(cfg).pkiDir : join(stateDir, 'pki')) };
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
