#!/usr/bin/env node
// meerkat-collector: the server and the host-local administration of this collector. Every
// sub-command finds the configuration and the state directory the same way
// (collector/collector-config.ts: --config, $MEERKAT_COLLECTOR_CONFIG, /etc/meerkat-collector/collector.json;
// --state-dir, $MEERKAT_STATE_DIR, "stateDir").
import { Command } from 'commander';
import { runCli } from '../shared/cli/run-cli.js';
import { MEERKAT_VERSION } from '../shared/version.js';
import { registerInitCommand } from './commands/init.js';
import { registerImportCommand } from './commands/import.js';
import { registerModelCommand } from './commands/model.js';
import { registerPkiCommands } from './commands/pki.js';
import { register as registerRunCommand } from './commands/run.js';
import { registerOrgCommands } from './commands/org.js';
import { registerTokenCommands } from './commands/token.js';
import { registerUserCommands } from './commands/user.js';

const program = new Command('meerkat-collector')
  .description('Meerkat collector: receives dumps from agents over mutual TLS, builds flows and alerts, stores them per organisation; and this host\'s administration: init, org, user, token, pki, import, model')
  .version(MEERKAT_VERSION);
registerInitCommand(program);
registerRunCommand(program);
registerTokenCommands(program);
registerPkiCommands(program);
registerImportCommand(program);
registerModelCommand(program);
registerOrgCommands(program);
registerUserCommands(program);

await runCli(program);
