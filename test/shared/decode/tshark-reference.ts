// Test helper: runs tshark on a capture (once per file per test process) and
// turns its per-frame field output into what the readers and the decoder should
// find: frame timing/lengths, and the facts of the innermost or outermost IP layer.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';

const run = promisify(execFile);

/** Keep tshark close to one-frame-at-a-time decoding: no reassembly, no name lookups. */
export const TSHARK_NO_REASSEMBLY: readonly string[] = ['-n', '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-o', 'tcp.desegment_tcp_streams:FALSE'];

/** One row per frame, one string per field; repeated fields' occurrences comma-separated. */
export async function tsharkFields(file: string, fields: readonly string[], extraArgs: readonly string[] = []): Promise<string[][]> {
  const args = ['-r', file, ...extraArgs, '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const f of fields) args.push('-e', f);
  const { stdout } = await run('tshark', args, { maxBuffer: 1024 * 1024 * 1024 });
  const lines = stdout.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => l.split('\t'));
}

/** The fields of the shared reference run, by name -> column. */
export const REFERENCE_FIELDS = [
  'frame.number', 'frame.protocols', 'frame.time_epoch', 'frame.len', 'frame.cap_len', 'frame.interface_id',
  'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'ip.proto', 'ipv6.nxt',
  'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'udp.length', 'sctp.srcport', 'sctp.dstport',
  'icmp.type', 'icmp.code', 'icmpv6.type', 'icmpv6.code',
  'ip.len', 'ip.ttl', 'ip.id', 'ip.flags.mf', 'ip.flags.df', 'ip.frag_offset',
  'ipv6.plen', 'ipv6.hlim', 'ipv6.fraghdr.offset', 'ipv6.fraghdr.more', 'ipv6.fraghdr.ident',
  'tcp.seq_raw', 'tcp.ack_raw', 'tcp.flags', 'tcp.window_size_value', 'tcp.len', 'tcp.option_kind',
  'tcp.options.mss_val', 'tcp.options.wscale.shift', 'tcp.options.timestamp.tsval', 'tcp.options.timestamp.tsecr',
  'vlan.id', 'ieee8021ad.id', 'arp.opcode', 'arp.src.proto_ipv4', 'arp.dst.proto_ipv4',
] as const;
export type ReferenceField = (typeof REFERENCE_FIELDS)[number];

const COLUMN = new Map<string, number>(REFERENCE_FIELDS.map((f, i) => [f, i]));

/** A tshark row with named access to occurrences. */
export class TsharkRow {
  constructor(readonly cells: readonly string[]) {}

  /** all occurrences of a field ([] when absent) */
  all(field: ReferenceField): string[] {
    const c = this.cells[COLUMN.get(field)!] ?? '';
    return c === '' ? [] : c.split(',');
  }

  /** occurrence i of a field, '' when absent */
  at(field: ReferenceField, i = 0): string {
    return this.all(field)[i] ?? '';
  }

  get protocols(): string[] {
    return this.at('frame.protocols').split(':');
  }
}

const cache = new Map<string, Promise<TsharkRow[]>>();

/** The shared reference run for a capture (memoized: several test files use it); extraArgs go to tshark. */
export function referenceRows(file: string, extraArgs: readonly string[] = []): Promise<TsharkRow[]> {
  const key = [file, ...extraArgs].join('\0');
  let p = cache.get(key);
  if (!p) {
    p = tsharkFields(file, REFERENCE_FIELDS, [...TSHARK_NO_REASSEMBLY, ...extraArgs]).then((rows) => rows.map((r) => new TsharkRow(r)));
    cache.set(key, p);
  }
  return p;
}

/** Every .pcap/.pcapng under the reference folder (all subfolders), as paths relative to it, sorted. */
export function referenceCaptures(): string[] {
  const root = referencePcapsDir();
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(pcap|pcapng)$/.test(e.name)) out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

