#!/usr/bin/env node
// meerkat: the manager console and the owner's tools.
import { Command } from 'commander';
import { runCli } from '../shared/cli/run-cli.js';
import { MEERKAT_VERSION } from '../shared/version.js';
import { registerKeysCommands } from './commands/keys.js';
import { registerPseudonymCommands } from './commands/pseudonyms.js';
import { registerDumpCommands } from './commands/dump.js';
import { registerFlowsCommand } from './commands/flows.js';
import { registerAppLogCommands } from './commands/app-logs.js';
import { register as registerPkiCommands } from './commands/pki.js';
import { registerAlertsCommand } from './commands/alerts.js';
import { registerOperatorCommands } from './commands/operator.js';
import { registerAgentsCommand } from './commands/agents.js';
import { registerInfoCommand } from './commands/info.js';
import { registerCaptureCommands } from './commands/capture.js';
import { registerInterdictionCommands } from './commands/interdiction.js';
import { registerCommandStatusCommands } from './commands/command-status.js';
import { registerPackageCommands } from './commands/package.js';
import { registerPcapCommand } from './commands/pcap.js';
import { registerRetroCommand } from './commands/retro.js';

const program = new Command('meerkat')
  .description('Meerkat manager console: owner keys, pseudonyms, dump files, flows, PKI, agents and remote commands')
  .version(MEERKAT_VERSION);
registerKeysCommands(program);
registerPseudonymCommands(program);
registerDumpCommands(program);
registerFlowsCommand(program);
registerAppLogCommands(program);
registerPkiCommands(program);
registerAlertsCommand(program);
// remote control (after pki and keys: adds `pki operator ...` and `keys operator-init` to them)
registerOperatorCommands(program);
registerAgentsCommand(program);
registerInfoCommand(program);
registerCaptureCommands(program);
registerInterdictionCommands(program);
registerCommandStatusCommands(program);
registerPackageCommands(program);
registerPcapCommand(program);
registerRetroCommand(program);

await runCli(program);
