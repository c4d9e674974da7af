// One call for the agent service to get its shipper: identity from the state dir (reloaded
// at every connect, so a renewal takes effect), renewal, heartbeat health from the spool and
// the capture counters. The caller starts it and calls notify() after each spool.put().
import type { Logger } from '../../shared/log.js';
import { loadAgentIdentity } from './agent-identity.js';
import { healthReporter, type CaptureCounters, type SpoolStatsSource } from './agent-health.js';
import { StateDirRenewal } from './identity-renewal.js';
import { Shipper, type CommandHandler, type ShipperSpool } from './shipper.js';

export interface AgentShipperOptions {
  /** the agent's state dir (identity under <stateDir>/identity) */
  stateDir: string;
  spool: ShipperSpool & SpoolStatsSource;
  /** overrides the collector URL recorded at enrollment */
  collectorUrl?: string;
  capture?: () => CaptureCounters;
  onCommand?: CommandHandler;
  window?: number;
  log?: Logger;
  software?: string;
}

/** Throws KeyFileError (naming the file) when the agent is not enrolled or its identity is broken. */
export function createAgentShipper(o: AgentShipperOptions): Shipper {
  const id = loadAgentIdentity(o.stateDir);
  return new Shipper({
    collectorUrl: o.collectorUrl ?? id.collectorUrl,
    agentId: id.agentId,
    credentials: () => {
      const cur = loadAgentIdentity(o.stateDir);
      return { key: cur.keyPem, cert: cur.certPem, ca: cur.caPem };
    },
    spool: o.spool,
    renewal: new StateDirRenewal(o.stateDir),
    health: healthReporter({ spool: o.spool, ...(o.capture ? { capture: o.capture } : {}) }),
    ...(o.onCommand ? { onCommand: o.onCommand } : {}),
    ...(o.window ? { window: o.window } : {}),
    ...(o.log ? { log: o.log } : {}),
    ...(o.software ? { software: o.software } : {}),
  });
}