/** Runs fn over items with at most `limit` in flight (tshark processes are the slow part). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export interface ExpectedIp {
  ipVersion: number;
  src: string;
  dst: string;
  /** transport protocol after extension headers; -1 when tshark does not say */
  proto: number;
  sport: number;
  dport: number;
  /** IP layers tshark found up to and including the chosen one (2+ = inside a tunnel) */
  ipLayers: number;
  /** tshark's name for the layer after the chosen IP layer (extension headers skipped) */
  transport: string;
  /** occurrence index of the chosen layer among layers of its family (ip or ipv6) */
  familyIndex: number;
  /** occurrence index of the transport layer among layers of its name */
  transportIndex: number;
}

const IPV6_EXTENSIONS = new Set(['ipv6.hopopts', 'ipv6.routing', 'ipv6.fraghdr', 'ipv6.dstopts', 'ipv6.shim6', 'ah']);
const PROTO_BY_NAME: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, icmpv6: 58, gre: 47, ip: 4, ipv6: 41, esp: 50, pim: 103, igmp: 2, ospf: 89, vrrp: 112, mipv6: 135 };

function num(s: string): number {
  return s === '' ? 0 : Number(s);
}

/**
 * What the decoder should report: the innermost IP layer (stopping at ICMP, whose
 * quoted packets are payload, not tunnels) or the outermost one.
 */
export function expectedIp(row: TsharkRow, which: 'inner' | 'outer'): ExpectedIp {
  const layers = row.protocols;
  const count = (name: string, before: number): number => layers.slice(0, before).filter((x) => x === name).length;
  let chosen = -1;
  let ipLayers = 0;
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i];
    if (l === 'icmp' || l === 'icmpv6') break;
    // a version-6 header under an IPv4 label: tshark shows an empty 'ip' layer, then 'ipv6'
    if (l === 'ip' && layers[i + 1] === 'ipv6' && row.at('ip.src', count('ip', i)) === '') continue;
    if (l === 'ip' || l === 'ipv6') {
      chosen = i;
      ipLayers++;
      if (which === 'outer') break;
    }
  }
  if (chosen < 0) return { ipVersion: 0, src: '', dst: '', proto: 0, sport: 0, dport: 0, ipLayers: 0, transport: '', familyIndex: 0, transportIndex: 0 };
  const fam = layers[chosen]!;
  const k = count(fam, chosen);
  let t = chosen + 1;
  if (fam === 'ipv6') while (t < layers.length && IPV6_EXTENSIONS.has(layers[t]!)) t++;
  const transport = layers[t] ?? '';
  let proto: number;
  if (fam === 'ip') proto = num(row.at('ip.proto', k));
  // right after the fixed header the next-header field says it; after extension headers, tshark's layer name
  else proto = t === chosen + 1 ? num(row.at('ipv6.nxt', k)) : PROTO_BY_NAME[transport] ?? -1;
  const j = count(transport, t);
  let sport = 0;
  let dport = 0;
  if (transport === 'tcp' || transport === 'udp' || transport === 'sctp') {
    sport = num(row.at(`${transport}.srcport`, j));
    dport = num(row.at(`${transport}.dstport`, j));
  } else if (transport === 'icmp' || transport === 'icmpv6') {
    sport = num(row.at(`${transport}.type`, j));
    dport = num(row.at(`${transport}.code`, j));
  }
  return {
    ipVersion: fam === 'ip' ? 4 : 6,
    src: row.at(fam === 'ip' ? 'ip.src' : 'ipv6.src', k),
    dst: row.at(fam === 'ip' ? 'ip.dst' : 'ipv6.dst', k),
    proto, sport, dport, ipLayers, transport, familyIndex: k, transportIndex: j,
  };
}

/** tshark's frame.time_epoch ("secs.fraction") as whole microseconds, floored like the readers. */
export function epochToUs(s: string): number {
  const [sec = '0', frac = ''] = s.split('.');
  return Number(sec) * 1e6 + Number((frac + '000000').slice(0, 6));
}
