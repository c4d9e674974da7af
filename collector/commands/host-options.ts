// The two options every `meerkat-collector` sub-command takes to find this host's collector
// (collector-config.ts has the convention): --config and --state-dir.
import type { Command } from 'commander';
import { COLLECTOR_CONFIG_FILE, CONFIG_ENV, STATE_DIR_ENV, collectorHost, type CollectorHost, type CollectorHostFlags } from '../collector-config.js';
import { hasOrgCa, UnknownOrgError } from '../../certs/org-ca-paths.js';
import { DEFAULT_ORG, checkOrgId } from '../../shared/orgs/org-id.js';
import { orgDbPath } from '../flow-service.js';

export function hostOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', `collector configuration (default $${CONFIG_ENV} or ${COLLECTOR_CONFIG_FILE})`)
    .option('--state-dir <dir>', `state directory (default $${STATE_DIR_ENV}, else "stateDir" of the configuration)`);
}

export function hostFrom(flags: CollectorHostFlags): CollectorHost {
  return collectorHost(flags);
}

/** The database of an organisation of this host's collector (--org); UnknownOrgError for one it does not have. */
export function orgDatabase(flags: CollectorHostFlags, org: string = DEFAULT_ORG): string {
  const h = hostFrom(flags);
  if (checkOrgId(org) !== DEFAULT_ORG && !hasOrgCa(h.pkiDir, org)) throw new UnknownOrgError(org);
  return orgDbPath(h.config, org);
}
