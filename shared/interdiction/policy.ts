// The interdiction policy: what the agent is asked to cut or slow down on its own host, and the
// pure rules for changing it (isolate, block, degrade, release), expiring timed parts and
// validating input. Every backend (nftables, iptables, Windows Firewall) renders the SAME
// policy, so a command means the same thing everywhere. No I/O here.
//
// Addresses are REAL addresses as the host sees them (not collector pseudonyms): whoever turns
// a collector command into a PolicyChange must de-anonymize first.
import { AddressParseError, formatCidr, parseCidr, parseIp } from '../net/ip-address.js';
import { InputError } from '../errors.js';

/** Input that is not a valid interdiction request; the message names the option and the value. */
export class InterdictionInputError extends InputError {
  readonly code = 'MEERKAT_ERR_INTERDICTION_INPUT';
  constructor(readonly option: string, readonly value: string, expected: string) {
    super(`${option}: expected ${expected}; got ${JSON.stringify(value)}`);
    this.name = 'InterdictionInputError';
  }
}

export type InterdictionMode = 'none' | 'isolate';

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

/** Bounds that keep a policy (and the rulesets made from it) small. */
export const POLICY_LIMITS = {
  allow: 64,
  blocks: 256,
  degrade: 32,
  managementChannels: 4,
  minRateBytesPerSec: 125, // 1 kbit/s
  maxRateBytesPerSec: 12_500_000_000, // 100 Gbit/s
  minDurationMs: 1_000,
  maxDurationMs: 366 * 24 * 3600_000,
} as const;

export function emptyPolicy(managementChannels: readonly ManagementChannel[] = []): InterdictionPolicy {
  return { mode: 'none', allow: [], blocks: [], degrade: [], managementChannels: managementChannels.map((c) => ({ ...c })) };
}

/** Whether anything is cut or slowed (management channels alone change nothing). */
export function hasInterdiction(p: InterdictionPolicy): boolean {
  return p.mode === 'isolate' || p.blocks.length > 0 || p.degrade.length > 0;
}

// ---------------------------------------------------------------------------------------------
// Text validators (CLI words and JSON fields alike)

/**
 * A single address or a CIDR, canonical: bare address for a full-length prefix, else
 * "network/len". Host bits set ("10.1.2.3/8") are refused rather than silently cleared.
 */
export function canonicalPeer(text: string, option = '--peer'): string {
  const expected = 'an IPv4/IPv6 address or CIDR, e.g. 203.0.113.5, 198.51.100.0/24, 2001:db8::/32';
  if (typeof text !== 'string' || text.trim() === '') throw new InterdictionInputError(option, String(text), expected);
  let c;
  try {
    c = parseCidr(text);
  } catch (e) {
    if (e instanceof AddressParseError) throw new InterdictionInputError(option, text, expected);
    throw e;
  }
  const max = c.version === 4 ? 32 : 128;
  const cidrText = formatCidr(c);
  const canon = c.prefixLen === max ? cidrText.slice(0, cidrText.lastIndexOf('/')) : cidrText;
  if (text.includes('/')) {
    const given = parseIp(text.slice(0, text.indexOf('/')));
    for (let i = 0; i < 16; i++) {
      if (given.bytes[i] !== c.bytes[i]) throw new InterdictionInputError(option, text, `a CIDR without host bits set (did you mean ${cidrText}?)`);
    }
  }
  return canon;
}

/** A single IP address (no prefix), canonical text. */
export function canonicalAddress(text: string, option: string): string {
  const peer = canonicalPeer(text, option);
  if (peer.includes('/')) throw new InterdictionInputError(option, text, 'a single IPv4/IPv6 address, not a CIDR');
  return peer;
}

const RATE_RE = /^(\d+(?:\.\d+)?)\s*([kKmMgG]i?)?(bps|b\/s|bits?\/s|bits?|Bps|B\/s|B|bytes?\/s)$/;
const RATE_PREFIX: Record<string, number> = { '': 1, k: 1e3, ki: 1024, m: 1e6, mi: 1024 ** 2, g: 1e9, gi: 1024 ** 3 };

/**
 * "2kbps", "1Mbit/s", "64KB/s", "500B/s", "1.5MiB/s" -> bytes per second (integer, rounded).
 * Lower-case b = bits, upper-case B = bytes; k/M/G are powers of 1000, Ki/Mi/Gi of 1024.
 */
