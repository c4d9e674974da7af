// Test helper: decodes a capture frame by frame and compares each frame with
// tshark's view of it (innermost and outermost IP layer: version, addresses,
// protocol, ports; header details of the innermost layer). Known, explained
// differences are passed in as exceptions and counted apart.
import { openCaptureFile } from '../../../shared/capture-file/index.js';
import { DecodedPacket, decodeOuter, decodePacket } from '../../../shared/decode/index.js';
import { formatIp, formatIpv4 } from '../../../shared/net/ip-address.js';
import { FragFlag, RecordFlag, TcpOpt, TunnelKind } from '../../../shared/packet/packet-record.js';
import { expectedIp, referenceRows, type TsharkRow } from './tshark-reference.js';

/**
 * A known, explained disagreement with tshark. `frames` are 1-based frame numbers
 * ('all' for every frame); only the listed comparison keys are excused.
 */
export interface TsharkException { frames: number[] | 'all'; keys: string[]; reason: string }

export interface TsharkFileResult {
  file: string;
  frames: number;
  tsharkFrames: number;
  tupleCompared: number;
  tupleMatched: number;
  detailCompared: number;
  detailMatched: number;
  /** differing comparison keys covered by a per-file exception */
  explained: number;
  /** differing comparison keys explained by a policy rule, by rule */
  byReason: Partial<Record<PolicyReason, number>>;
  /** differences without an exception */
  mismatches: string[];
  /** reasons of exceptions that no frame needed */
  unusedExceptions: string[];
}

function hexOrDec(s: string): number {
  return s === '' ? 0 : Number(s);
}

function bool(s: string): boolean {
  return s === '1' || s === 'True' || s === 'true';
}

/**
 * The 5-tuple facts of `out` against tshark's view; returns the keys that differ.
 * A record flagged BadIpHeader is held to what tshark could read of the bogus header:
 * the addresses it shows (tshark shows none, or only the whole ones, of a header it
 * finds bogus), no transport.
 */
export function tupleDiffs(out: DecodedPacket, row: TsharkRow, which: 'inner' | 'outer'): string[] {
  const e = expectedIp(row, which);
  const d: string[] = [];
  if (out.ipVersion !== e.ipVersion) d.push('ipVersion');
  if (e.ipVersion === 0) return d;
  if ((out.flags & RecordFlag.BadIpHeader) !== 0) {
    if (e.src !== '' && formatIp(out.ipVersion, out.src) !== e.src) d.push('src');
    if (e.dst !== '' && formatIp(out.ipVersion, out.dst) !== e.dst) d.push('dst');
    if (e.transport !== '') d.push('proto');
    return d;
  }
  if (formatIp(out.ipVersion, out.src) !== e.src) d.push('src');
  if (formatIp(out.ipVersion, out.dst) !== e.dst) d.push('dst');
  if (out.proto !== e.proto) d.push('proto');
  if (out.sport !== e.sport || out.dport !== e.dport) d.push('ports');
  return d;
}

