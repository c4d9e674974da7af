#!/usr/bin/env node
// meerkat-collector: the server (mTLS ingest, flows, store) and offline import.
import { Command } from 'commander';
import { runCli } from '../shared/cli/run-cli.js';
import { MEERKAT_VERSION } from '../shared/version.js';
import { registerImportCommand } from './commands/import.js';
import { registerModelCommand } from './commands/model.js';
import { flowServiceHooks } from './flow-service.js';
import { registerRunWithControl } from './control/control-run.js';
import { withPayloadRetention } from './payload/payload-hooks.js';

const program = new Command('meerkat-collector')
  .description('Meerkat collector: receives dumps from agents over mutual TLS, builds flows, stores them; imports captures offline')
  .version(MEERKAT_VERSION);
// `run` with the control side (command queue, admin API); see collector/control/control-run.ts
// payload retention (by bytes and age) around the flow side; see collector/payload/
registerRunWithControl(program, withPayloadRetention(flowServiceHooks));
registerImportCommand(program);
registerModelCommand(program);

await runCli(program);
