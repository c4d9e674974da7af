#!/usr/bin/env node
// meerkat: the operator's console and the network owner's tools. Settings (the collector's
// API, the operator directory, the owner keys) come from flags, the environment or
// ~/.meerkat/config.json (console/settings.ts). The collector host's own administration (init,
// tokens, PKI) is `meerkat-collector`.
import { Command } from 'commander';
import { runCli } from '../shared/cli/run-cli.js';
import { MEERKAT_VERSION } from '../shared/version.js';
import { registerKeysCommands } from './commands/keys.js';
import { registerPseudonymCommands } from './commands/pseudonyms.js';
import { registerDumpCommands } from './commands/dump.js';
import { registerFlowsCommand } from './commands/flows.js';
import { registerAppLogCommands } from './commands/app-logs.js';
import { registerAlertsCommand } from './commands/alerts.js';
import { registerAgentsCommand } from './commands/agents.js';
import { registerInfoCommand } from './commands/info.js';
import { registerCaptureCommands } from './commands/capture.js';
import { registerInterdictionCommands } from './commands/interdiction.js';
import { registerCommandStatusCommands } from './commands/command-status.js';
import { registerPackageCommands } from './commands/package.js';
import { registerPcapCommand } from './commands/pcap.js';
import { registerRetroCommand } from './commands/retro.js';
import { registerSettingsCommand } from './commands/settings.js';
import { registerMovedCommands } from './commands/moved.js';

const program = new Command('meerkat')
  .description('Meerkat console: agents, flows, alerts and remote commands through the collector\'s API; the owner\'s keys, pseudonyms and packages')
  .version(MEERKAT_VERSION);
registerAgentsCommand(program);
registerFlowsCommand(program);
registerAlertsCommand(program);
registerAppLogCommands(program);
registerInfoCommand(program);
registerCaptureCommands(program);
registerInterdictionCommands(program);
registerCommandStatusCommands(program);
registerPcapCommand(program);
registerRetroCommand(program);
registerKeysCommands(program);
registerPseudonymCommands(program);
registerPackageCommands(program);
registerDumpCommands(program);
registerSettingsCommand(program);
registerMovedCommands(program);

await runCli(program);
