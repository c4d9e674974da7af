// Limits that keep one agent (or a flood of them) from starving the others, with defaults.

export interface CollectorLimits {
  /** largest dump accepted, bytes (the frame header is extra) */
  maxDumpBytes: number;
  /** unacked uploads the collector advertises to each agent */
  window: number;
  /** received-but-unfinished upload bytes per agent before its socket is paused */
  agentInflightBytes: number;
  /** per-agent sustained upload rate and burst, bytes */
  agentRateBytesPerSec: number;
  agentBurstBytes: number;
  /** all agents together: received-but-unfinished bytes before sockets are paused */
  globalInflightBytes: number;
  /** most agent connections at once */
  maxAgents: number;
  /** seconds between server pings; a connection silent for 3 of these is dropped */
  heartbeatSec: number;
  /** shortest interval between certificate renewals on one connection, seconds */
  renewIntervalSec: number;
}

export const DEFAULT_LIMITS: CollectorLimits = {
  maxDumpBytes: 32 * 1024 * 1024,
  window: 8,
  agentInflightBytes: 64 * 1024 * 1024,
  agentRateBytesPerSec: 16 * 1024 * 1024,
  agentBurstBytes: 64 * 1024 * 1024,
  globalInflightBytes: 512 * 1024 * 1024,
  maxAgents: 20_000,
  heartbeatSec: 30,
  renewIntervalSec: 60,
};
