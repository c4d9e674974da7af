// PacketRecord -> plain JSON object for people and scripts (`meerkat dump inspect`), in the
// console's JSON style (docs/cli.md): camelCase, the time as ISO 8601 text with microseconds
// and as integer microseconds. Not on the hot path.
import { formatIp } from '../net/ip-address.js';
import { Direction, FragFlag, IPPROTO_TCP, RecordFlag, TcpOpt, type PacketRecord } from './packet-record.js';
import { ipProtocolName, tunnelKindName } from './packet-names.js';

const TCP_FLAG_LETTERS = ['F', 'S', 'R', 'P', 'A', 'U', 'E', 'C'];

function tcpFlagsText(f: number): string {
  let s = '';
  for (let i = 0; i < 8; i++) if (f & (1 << i)) s += TCP_FLAG_LETTERS[i];
  return s;
}

export function recordToJson(r: PacketRecord): Record<string, unknown> {
  const o: Record<string, unknown> = {
    ts: new Date(Math.floor(r.tsUs / 1000)).toISOString().replace('Z', String(r.tsUs % 1000).padStart(3, '0') + 'Z'),
    tsUs: r.tsUs,
    dir: r.direction === Direction.Out ? 'out' : r.direction === Direction.In ? 'in' : 'unknown',
  };
  if (r.ipVersion) {
    o.ipVersion = r.ipVersion;
    o.src = formatIp(r.ipVersion, r.src);
    o.dst = formatIp(r.ipVersion, r.dst);
    // the pseudonym notation: a flag beside the address (the text form is "ADDR*")
    if (r.flags & RecordFlag.SrcAnon) o.srcPseudonym = true;
    if (r.flags & RecordFlag.DstAnon) o.dstPseudonym = true;
    o.proto = ipProtocolName(r.proto) ?? String(r.proto);
    o.sport = r.sport;
    o.dport = r.dport;
    o.ipLen = r.ipLen;
    o.ttl = r.ttl;
    o.ipId = r.ipId;
  }
  o.wireLen = r.wireLen;
  if (r.vlan) o.vlan = r.vlan;
  if (r.flags & RecordFlag.Fragment) o.frag = { offset: r.fragOffset, more: (r.fragFlags & FragFlag.MoreFragments) !== 0 };
  if (r.proto === IPPROTO_TCP) {
    const tcp: Record<string, unknown> = { flags: tcpFlagsText(r.tcpFlags), seq: r.tcpSeq, ack: r.tcpAck, win: r.tcpWindow };
    if (r.tcpOptFlags & TcpOpt.Mss) tcp.mss = r.tcpMss;
    if (r.tcpOptFlags & TcpOpt.WindowScale) tcp.wscale = r.tcpWscale;
    if (r.tcpOptFlags & TcpOpt.SackPermitted) tcp.sackOk = true;
    if (r.tcpOptFlags & TcpOpt.Sack) tcp.sack = true;
    if (r.tcpOptFlags & TcpOpt.Timestamps) { tcp.tsval = r.tcpTsVal; tcp.tsecr = r.tcpTsEcr; }
    o.tcp = tcp;
  }
  o.payloadLen = r.payloadLen;
  if (r.payload.length) o.payloadHex = Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.length).toString('hex');
  if (r.flags & RecordFlag.Inner) o.tunnel = tunnelKindName(r.tunnel) ?? r.tunnel;
  if (r.flags & RecordFlag.Truncated) o.truncated = true;
  if (r.flags & RecordFlag.Malformed) o.malformed = true;
  if (r.flags & RecordFlag.BadIpHeader) o.bad_ip_header = true;
  return o;
}