/** IP header details, TCP fields and options, VLAN and ARP of the innermost layer. */
export function detailDiffs(out: DecodedPacket, row: TsharkRow): { compared: number; diffs: string[] } {
  const e = expectedIp(row, 'inner');
  const layers = row.protocols;
  const diffs: string[] = [];
  let compared = 0;
  const check = (key: string, ok: boolean): void => {
    compared++;
    if (!ok) diffs.push(key);
  };
  const k = e.familyIndex;
  const badHeader = (out.flags & RecordFlag.BadIpHeader) !== 0; // tshark shows what it could of a bogus header
  if (badHeader) {
    // no IP details: our record keeps the fields of a header tshark calls bogus
  } else if (e.ipVersion === 4 && out.ipVersion === 4) {
    check('ttl', out.ttl === hexOrDec(row.at('ip.ttl', k)));
    check('ipId', out.ipId === hexOrDec(row.at('ip.id', k)));
    check('ipLen', out.ipLen === hexOrDec(row.at('ip.len', k)));
    const frag = (bool(row.at('ip.flags.mf', k)) ? FragFlag.MoreFragments : 0) | (bool(row.at('ip.flags.df', k)) ? FragFlag.DontFragment : 0);
    check('frag', out.fragFlags === frag && out.fragOffset === hexOrDec(row.at('ip.frag_offset', k)) * 8);
  } else if (e.ipVersion === 6 && out.ipVersion === 6) {
    check('ttl', out.ttl === hexOrDec(row.at('ipv6.hlim', k)));
    check('ipLen', out.ipLen === 40 + hexOrDec(row.at('ipv6.plen', k)));
    // the fragment header of this packet, not one inside a packet an ICMPv6 error quotes
    const t = e.transport === '' ? -1 : layers.indexOf(e.transport);
    const chain = t < 0 ? layers : layers.slice(0, t);
    if (chain.filter((l) => l === 'ipv6.fraghdr').length === 1 && e.ipLayers === 1) {
      const more = bool(row.at('ipv6.fraghdr.more'));
      check('frag', out.fragOffset === hexOrDec(row.at('ipv6.fraghdr.offset')) * 8 && out.fragFlags === (more ? FragFlag.MoreFragments : 0) &&
        out.ipId === hexOrDec(row.at('ipv6.fraghdr.ident')) && (out.flags & RecordFlag.Fragment) !== 0 === (more || out.fragOffset !== 0));
    }
  }
  // TCP details when the frame has exactly one TCP header (tshark's option lists cannot be split per header)
  if (e.transport === 'tcp' && layers.filter((l) => l === 'tcp').length === 1 && out.proto === 6) {
    check('tcp', out.tcpSeq === hexOrDec(row.at('tcp.seq_raw')) && out.tcpAck === hexOrDec(row.at('tcp.ack_raw')) &&
      out.tcpFlags === (hexOrDec(row.at('tcp.flags')) & 0xff) && out.tcpWindow === hexOrDec(row.at('tcp.window_size_value')));
    // tshark gives no tcp.len for a segment it cannot bound (a first fragment)
    if ((out.flags & (RecordFlag.Truncated | RecordFlag.Malformed)) === 0 && row.at('tcp.len') !== '') check('payloadLen', out.payloadLen === hexOrDec(row.at('tcp.len')));
    const kinds = new Set(row.all('tcp.option_kind').map(Number));
    let opt = 0;
    if (row.at('tcp.options.mss_val') !== '') opt |= TcpOpt.Mss;
    if (row.at('tcp.options.wscale.shift') !== '') opt |= TcpOpt.WindowScale;
    if (kinds.has(4)) opt |= TcpOpt.SackPermitted;
    if (kinds.has(5)) opt |= TcpOpt.Sack;
    if (row.at('tcp.options.timestamp.tsval') !== '') opt |= TcpOpt.Timestamps;
    check('tcpOpts', out.tcpOptFlags === opt &&
      ((opt & TcpOpt.Mss) === 0 || out.tcpMss === hexOrDec(row.at('tcp.options.mss_val'))) &&
      ((opt & TcpOpt.WindowScale) === 0 || out.tcpWscale === hexOrDec(row.at('tcp.options.wscale.shift'))) &&
      ((opt & TcpOpt.Timestamps) === 0 || (out.tcpTsVal === hexOrDec(row.at('tcp.options.timestamp.tsval')) && out.tcpTsEcr === hexOrDec(row.at('tcp.options.timestamp.tsecr')))));
  }
  // the innermost 802.1Q tag, or else the innermost 802.1ad one
  const vids = row.all('vlan.id').length > 0 ? row.all('vlan.id') : row.all('ieee8021ad.id');
  check('vlan', out.vlan === (vids.length ? Number(vids[vids.length - 1]) : 0));
  if (layers.includes('arp') && e.ipVersion === 0) {
    check('arp', out.arpOp === hexOrDec(row.at('arp.opcode')) && (out.etherType === 0x0806 || out.etherType === 0x8035) &&
      formatIpv4(out.src) === (row.at('arp.src.proto_ipv4') || '0.0.0.0') && formatIpv4(out.dst) === (row.at('arp.dst.proto_ipv4') || '0.0.0.0'));
  }
  return { compared, diffs };
}

/**
 * Differences that follow from a decision of ours, recognised by rule wherever they
 * occur (docs/reference-comparison.md lists them with the reasons).
 */
