// Builds the libpcap filter expression the agent captures with (pure: text in, text out).
// It owns the rule that the agent never captures its own traffic to the collector, and the
// optional "this host's frames only" clause for sessions on promiscuous interfaces.
//
// pcap-filter gives `and` and `or` the same precedence, associating left to right, so the
// agent's exclusions are appended LAST: `(<user>) and (<own MAC>) and not (<collector>)`
// then always applies to everything before it, whatever the user expression contains
// (and user expressions with unbalanced parentheses are refused).
import { formatIp, parseIp } from '../../shared/net/ip-address.js';
import { MeerkatError } from '../../shared/errors.js';

export class BpfFilterError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_BPF_FILTER';
  constructor(input: string, expected: string) {
    super(`invalid capture filter input ${JSON.stringify(input)}: expected ${expected}`);
    this.name = 'BpfFilterError';
  }
}

/** A collector the agent ships to: its resolved addresses and TCP port. */
export interface CollectorEndpoint {
  /** IPv4/IPv6 literals (resolve host names before calling; see resolveCollectors in live-capture.ts) */
  addresses: readonly string[];
  port: number;
}

export interface CaptureFilterOptions {
  /** traffic to/from these endpoints is never captured */
  collectors?: readonly CollectorEndpoint[];
  /** the operator's extra filter, ANDed with the agent's clauses ('' = none) */
  userFilter?: string;
  /**
   * For an Ethernet session on an interface that libpcap put in promiscuous mode (`cap` always
   * does): keep only frames sent or received by this MAC, plus group-addressed frames (counted
   * and dropped later as noise). Other hosts' unicast frames are not this host's traffic.
   */
  ownMac?: string;
  /**
   * Drop 127.0.0.0/8 and ::1 in the kernel. On the Linux "any" device every loopback packet
   * shows up twice (sent and received) and would take ring slots from real traffic; the
   * loopback device type itself cannot be tested in the kernel filter there (libpcap falls
   * back to filtering in user space), so the pipeline drops the rest by device type.
   */
  excludeLoopbackNets?: boolean;
}

export const LOOPBACK_EXCLUSION = 'not (net 127.0.0.0/8 or ip6 host ::1)';

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Canonical address text; throws BpfFilterError on anything that is not an IP literal. */
function canonicalAddress(text: string): string {
  let a;
  try {
    a = parseIp(text);
  } catch {
    throw new BpfFilterError(text, 'an IPv4 or IPv6 address literal');
  }
  return formatIp(a.version, a.bytes);
}

function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new BpfFilterError(String(port), 'a TCP port 1..65535');
  return port;
}

/** `(host A or host B) and tcp port P` for one endpoint; '' when it has no addresses. */
function endpointClause(ep: CollectorEndpoint): string {
  const port = checkPort(ep.port);
  const hosts = [...new Set(ep.addresses.map(canonicalAddress))];
  if (hosts.length === 0) return '';
  const hostPart = hosts.length === 1 ? `host ${hosts[0]}` : `(${hosts.map((h) => `host ${h}`).join(' or ')})`;
  return `${hostPart} and tcp port ${port}`;
}

/**
 * The exclusion of the agent's own collector traffic: `not (host H and tcp port P)`, one
 * alternative per endpoint; '' when there is nothing to exclude.
 */
export function collectorExclusion(collectors: readonly CollectorEndpoint[]): string {
  const parts = collectors.map(endpointClause).filter((c) => c !== '');
  if (parts.length === 0) return '';
  if (parts.length === 1) return `not (${parts[0]})`;
  return `not (${parts.map((p) => `(${p})`).join(' or ')})`;
}

/** `ether host M or ether multicast` (group bit set: multicast and broadcast). */
export function ownFramesClause(mac: string): string {
  const m = mac.trim().toLowerCase().replace(/-/g, ':');
  if (!MAC_RE.test(m)) throw new BpfFilterError(mac, 'a MAC address like 02:00:5e:10:00:01');
  return `ether host ${m} or ether multicast`;
}

/**
 * Rejects operator filters whose parentheses do not balance: `x) or (y` would otherwise
 * escape the parentheses the agent wraps it in.
 */
function checkUserFilter(filter: string): string {
  let depth = 0;
  for (let i = 0; i < filter.length; i++) {
    const c = filter.charCodeAt(i);
    if (c === 0x28) depth++;
    else if (c === 0x29 && --depth < 0) break;
  }
  if (depth !== 0) throw new BpfFilterError(filter, 'a pcap-filter expression with balanced parentheses');
  return filter.trim();
}

/** The whole filter for one capture session ('' captures everything). */
export function buildCaptureFilter(opts: CaptureFilterOptions): string {
  const clauses: string[] = [];
  const user = checkUserFilter(opts.userFilter ?? '');
  if (user !== '') clauses.push(`(${user})`);
  if (opts.ownMac !== undefined && opts.ownMac !== '') clauses.push(`(${ownFramesClause(opts.ownMac)})`);
  if (opts.excludeLoopbackNets) clauses.push(LOOPBACK_EXCLUSION);
  const excl = collectorExclusion(opts.collectors ?? []);
  if (excl !== '') clauses.push(excl);
  return clauses.join(' and ');
}
