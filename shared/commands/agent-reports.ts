// What agents report back in command results and status, as the collector stores it and the
// console shows it: the machine inventory (plain half + sealed half), the capture settings in
// force, and the interdiction policy as the collector may see it (pseudonyms, never real
// addresses). Types only: the agent builds these, the console reads them.
import type { SealedBox } from './sealed-box-open.js';

/** Whether the host is cut off (isolate) or not; blocks and degradation are listed apart. */
export type InterdictionMode = 'none' | 'isolate';

export interface LoginSession {
  user: string;
  /** terminal (tty line), e.g. "pts/0" */
  line: string;
  /** remote host for network logins ('' for local) */
  host: string;
  /** login time, ms since the epoch */
  sinceMs: number;
}

export interface InventoryPlain {
  os: { platform: string; release: string; distro: string; arch: string };
  cpu: { model: string; cores: number; loadavg: number[] };
  memory: { totalBytes: number; freeBytes: number };
  disks: { fsType: string; sizeBytes: number; freeBytes: number }[];
  /** interface names with the pseudonyms of their addresses (as the collector's data shows them) */
  interfaces: { name: string; ipv4: number; ipv6: number; pseudonyms: string[] }[];
  uptimeSec: number;
  users: { sessions: number; accounts: number };
  agent: { version: string; uptimeSec: number; rssBytes: number; heapUsedBytes: number; cpuSeconds: number };
}

export interface InventorySensitive {
  hostname: string;
  users: { sessions: LoginSession[]; accounts: string[] };
  interfaces: { name: string; mac: string; addresses: string[] }[];
  disks: { mount: string; device: string; fsType: string }[];
}

export interface InventoryReport {
  v: 1;
  collectedAt: string;
  plain: InventoryPlain;
  /** the sensitive half sealed to the owner, or null when no owner key is installed */
  sealed: SealedBox | null;
  note?: string;
}

export interface CaptureControlState {
  snapLen: number;
  dump: { packets: number; seconds: number };
  capture: 'running' | 'stopped';
  shipping: 'running' | 'paused';
  peerCapture: { peer: string; port?: number; snapLen: number; until: string }[];
}

/** A policy as the collector may see it: every address through PeerResolver.toDisplay. */
export interface DisplayedInterdiction {
  backend: string;
  mode: InterdictionMode;
  /** one line per active part (isolate, block, degrade, management channel) */
  active: string[];
  /** the kernel holds exactly the rules of the policy (read back after the change) */
  verified: boolean;
  expired?: { kind: string; peer?: string; at: string }[];
  /** after a change: our rules exactly as the kernel lists them (their comments, pseudonymized) */
  kernelRules?: string[];
}