export const POLICY_REASONS = {
  'bad-ip-header-kept': 'an IP header that is not one (wrong version, fixed header cut short): tshark shows no IP layer; we keep the packet as a record flagged BadIpHeader, from which no flow is built',
  'ipv6-chain-proto': 'tshark names no protocol after an IPv6 extension chain that is cut short or ends in an unknown header; we report the next-header value where the chain stopped',
  'partial-transport-header': 'a transport header cut short: tshark reports none or fewer of its fields; we report those whose bytes are there (no flow uses them: the record is flagged)',
  'inner-cut-by-outer-fragment': 'a tunnelled packet cut by the fragmentation of the outer packet: tshark counts the payload bytes present, our payloadLen is what the inner header declares',
  'length-field-zero': 'a packet over 64 KiB (BIG TCP, GSO, jumbogram) whose IPv6 payload length or UDP length is 0: we take the length from the frame and decode what is inside; tshark decodes an empty payload',
  'quoted-packet': 'a packet quoted or sampled inside a control protocol (PIM register, NHRP, sFlow, OpenFlow, GTP\'): tshark decodes it; to us it is payload, not a tunnel',
  'unsupported-link': 'a link type or vendor header we do not decode (ARCnet, 802.15.4/6LoWPAN, IP over InfiniBand, ATM CLIP, Juniper, Arista timestamps)',
  'nesting-bound': 'more nested headers than the decoder follows (40): the record keeps what was decoded before the bound',
  'first-msdu': 'an 802.11 A-MSDU holds several packets; the record holds the first subframe\'s, tshark\'s innermost layer is the last subframe\'s',
  'tunnel-non-ip-inside': 'a tunnel whose payload is not IP (ARP, LLC): the record stays the outer packet with its VLAN, tshark reports the inner frame\'s tag',
  'pw-control-word': 'an MPLS Ethernet pseudowire with a control word: tshark\'s heuristic reads the control word as the start of a MAC address whenever the bytes match a registered vendor prefix (as 00-00-xx almost always does) and finds no IP; we look for the EtherType where each reading puts it',
  'teredo-heuristic': 'Teredo between a client and a relay on ports other than 3544: we recognise it by a Teredo address (2001:0::/32) and an exact length, as Zeek does by protocol detection; tshark\'s Teredo heuristic is off by default',
  'link-length-below-ip': 'a PPPoE length shorter than the IP packet it carries: tshark trims the payload to the PPPoE length, we follow the IP header (as Zeek does)',
  'fabricpath-fcs': 'tshark\'s FabricPath dissector takes the last 4 bytes of the host frame for a frame check sequence even when the capture has none, and so cuts whatever header or payload they belong to',
  'ipv4-options-cut': 'IPv4 options cut short: tshark shows the source address but not the destination; we show both (the fixed header is whole)',
  'version-over-label': 'an IPv4 header where the link layer announced IPv6 (link type 229, EtherType 0x86dd): we decode it by its version, as Zeek does; tshark shows no IP layer',
  'tunnel-bad-inner-header': 'a tunnel whose inner IP header is bogus: the record stays the enclosing (sound) packet, which forms a flow; tshark shows the bogus layer without addresses',
} as const;
export type PolicyReason = keyof typeof POLICY_REASONS;

const QUOTING = new Set(['pim', 'nhrp', 'sflow', 'openflow', 'openflow_v1', 'openflow_v4', 'openflow_v5', 'openflow_v6', 'gtpprime']);
const UNSUPPORTED = new Set(['arcnet', 'wpan', '6lowpan', 'ipoib', 'juniper', 'clip', 'user_dlt', 'avsp']);
const PARTIAL_TRANSPORT = /^(tcp|udp|sctp|icmp|icmpv6): header cut short/;

