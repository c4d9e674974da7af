#!/usr/bin/env node
// meerkat-collector: the server and the host-local administration of this collector. Every
// sub-command finds the configuration and the state directory the same way
// (collector/collector-config.ts: --config, $MEERKAT_COLLECTOR_CONFIG, /etc/meerkat-collector/collector.json;
// --state-dir, $MEERKAT_STATE_DIR, "stateDir").
// Only the sub-command named on the command line is loaded (its modules are most of a short
// command's start-up: an import need not load the PKI's node-forge); without one (--help,
// --version, a mistyped name) all are, so help and "unknown command" list them all.
import { Command } from 'commander';
import { config as zodConfig } from 'zod/mini';
import { runCli } from '../shared/cli/run-cli.js';
import { MEERKAT_VERSION } from '../shared/version.js';
import { COLLECTOR_COMMANDS } from './commands/command-table.js';

async function main(): Promise<void> {
  const program = new Command('meerkat-collector')
    .description('Meerkat collector: receives dumps from agents over mutual TLS, builds flows and alerts, stores them per organisation; and this host\'s administration: init, org, user, token, pki, import, model')
    .version(MEERKAT_VERSION);
  const named = COLLECTOR_COMMANDS.find((c) => c.name === process.argv[2]);
  // set before the command's modules build their schemas (zod reads it then)
  if (named?.longRunning !== true) zodConfig({ jitless: true });
  for (const c of named ? [named] : COLLECTOR_COMMANDS) (await c.load())(program);

  await runCli(program);
}

// no top-level await: the same entry is also bundled as a classic script (collector/start/cached-start.ts)
void main();
