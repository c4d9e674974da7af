// The interdiction policy: what the agent is asked to cut or slow down on its own host. Every
// backend (nftables, iptables, Windows Firewall) renders the SAME policy, so a command means
// the same thing everywhere. The rules that change it live in policy-changes.ts and
// policy-expiry.ts. Pure.
//
// Addresses are REAL addresses as the host sees them (not collector pseudonyms): whoever turns
// a collector command into a PolicyChange must de-anonymize first.
import type { InterdictionMode } from '../../shared/commands/agent-reports.js';

export type { InterdictionMode };

/** The agent's connection to its collector: kept open whatever else is cut. */
export interface ManagementChannel {
  /** remote (collector) IP address, canonical text */
  address: string;
  /** remote TCP port */
  port: number;
}

export interface BlockEntry {
  /** canonical address or CIDR ("203.0.113.5", "198.51.100.0/24", "2001:db8::/32") */
  peer: string;
  /** ms since the epoch; absent = until released */
  expiresAt?: number;
}

export interface DegradeEntry {
  /** canonical address or CIDR; absent = all traffic (except loopback and the management channel) */
  peer?: string;
  /** cap per direction, bytes per second */
  rateBytesPerSec?: number;
  /** share of packets dropped at random per direction, 0 < x <= 100 (0.01 resolution) */
  lossPercent?: number;
  expiresAt?: number;
}

export interface InterdictionPolicy {
  mode: InterdictionMode;
  /** peers still reachable while isolated (canonical address/CIDR text) */
  allow: string[];
  blocks: BlockEntry[];
  degrade: DegradeEntry[];
  /** ms since the epoch at which isolation ends by itself; absent = until released */
  isolateExpiresAt?: number;
  managementChannels: ManagementChannel[];
}

export type PolicyChange =
  | { kind: 'isolate'; allow?: readonly string[]; forMs?: number }
  | { kind: 'unisolate' }
  | { kind: 'block'; peer: string; forMs?: number }
  | { kind: 'unblock'; peer: string }
  | { kind: 'degrade'; peer?: string; rateBytesPerSec?: number; lossPercent?: number; forMs?: number }
  | { kind: 'undegrade'; peer?: string }
  | { kind: 'release' };

/** Management channels a policy keeps (the collector's addresses); the other bounds are COMMAND_LIMITS. */
export const MAX_MANAGEMENT_CHANNELS = 4;

export function emptyPolicy(managementChannels: readonly ManagementChannel[] = []): InterdictionPolicy {
  return { mode: 'none', allow: [], blocks: [], degrade: [], managementChannels: managementChannels.map((c) => ({ ...c })) };
}

/** Whether anything is cut or slowed (management channels alone change nothing). */
export function hasInterdiction(p: InterdictionPolicy): boolean {
  return p.mode === 'isolate' || p.blocks.length > 0 || p.degrade.length > 0;
}

/** A deep copy: the rules return new policies and never modify their input. */
export function clonePolicy(p: InterdictionPolicy): InterdictionPolicy {
  return {
    mode: p.mode,
    allow: [...p.allow],
    blocks: p.blocks.map((b) => ({ ...b })),
    degrade: p.degrade.map((d) => ({ ...d })),
    ...(p.isolateExpiresAt !== undefined ? { isolateExpiresAt: p.isolateExpiresAt } : {}),
    managementChannels: p.managementChannels.map((c) => ({ ...c })),
  };
}