/** The policy that explains a differing key, or null. */
export function policyReason(key: string, out: DecodedPacket, row: TsharkRow, which: 'inner' | 'outer'): PolicyReason | null {
  const layers = row.protocols;
  const e = expectedIp(row, which);
  if (out.issue === 'decode: too many nested headers') return 'nesting-bound';
  if (layers.some((l) => UNSUPPORTED.has(l))) return 'unsupported-link';
  if (which === 'inner' && out.tunnel === TunnelKind.Teredo && !layers.includes('teredo')) return 'teredo-heuristic';
  if (layers.includes('pwethnocw') && e.ipVersion === 0 && out.mplsDepth > 0) return 'pw-control-word';
  if ((out.flags & RecordFlag.BadIpHeader) !== 0 && e.ipVersion === 0) return 'bad-ip-header-kept';
  if (e.ipVersion === 0 && out.ipVersion === 4 && !layers.includes('ip')) return 'version-over-label';
  if (row.at('ipv6.plen') === '0' || row.all('udp.length').includes('0')) return 'length-field-zero';
  if (which === 'inner' && e.ipLayers >= 2 && layers.some((l) => QUOTING.has(l))) return 'quoted-packet';
  if (which === 'inner' && e.ipLayers >= 2 && e.src === '' && (out.flags & RecordFlag.BadIpHeader) === 0) return 'tunnel-bad-inner-header';
  if (layers.includes('wlan') && layers.filter((l) => l === 'llc').length > 1) return 'first-msdu';
  if (key === 'proto' && e.ipVersion === 6 && e.proto === -1) return 'ipv6-chain-proto';
  if (key === 'payloadLen' && layers.includes('pppoes')) return 'link-length-below-ip';
  if (layers.includes('cfp')) return 'fabricpath-fcs';
  if (key === 'dst' && out.issue === 'ipv4: options cut short') return 'ipv4-options-cut';
  if ((key === 'ports' || key === 'tcp') && PARTIAL_TRANSPORT.test(out.issue)) return 'partial-transport-header';
  if (key === 'payloadLen' && (out.flags & (RecordFlag.Inner | RecordFlag.Fragment)) === (RecordFlag.Inner | RecordFlag.Fragment)) return 'inner-cut-by-outer-fragment';
  if (key === 'vlan' && layers.lastIndexOf('vlan') > Math.max(layers.lastIndexOf('ip'), layers.lastIndexOf('ipv6'))) return 'tunnel-non-ip-inside';
  return null;
}

/**
 * Decodes every frame of `file` (inner and outer) and compares it with tshark.
 * `label` names the file in messages; `extraArgs` go to tshark (e.g. "decode as").
 * Each differing key is excused by a per-file exception first, then by a policy rule;
 * what neither explains is a mismatch.
 */
export async function compareWithTshark(file: string, label: string, exceptions: readonly TsharkException[] = [], extraArgs: readonly string[] = []): Promise<TsharkFileResult> {
  const rows = await referenceRows(file, extraArgs);
  const used = new Set<TsharkException>();
  const res: TsharkFileResult = {
    file: label, frames: 0, tsharkFrames: rows.length, tupleCompared: 0, tupleMatched: 0, detailCompared: 0, detailMatched: 0,
    explained: 0, byReason: {}, mismatches: [], unusedExceptions: [],
  };
  const unexplained = (n: number, keys: string[], row: TsharkRow, which: 'inner' | 'outer', out: DecodedPacket): string[] =>
    keys.filter((key) => {
      const ex = exceptions.find((x) => (x.frames === 'all' || x.frames.includes(n)) && x.keys.includes(key));
      if (ex) {
        used.add(ex);
        res.explained++;
        return false;
      }
      const reason = policyReason(key, out, row, which);
      if (reason === null) return true;
      res.byReason[reason] = (res.byReason[reason] ?? 0) + 1;
      return false;
    });
  const out = new DecodedPacket();
  const r = openCaptureFile(file);
  try {
    for (let f = r.next(); f; f = r.next()) {
      const n = ++res.frames;
      const row = rows[n - 1];
      if (!row) continue;
      for (const which of ['inner', 'outer'] as const) {
        if (which === 'inner') decodePacket(f.linkType, f.data, f.wireLen, f.tsUs, out);
        else decodeOuter(f.linkType, f.data, f.wireLen, f.tsUs, out);
        const raw = tupleDiffs(out, row, which);
        res.tupleCompared++;
        if (raw.length === 0) res.tupleMatched++;
        const diffs = unexplained(n, raw, row, which, out);
        if (diffs.length) res.mismatches.push(`frame ${n} ${which}: ${diffs.join(',')} (tshark ${row.at('frame.protocols')} ${JSON.stringify(expectedIp(row, which))}, ours v${out.ipVersion} ${formatIp(out.ipVersion, out.src)} > ${formatIp(out.ipVersion, out.dst)} proto ${out.proto} ${out.sport}/${out.dport}, issue '${out.issue}')`);
        if (which === 'inner') {
          const det = detailDiffs(out, row);
          res.detailCompared += det.compared;
          res.detailMatched += det.compared - det.diffs.length;
          const dd = unexplained(n, det.diffs, row, which, out);
          if (dd.length) res.mismatches.push(`frame ${n} details: ${dd.join(',')} (${row.at('frame.protocols')}, issue '${out.issue}')`);
        }
      }
    }
  } finally {
    r.close();
  }
  res.unusedExceptions = exceptions.filter((x) => !used.has(x)).map((x) => x.reason);
  return res;
}
