// Test fixture: PacketRecords from a real reference capture, with the header
// fields extracted by tshark (the project's own decoder is developed in
// parallel; tshark is an independent, trusted source of the same fields).
// Direction is relative to the first packet's source; RFC 1918 addresses are
// flagged as pseudonyms as the agent would (addresses themselves are kept).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Direction, FragFlag, PacketRecord, RecordFlag, TcpOpt } from '../../../../shared/packet/packet-record.js';
import { parseIp, parseCidr, cidrContains } from '../../../../shared/net/ip-address.js';
import { referencePcapsDir } from '../../../../shared/util/repo-paths.js';

const FIELDS = [
  'frame.time_epoch', 'frame.len', 'ip.version', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'ip.proto', 'ipv6.nxt',
  'ip.len', 'ipv6.plen', 'ip.id', 'ip.ttl', 'ipv6.hlim', 'ip.flags', 'ip.frag_offset', 'tcp.srcport', 'tcp.dstport',
  'udp.srcport', 'udp.dstport', 'tcp.flags', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.window_size_value',
  'tcp.options.mss_val', 'tcp.options.wscale.shift', 'tcp.options.timestamp.tsval', 'tcp.options.timestamp.tsecr',
  'tcp.options.sack_perm', 'tcp.options.sack_le', 'tcp.len', 'udp.length', 'vlan.id', 'icmp.type', 'icmp.code',
] as const;

const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7', 'fe80::/10'].map(parseCidr);

/** Records of the first `limit` IP packets of a reference capture (path relative to the pcaps dir). */
export function recordsFromPcap(relPath: string, limit = Infinity): PacketRecord[] {
  const args = ['-r', join(referencePcapsDir(), relPath), '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f'];
  if (Number.isFinite(limit)) args.push('-c', String(limit));
  for (const f of FIELDS) args.push('-e', f);
  const text = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
  const out: PacketRecord[] = [];
  let host: string | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const v = line.split('\t');
    const get = (name: (typeof FIELDS)[number]): string => v[FIELDS.indexOf(name)] ?? '';
    const num = (name: (typeof FIELDS)[number]): number => {
      const s = get(name);
      return s === '' ? 0 : Number(s);
    };
    const ver = num('ip.version') || (get('ipv6.src') ? 6 : 0);
    if (ver !== 4 && ver !== 6) continue;
    const r = new PacketRecord();
    const [sec, frac = '0'] = get('frame.time_epoch').split('.');
    r.tsUs = Number(sec) * 1e6 + Number(frac.padEnd(6, '0').slice(0, 6));
    r.wireLen = num('frame.len');
    r.ipVersion = ver;
    const srcText = ver === 4 ? get('ip.src') : get('ipv6.src');
    const dstText = ver === 4 ? get('ip.dst') : get('ipv6.dst');
    const src = parseIp(srcText);
    const dst = parseIp(dstText);
    r.src.set(src.bytes);
    r.dst.set(dst.bytes);
    host ??= srcText;
    r.direction = srcText === host ? Direction.Out : dstText === host ? Direction.In : Direction.Unknown;
    if (PRIVATE.some((c) => cidrContains(c, ver, src.bytes))) r.flags |= RecordFlag.SrcAnon;
    if (PRIVATE.some((c) => cidrContains(c, ver, dst.bytes))) r.flags |= RecordFlag.DstAnon;
    r.proto = ver === 4 ? num('ip.proto') : num('ipv6.nxt');
    r.ipLen = ver === 4 ? num('ip.len') : 40 + num('ipv6.plen');
    r.ipId = ver === 4 ? num('ip.id') : 0;
    r.ttl = ver === 4 ? num('ip.ttl') : num('ipv6.hlim');
    const ipf = num('ip.flags');
    if (ipf & 0x2) r.fragFlags |= FragFlag.DontFragment;
    if (ipf & 0x1) r.fragFlags |= FragFlag.MoreFragments;
    r.fragOffset = num('ip.frag_offset');
    if (r.fragOffset !== 0 || (ipf & 0x1) !== 0) r.flags |= RecordFlag.Fragment;
    r.vlan = num('vlan.id');
    if (get('tcp.srcport') !== '') {
      r.sport = num('tcp.srcport');
      r.dport = num('tcp.dstport');
      r.tcpFlags = num('tcp.flags') & 0xff;
      r.tcpSeq = num('tcp.seq_raw');
      r.tcpAck = num('tcp.ack_raw');
      r.tcpWindow = num('tcp.window_size_value');
      if (get('tcp.options.mss_val') !== '') { r.tcpOptFlags |= TcpOpt.Mss; r.tcpMss = num('tcp.options.mss_val'); }
      if (get('tcp.options.wscale.shift') !== '') { r.tcpOptFlags |= TcpOpt.WindowScale; r.tcpWscale = num('tcp.options.wscale.shift'); }
      if (get('tcp.options.sack_perm') !== '') r.tcpOptFlags |= TcpOpt.SackPermitted;
      if (get('tcp.options.sack_le') !== '') r.tcpOptFlags |= TcpOpt.Sack;
      if (get('tcp.options.timestamp.tsval') !== '') {
        r.tcpOptFlags |= TcpOpt.Timestamps;
        r.tcpTsVal = num('tcp.options.timestamp.tsval');
        r.tcpTsEcr = num('tcp.options.timestamp.tsecr');
      }
      r.payloadLen = num('tcp.len');
    } else if (get('udp.srcport') !== '') {
      r.sport = num('udp.srcport');
      r.dport = num('udp.dstport');
      r.payloadLen = Math.max(0, num('udp.length') - 8);
    } else if (get('icmp.type') !== '') {
      r.sport = num('icmp.type');
      r.dport = num('icmp.code');
    }
    out.push(r);
  }
  return out;
}
