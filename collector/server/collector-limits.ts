// Limits that keep one agent (or a flood of them) from starving the others, with defaults
// (docs/protocol.md, Limits).

export interface CollectorLimits {
  /** largest dump accepted, bytes (the frame header is extra) */
  maxDumpBytes: number;
  /**
   * most packets one dump may declare (nack `too-many-packets` before any decoding). A dump's
   * work - decoding, flows, analyzers - goes by its packets, not its bytes: brotli packs a
   * million identical records into ~200 bytes.
   */
  maxDumpPackets: number;
  /** per-agent sustained packet rate and burst: each dump's packets wait for tokens before it is decoded */
  agentRatePacketsPerSec: number;
  agentBurstPackets: number;
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
  /**
   * seconds a new connection gets for each first step: the TLS handshake, then its first HTTP
   * request, then (on the agent channel) the agent's hello; a connection that stalls is closed
   */
  handshakeTimeoutSec: number;
  /**
   * refused enrollment attempts per source address: refill per second and burst. A source that
   * has used them up gets 429 (not examined, not logged one by one) until they refill.
   */
  enrollFailuresPerSec: number;
  enrollFailureBurst: number;
}

export const DEFAULT_LIMITS: CollectorLimits = {
  maxDumpBytes: 32 * 1024 * 1024,
  // the agent's largest dump (dump.packetsPerDump <= 1,000,000, agent/config.ts)
  maxDumpPackets: 1_000_000,
  // ~20 busy hosts' worth; one agent so limited costs the collector a fraction of a core
  agentRatePacketsPerSec: 200_000,
  agentBurstPackets: 1_000_000,
  window: 8,
  agentInflightBytes: 64 * 1024 * 1024,
  agentRateBytesPerSec: 16 * 1024 * 1024,
  agentBurstBytes: 64 * 1024 * 1024,
  globalInflightBytes: 512 * 1024 * 1024,
  maxAgents: 20_000,
  heartbeatSec: 30,
  renewIntervalSec: 60,
  handshakeTimeoutSec: 20,
  enrollFailuresPerSec: 1,
  enrollFailureBurst: 20,
};
