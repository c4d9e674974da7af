#!/usr/bin/env node
// meerkat-collector: the server (mTLS ingest, flows, store) and offline import.
import { Command } from 'commander';
import { runCli } from '../shared/cli/run-cli.js';
import { MEERKAT_VERSION } from '../shared/version.js';
import { registerImportCommand } from './commands/import.js';
import { registerModelCommand } from './commands/model.js';
import { register as registerRunCommand } from './commands/run.js';
import { registerOrgCommands } from './commands/org.js';
import { registerUserCommands } from './commands/user.js';

const program = new Command('meerkat-collector')
  .description('Meerkat collector: receives dumps from agents over mutual TLS, builds flows, stores them per organisation; imports captures offline; manages organisations and users')
  .version(MEERKAT_VERSION);
registerRunCommand(program);
registerImportCommand(program);
registerModelCommand(program);
registerOrgCommands(program);
registerUserCommands(program);

await runCli(program);
