#!/usr/bin/env node
// meerkat: the manager console and the owner's tools.
import { Command } from 'commander';
import { runCli } from '../shared/cli/run-cli.js';
import { MEERKAT_VERSION } from '../shared/version.js';
import { registerKeysCommands } from './commands/keys.js';
import { registerPseudonymCommands } from './commands/pseudonyms.js';
import { registerDumpCommands } from './commands/dump.js';
import { registerFlowsCommand } from './commands/flows.js';
import { register as registerPkiCommands } from './commands/pki.js';

const program = new Command('meerkat')
  .description('Meerkat manager console: owner keys, pseudonyms, dump files, flows, PKI')
  .version(MEERKAT_VERSION);
registerKeysCommands(program);
registerPseudonymCommands(program);
registerDumpCommands(program);
registerFlowsCommand(program);
registerPkiCommands(program);

await runCli(program);