export function parseRate(text: string, option = '--rate'): number {
  const expected = `a rate e.g. 2kbps, 64KB/s, 1Mbit/s (${POLICY_LIMITS.minRateBytesPerSec} B/s .. 100 Gbit/s)`;
  const m = RATE_RE.exec(typeof text === 'string' ? text.trim() : '');
  if (!m) throw new InterdictionInputError(option, String(text), expected);
  const mult = RATE_PREFIX[(m[2] ?? '').toLowerCase()]!;
  const bits = m[3]!.startsWith('b') && !m[3]!.startsWith('byte');
  const bytesPerSec = Math.round((Number(m[1]) * mult) / (bits ? 8 : 1));
  if (!Number.isFinite(bytesPerSec) || bytesPerSec < POLICY_LIMITS.minRateBytesPerSec || bytesPerSec > POLICY_LIMITS.maxRateBytesPerSec) {
    throw new InterdictionInputError(option, String(text), expected);
  }
  return bytesPerSec;
}

/** "50%", "50", "12.5%" -> percent in (0, 100], two decimals at most. */
export function parseLoss(text: string, option = '--loss'): number {
  const expected = 'a loss percentage in (0, 100], e.g. 50%';
  const t = typeof text === 'string' ? text.trim() : '';
  const m = /^(\d{1,3}(?:\.\d{1,2})?)\s*%?$/.exec(t);
  if (!m) throw new InterdictionInputError(option, String(text), expected);
  return checkLoss(Number(m[1]), option, String(text));
}

function checkLoss(n: number, option: string, shown: string): number {
  if (!Number.isFinite(n) || n <= 0 || n > 100 || Math.abs(Math.round(n * 100) - n * 100) > 1e-6) {
    throw new InterdictionInputError(option, shown, 'a loss percentage in (0, 100], e.g. 50%');
  }
  return n;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };

