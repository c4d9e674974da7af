#!/usr/bin/env node
// meerkat-agent: the endpoint service (capture, anonymize, pack, spool, ship).
import { Command } from 'commander';
import { runCli } from '../shared/cli/run-cli.js';
import { MEERKAT_VERSION } from '../shared/version.js';
import { registerReplayCommand } from './commands/replay.js';
import { registerRunCommand } from './commands/run.js';
import { register as registerEnrollCommand } from './commands/enroll.js';

const program = new Command('meerkat-agent')
  .description('Meerkat endpoint agent: captures this host\'s packets, anonymizes them, packs dump files and ships them to the collector')
  .version(MEERKAT_VERSION);
registerRunCommand(program);
registerEnrollCommand(program);
registerReplayCommand(program);

await runCli(program);
