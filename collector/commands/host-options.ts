// The two options every `meerkat-collector` sub-command takes to find this host's collector
// (collector-config.ts has the convention): --config and --state-dir.
import type { Command } from 'commander';
import { COLLECTOR_CONFIG_FILE, CONFIG_ENV, STATE_DIR_ENV, collectorHost, type CollectorHost, type CollectorHostFlags } from '../collector-config.js';

export function hostOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', `collector configuration (default $${CONFIG_ENV} or ${COLLECTOR_CONFIG_FILE})`)
    .option('--state-dir <dir>', `state directory (default $${STATE_DIR_ENV}, else "stateDir" of the configuration)`);
}

export function hostFrom(flags: CollectorHostFlags): CollectorHost {
  return collectorHost(flags);
}