/** "30s", "10m", "2h", "1d", "1h30m", "1500ms" -> milliseconds (1 s .. 366 days). */
export function parseDuration(text: string, option = '--for'): number {
  const expected = 'a duration e.g. 30s, 10m, 2h, 1h30m (1s .. 366d)';
  const t = typeof text === 'string' ? text.trim() : '';
  if (!/^(\d+(ms|s|m|h|d))+$/.test(t)) throw new InterdictionInputError(option, String(text), expected);
  let ms = 0;
  for (const part of t.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(part[1]) * DURATION_UNITS[part[2]!]!;
  return checkDuration(ms, option, String(text));
}

function checkDuration(ms: number, option: string, shown: string): number {
  if (!Number.isInteger(ms) || ms < POLICY_LIMITS.minDurationMs || ms > POLICY_LIMITS.maxDurationMs) {
    throw new InterdictionInputError(option, shown, 'a duration e.g. 30s, 10m, 2h, 1h30m (1s .. 366d)');
  }
  return ms;
}

export function parseManagementChannel(address: string, port: number): ManagementChannel {
  const a = canonicalAddress(address, 'management channel address');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InterdictionInputError('management channel port', String(port), 'a TCP port 1..65535');
  return { address: a, port };
}

// ---------------------------------------------------------------------------------------------
// Changes

function checkRate(n: number, option: string): number {
  if (!Number.isInteger(n) || n < POLICY_LIMITS.minRateBytesPerSec || n > POLICY_LIMITS.maxRateBytesPerSec) {
    throw new InterdictionInputError(option, String(n), `an integer rate in bytes/s, ${POLICY_LIMITS.minRateBytesPerSec} .. ${POLICY_LIMITS.maxRateBytesPerSec}`);
  }
  return n;
}

function until(nowMs: number, forMs: number | undefined): number | undefined {
  return forMs === undefined ? undefined : nowMs + checkDuration(forMs, '--for', String(forMs));
}

function clonePolicy(p: InterdictionPolicy): InterdictionPolicy {
  return {
    mode: p.mode,
    allow: [...p.allow],
    blocks: p.blocks.map((b) => ({ ...b })),
    degrade: p.degrade.map((d) => ({ ...d })),
    ...(p.isolateExpiresAt !== undefined ? { isolateExpiresAt: p.isolateExpiresAt } : {}),
    managementChannels: p.managementChannels.map((c) => ({ ...c })),
  };
}

/**
 * The policy after one change (a new object; the input is not modified). Re-issuing a command
 * for the same peer replaces that entry (new rate, new expiry); `isolate` replaces the allow list.
 * @throws InterdictionInputError for invalid values or when a limit would be exceeded
 */
export function applyPolicyChange(policy: InterdictionPolicy, change: PolicyChange, nowMs: number): InterdictionPolicy {
  const p = clonePolicy(policy);
  switch (change.kind) {
    case 'isolate': {
      const allow = dedupe((change.allow ?? []).map((a) => canonicalPeer(a, '--allow')));
      if (allow.length > POLICY_LIMITS.allow) throw new InterdictionInputError('--allow', `${allow.length} entries`, `at most ${POLICY_LIMITS.allow} entries`);
      if (p.managementChannels.length === 0) {
        // isolating without a known collector channel would lock the operator out of the host
        throw new InterdictionInputError('isolate', 'no management channel', 'the collector address and port to be set first (setManagementChannel)');
      }
      p.mode = 'isolate';
      p.allow = allow;
      const exp = until(nowMs, change.forMs);
      if (exp === undefined) delete p.isolateExpiresAt;
      else p.isolateExpiresAt = exp;
      return p;
    }
    case 'unisolate':
      p.mode = 'none';
      p.allow = [];
      delete p.isolateExpiresAt;
      return p;
    case 'block': {
      const peer = canonicalPeer(change.peer, '--peer');
      const exp = until(nowMs, change.forMs);
      const entry: BlockEntry = exp === undefined ? { peer } : { peer, expiresAt: exp };
      const i = p.blocks.findIndex((b) => b.peer === peer);
      if (i >= 0) p.blocks[i] = entry;
      else {
        if (p.blocks.length >= POLICY_LIMITS.blocks) throw new InterdictionInputError('--peer', peer, `room for another block (at most ${POLICY_LIMITS.blocks})`);
        p.blocks.push(entry);
      }
      return p;
    }
    case 'unblock': {
      const peer = canonicalPeer(change.peer, '--peer');
      p.blocks = p.blocks.filter((b) => b.peer !== peer);
      return p;
    }
    case 'degrade': {
      const peer = change.peer === undefined ? undefined : canonicalPeer(change.peer, '--peer');
      if (change.rateBytesPerSec === undefined && change.lossPercent === undefined) {
        throw new InterdictionInputError('degrade', 'neither --rate nor --loss', 'at least one of --rate or --loss');
      }
      const entry: DegradeEntry = {};
      if (peer !== undefined) entry.peer = peer;
      if (change.rateBytesPerSec !== undefined) entry.rateBytesPerSec = checkRate(change.rateBytesPerSec, '--rate');
      if (change.lossPercent !== undefined) entry.lossPercent = checkLoss(change.lossPercent, '--loss', String(change.lossPercent));
      const exp = until(nowMs, change.forMs);
      if (exp !== undefined) entry.expiresAt = exp;
      const i = p.degrade.findIndex((d) => d.peer === peer);
      if (i >= 0) p.degrade[i] = entry;
      else {
        if (p.degrade.length >= POLICY_LIMITS.degrade) throw new InterdictionInputError('--peer', peer ?? 'all', `room for another degrade entry (at most ${POLICY_LIMITS.degrade})`);
        p.degrade.push(entry);
      }
      return p;
    }
    case 'undegrade': {
      const peer = change.peer === undefined ? undefined : canonicalPeer(change.peer, '--peer');
      p.degrade = p.degrade.filter((d) => d.peer !== peer);
      return p;
    }
    case 'release':
      return emptyPolicy(p.managementChannels);
    default:
      throw new InterdictionInputError('command', String((change as { kind?: unknown }).kind), 'one of isolate, unisolate, block, unblock, degrade, undegrade, release');
  }
}

function dedupe(list: readonly string[]): string[] {
  return [...new Set(list)];
}

/** What expired, for the log / command results. */
export interface ExpiredPart {
  kind: 'isolate' | 'block' | 'degrade';
  peer?: string;
  expiresAt: number;
}

/** Drops every part whose expiry is at or before nowMs. */
export function expirePolicy(policy: InterdictionPolicy, nowMs: number): { policy: InterdictionPolicy; expired: ExpiredPart[] } {
  const expired: ExpiredPart[] = [];
  const p = clonePolicy(policy);
  if (p.mode === 'isolate' && p.isolateExpiresAt !== undefined && p.isolateExpiresAt <= nowMs) {
    expired.push({ kind: 'isolate', expiresAt: p.isolateExpiresAt });
    p.mode = 'none';
    p.allow = [];
    delete p.isolateExpiresAt;
  }
  p.blocks = p.blocks.filter((b) => {
    if (b.expiresAt !== undefined && b.expiresAt <= nowMs) { expired.push({ kind: 'block', peer: b.peer, expiresAt: b.expiresAt }); return false; }
    return true;
  });
  p.degrade = p.degrade.filter((d) => {
    if (d.expiresAt !== undefined && d.expiresAt <= nowMs) {
      expired.push(d.peer === undefined ? { kind: 'degrade', expiresAt: d.expiresAt } : { kind: 'degrade', peer: d.peer, expiresAt: d.expiresAt });
      return false;
    }
    return true;
  });
  return { policy: p, expired };
}

/** The earliest expiry in the policy (ms since the epoch), if any part is timed. */
export function nextExpiry(p: InterdictionPolicy): number | undefined {
  let next: number | undefined;
  const see = (t: number | undefined): void => { if (t !== undefined && (next === undefined || t < next)) next = t; };
  if (p.mode === 'isolate') see(p.isolateExpiresAt);
  for (const b of p.blocks) see(b.expiresAt);
  for (const d of p.degrade) see(d.expiresAt);
  return next;
}

/** Replaces the management channels (validated, deduplicated). */
export function withManagementChannels(p: InterdictionPolicy, channels: readonly ManagementChannel[]): InterdictionPolicy {
  const out = clonePolicy(p);
  const seen = new Set<string>();
  out.managementChannels = [];
  for (const c of channels) {
    const v = parseManagementChannel(c.address, c.port);
    const key = `${v.address}|${v.port}`;
    if (!seen.has(key)) { seen.add(key); out.managementChannels.push(v); }
  }
  if (out.managementChannels.length > POLICY_LIMITS.managementChannels) {
    throw new InterdictionInputError('management channels', `${out.managementChannels.length} entries`, `at most ${POLICY_LIMITS.managementChannels}`);
  }
  if (out.mode === 'isolate' && out.managementChannels.length === 0) {
    throw new InterdictionInputError('management channels', 'none', 'at least one while the host is isolated');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Structured input (state file, JSON commands)

/** A policy read from disk or the wire, checked field by field. @throws InterdictionInputError */
export function validatePolicy(x: unknown): InterdictionPolicy {
  const o = asObject(x, 'policy');
  if (o.mode !== 'none' && o.mode !== 'isolate') throw new InterdictionInputError('policy.mode', String(o.mode), '"none" or "isolate"');
  const p = emptyPolicy();
  p.mode = o.mode;
  p.allow = dedupe(asArray(o.allow, 'policy.allow', POLICY_LIMITS.allow).map((a) => canonicalPeer(String(a), 'policy.allow')));
  for (const b of asArray(o.blocks, 'policy.blocks', POLICY_LIMITS.blocks)) {
    const bo = asObject(b, 'policy.blocks[]');
    const e: BlockEntry = { peer: canonicalPeer(String(bo.peer), 'policy.blocks[].peer') };
    if (bo.expiresAt !== undefined) e.expiresAt = asTime(bo.expiresAt, 'policy.blocks[].expiresAt');
    p.blocks.push(e);
  }
  for (const d of asArray(o.degrade, 'policy.degrade', POLICY_LIMITS.degrade)) {
    const dobj = asObject(d, 'policy.degrade[]');
    const e: DegradeEntry = {};
    if (dobj.peer !== undefined) e.peer = canonicalPeer(String(dobj.peer), 'policy.degrade[].peer');
    if (dobj.rateBytesPerSec !== undefined) e.rateBytesPerSec = checkRate(Number(dobj.rateBytesPerSec), 'policy.degrade[].rateBytesPerSec');
    if (dobj.lossPercent !== undefined) e.lossPercent = checkLoss(Number(dobj.lossPercent), 'policy.degrade[].lossPercent', String(dobj.lossPercent));
    if (e.rateBytesPerSec === undefined && e.lossPercent === undefined) throw new InterdictionInputError('policy.degrade[]', JSON.stringify(d), 'rateBytesPerSec and/or lossPercent');
    if (dobj.expiresAt !== undefined) e.expiresAt = asTime(dobj.expiresAt, 'policy.degrade[].expiresAt');
    p.degrade.push(e);
  }
  if (o.isolateExpiresAt !== undefined) p.isolateExpiresAt = asTime(o.isolateExpiresAt, 'policy.isolateExpiresAt');
  const channels = asArray(o.managementChannels, 'policy.managementChannels', POLICY_LIMITS.managementChannels).map((c) => {
    const co = asObject(c, 'policy.managementChannels[]');
    return parseManagementChannel(String(co.address), Number(co.port));
  });
  p.managementChannels = channels;
  return p;
}

/** A change from JSON (e.g. a verified collector command body). @throws InterdictionInputError */
export function validatePolicyChange(x: unknown): PolicyChange {
  const o = asObject(x, 'change');
  const forMs = o.forMs === undefined ? undefined : checkDuration(Number(o.forMs), 'forMs', String(o.forMs));
  const opt = <T extends object>(v: T, key: string, value: unknown): T => (value === undefined ? v : { ...v, [key]: value });
  switch (o.kind) {
    case 'isolate':
      return opt(opt({ kind: 'isolate' as const }, 'allow', o.allow === undefined ? undefined : asArray(o.allow, 'allow', POLICY_LIMITS.allow).map((a) => canonicalPeer(String(a), '--allow'))), 'forMs', forMs);
    case 'unisolate':
    case 'release':
      return { kind: o.kind };
    case 'block':
      return opt({ kind: 'block' as const, peer: canonicalPeer(String(o.peer), '--peer') }, 'forMs', forMs);
    case 'unblock':
      return { kind: 'unblock', peer: canonicalPeer(String(o.peer), '--peer') };
    case 'degrade': {
      let c: PolicyChange & { kind: 'degrade' } = { kind: 'degrade' };
      if (o.peer !== undefined) c = { ...c, peer: canonicalPeer(String(o.peer), '--peer') };
      if (o.rateBytesPerSec !== undefined) c = { ...c, rateBytesPerSec: checkRate(Number(o.rateBytesPerSec), '--rate') };
      if (o.lossPercent !== undefined) c = { ...c, lossPercent: checkLoss(Number(o.lossPercent), '--loss', String(o.lossPercent)) };
      if (c.rateBytesPerSec === undefined && c.lossPercent === undefined) throw new InterdictionInputError('degrade', 'neither --rate nor --loss', 'at least one of --rate or --loss');
      return opt(c, 'forMs', forMs);
    }
    case 'undegrade':
      return o.peer === undefined ? { kind: 'undegrade' } : { kind: 'undegrade', peer: canonicalPeer(String(o.peer), '--peer') };
    default:
      throw new InterdictionInputError('kind', String(o.kind), 'one of isolate, unisolate, block, unblock, degrade, undegrade, release');
  }
}

function asObject(x: unknown, what: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new InterdictionInputError(what, JSON.stringify(x) ?? String(x), 'an object');
  return x as Record<string, unknown>;
}

function asArray(x: unknown, what: string, max: number): unknown[] {
  if (x === undefined) return [];
  if (!Array.isArray(x)) throw new InterdictionInputError(what, JSON.stringify(x) ?? String(x), 'an array');
  if (x.length > max) throw new InterdictionInputError(what, `${x.length} entries`, `at most ${max} entries`);
  return x;
}

function asTime(x: unknown, what: string): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw new InterdictionInputError(what, String(x), 'a time in ms since the epoch');
  return x;
}

// ---------------------------------------------------------------------------------------------
// Command words

const USAGE = 'isolate [--allow ADDR...] [--for DURATION] | unisolate | block --peer ADDR|CIDR [--for DURATION] | unblock --peer ADDR|CIDR | degrade [--peer ADDR|CIDR] [--rate RATE] [--loss PERCENT] [--for DURATION] | undegrade [--peer ADDR|CIDR] | release';

/**
 * The command-line form (`isolate --allow 10.0.0.5 --for 2h`, `block --peer 203.0.113.0/24`,
 * `degrade --peer 198.51.100.7 --rate 2kbps --loss 50%`, `release`) -> a PolicyChange.
 * `--allow` may repeat, take a comma list, or take several words up to the next option.
 */
export function parseInterdictionArgs(argv: readonly string[]): PolicyChange {
  const [verb, ...rest] = argv;
  const opts = new Map<string, string[]>();
  let current: string | undefined;
  for (const word of rest) {
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = eq >= 0 ? word.slice(0, eq) : word;
      current = name;
      if (!opts.has(name)) opts.set(name, []);
      if (eq >= 0) opts.get(name)!.push(word.slice(eq + 1));
      continue;
    }
    if (current === undefined) throw new InterdictionInputError(verb ?? 'command', word, `an option (${USAGE})`);
    opts.get(current)!.push(word);
  }
  const allowed: Record<string, readonly string[]> = {
    isolate: ['--allow', '--for'],
    unisolate: [],
    block: ['--peer', '--for'],
    unblock: ['--peer'],
    degrade: ['--peer', '--rate', '--loss', '--for'],
    undegrade: ['--peer'],
    release: [],
  };
  if (verb === undefined || !(verb in allowed)) throw new InterdictionInputError('command', verb ?? '', USAGE);
  for (const name of opts.keys()) {
    if (!allowed[verb]!.includes(name)) throw new InterdictionInputError(verb, name, `one of the options ${allowed[verb]!.join(', ') || '(none)'}`);
  }
  const one = (name: string, required: boolean): string | undefined => {
    const v = opts.get(name);
    if (v === undefined) {
      if (required) throw new InterdictionInputError(verb, `missing ${name}`, `${name} VALUE`);
      return undefined;
    }
    if (v.length !== 1) throw new InterdictionInputError(name, v.join(' '), 'exactly one value');
    return v[0]!;
  };
  const forText = one('--for', false);
  const forMs = forText === undefined ? undefined : parseDuration(forText, '--for');
  const withFor = <T extends object>(c: T): T => (forMs === undefined ? c : { ...c, forMs });
  switch (verb) {
    case 'isolate': {
      const allow = (opts.get('--allow') ?? []).flatMap((w) => w.split(',')).filter((w) => w !== '').map((a) => canonicalPeer(a, '--allow'));
      if (opts.has('--allow') && allow.length === 0) throw new InterdictionInputError('--allow', '', 'one or more addresses/CIDRs');
      return withFor(allow.length > 0 ? { kind: 'isolate' as const, allow } : { kind: 'isolate' as const });
    }
    case 'block':
      return withFor({ kind: 'block' as const, peer: canonicalPeer(one('--peer', true)!, '--peer') });
    case 'unblock':
      return { kind: 'unblock', peer: canonicalPeer(one('--peer', true)!, '--peer') };
    case 'degrade': {
      const peerText = one('--peer', false);
      const rateText = one('--rate', false);
      const lossText = one('--loss', false);
      let c: PolicyChange & { kind: 'degrade' } = { kind: 'degrade' };
      if (peerText !== undefined) c = { ...c, peer: canonicalPeer(peerText, '--peer') };
      if (rateText !== undefined) c = { ...c, rateBytesPerSec: parseRate(rateText, '--rate') };
      if (lossText !== undefined) c = { ...c, lossPercent: parseLoss(lossText, '--loss') };
      if (rateText === undefined && lossText === undefined) throw new InterdictionInputError('degrade', 'neither --rate nor --loss', 'at least one of --rate 2kbps or --loss 50%');
      return withFor(c);
    }
    case 'undegrade': {
      const peerText = one('--peer', false);
      return peerText === undefined ? { kind: 'undegrade' } : { kind: 'undegrade', peer: canonicalPeer(peerText, '--peer') };
    }
    default:
      return { kind: verb as 'unisolate' | 'release' };
  }
}

/** One line per active part, for logs and command results. */
export function describePolicy(p: InterdictionPolicy, nowMs: number): string[] {
  const left = (t: number | undefined): string => (t === undefined ? '' : ` (${Math.max(0, Math.ceil((t - nowMs) / 1000))} s left)`);
  const lines: string[] = [];
  if (p.mode === 'isolate') lines.push(`isolate; allowed: ${p.allow.length > 0 ? p.allow.join(', ') : 'none'}${left(p.isolateExpiresAt)}`);
  for (const b of p.blocks) lines.push(`block ${b.peer}${left(b.expiresAt)}`);
  for (const d of p.degrade) {
    const what = [d.rateBytesPerSec !== undefined ? `rate ${d.rateBytesPerSec} B/s` : '', d.lossPercent !== undefined ? `loss ${d.lossPercent}%` : ''].filter(Boolean).join(', ');
    lines.push(`degrade ${d.peer ?? 'all'}: ${what}${left(d.expiresAt)}`);
  }
  for (const c of p.managementChannels) lines.push(`management channel ${c.address.includes(':') ? `[${c.address}]` : c.address}:${c.port}`);
  return lines;
}
