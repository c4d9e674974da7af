// The collector's DNS and TLS logs (Zeek-style dns.log / ssl.log, made from the agents'
// metadata records) compared field by field with tshark's dissection of the same packets:
// the reference captures of ../shared/pcaps and a browsing-like capture generated here
// (bench/make-browsing-capture.ts: DNS with CNAME chains, TLS over TCP in two segments, QUIC
// Initials, plain HTTP). Each capture goes the real way: the agent's replay pipeline makes
// dumps (addresses and names in the clear), the collector imports them, `meerkat dns|tls
// --json` reads the logs back. Every DNS message and TLS hello tshark shows must be in a log
// record whose fields agree; the counts of fields compared are printed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replayFiles } from '../../../agent/pipeline/replay-files.js';
import { importFiles } from '../../../collector/import/import-files.js';
import { registerAppLogCommands } from '../../../console/commands/app-logs.js';
import type { DnsRecord, TlsRecord } from '../../../shared/flow/app-records.js';
import { dnsRcodeName, dnsTypeName, tlsCipherName, tlsVersionName } from '../../../shared/appmeta/protocol-names.js';
import { isGrease } from '../../../shared/appmeta/tls-hello.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { makeBrowsingCapture } from '../../../bench/make-browsing-capture.js';
import { runCommand } from '../../helpers/cli-run.js';

const DECODE_AS: Record<string, string[]> = { 'ndpi/KakaoTalk_talk.pcap': ['-d', 'tcp.port==8080,tls'] };

const CAPTURES = [
  'ndpi/netflix.pcap', 'tcpdump/edns-opts.pcap', 'arkime/v6.pcap', 'zeek/wikipedia.pcap', 'zeek/ppp_quic-interop-retry.pcap', 'ndpi/ocs.pcap',
  'ndpi/http_ipv6.pcap', 'ndpi/6in4tunnel.pcap', 'zeek/pcapng-multi-interface.pcapng', 'ndpi/KakaoTalk_talk.pcap', 'arkime/gtp-iphone.pcap',
  'zeek/tunnels_gre-sample.pcap', 'tcpdump/dns_tcp.pcap', 'flowtest/tls12.pcap', 'zeek/tls_pop3-starttls.pcap',
];

const COMMON = ['frame.time_epoch', 'ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'udp.srcport', 'tcp.srcport', 'udp.dstport', 'tcp.dstport'];

type Row = Record<string, string>;

function tshark(file: string, filter: string, fields: string[], extra: string[]): Row[] {
  const all = [...COMMON, ...fields];
  const args = [...extra, '-r', file, '-Y', filter, '-T', 'fields', '-E', 'separator=|', '-E', 'aggregator=,', '-E', 'occurrence=a'];
  for (const f of all) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 });
  return out.split('\n').filter((l) => l !== '').map((l) => {
    const v = l.split('|');
    return Object.fromEntries(all.map((f, i) => [f, v[i] ?? '']));
  });
}

const list = (s: string | undefined): string[] => (s ? s.split(',').filter((x) => x !== '') : []);
const last = (s: string | undefined): string => list(s).at(-1) ?? '';
const nums = (s: string | undefined): number[] => list(s).map(Number);
const flag = (s: string | undefined): boolean => s === 'True' || s === '1';

/** µs from tshark's "1300475168.652003000" */
function us(epoch: string): number {
  const [s, f = ''] = epoch.split('.');
  return Number(s) * 1e6 + Number(f.padEnd(6, '0').slice(0, 6));
}

/** the innermost endpoints (tunnelled packets list the outer ones first) */
function endpoints(r: Row): { src: string; dst: string; sport: number; dport: number } {
  const v6 = last(r['ipv6.src']) !== '' && (last(r['ip.src']) === '' || list(r['ipv6.src']).length >= list(r['ip.src']).length);
  return {
    src: v6 ? last(r['ipv6.src']) : last(r['ip.src']),
    dst: v6 ? last(r['ipv6.dst']) : last(r['ip.dst']),
    sport: Number(last(r['udp.srcport']) || last(r['tcp.srcport'])),
    dport: Number(last(r['udp.dstport']) || last(r['tcp.dstport'])),
  };
}

/** a tshark address as our records write it (IPv6 compressed the same way) */
function addr(a: string): string {
  return a.toLowerCase();
}

interface Counts { dnsMessages: number; tlsHellos: number; fields: number }

class Agreement {
  fields = 0;
  check(actual: unknown, expected: unknown, what: string): void {
    assert.deepEqual(actual, expected, what);
    this.fields++;
  }
}

async function logsOf(file: string, work: string): Promise<{ dns: DnsRecord[]; tls: TlsRecord[] }> {
  const dumps = join(work, 'dumps');
  mkdirSync(dumps, { recursive: true });
  const db = join(work, 'meerkat.db');
  const s = await replayFiles([file], { outDir: dumps, anonymize: 'none', names: 'none', packetsPerDump: 5000, snapLen: 0 });
  const imp = await importFiles(s.dumps.map((d) => d.path), { db, progress: false });
  assert.equal(imp.errors, 0);
  const dns = await runCommand(registerAppLogCommands, ['dns', '--db', db, '--json']);
  const tls = await runCommand(registerAppLogCommands, ['tls', '--db', db, '--json']);
  assert.equal(dns.code, 0, dns.err);
  assert.equal(tls.code, 0, tls.err);
  const parse = <T>(text: string): T[] => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as T);
  return { dns: parse<DnsRecord>(dns.out), tls: parse<TlsRecord>(tls.out) };
}

function compareDns(file: string, extra: string[], dns: DnsRecord[], a: Agreement): number {
  const msgs = tshark(file, 'dns && (udp.port == 53 || tcp.port == 53) && dns.count.queries > 0 && !icmp && !icmpv6 && !tcp.analysis.retransmission', [
    'dns.id', 'dns.flags.response', 'dns.qry.name', 'dns.qry.type', 'dns.qry.class', 'dns.flags.rcode', 'dns.flags.authoritative',
    'dns.flags.truncated', 'dns.flags.recdesired', 'dns.flags.recavail', 'dns.count.answers', 'dns.resp.type', 'dns.resp.ttl', 'dns.a', 'dns.aaaa', 'dns.cname',
  ], extra);
  const queryTs = new Map<string, number>();
  for (const m of msgs) {
    const e = endpoints(m);
    const response = flag(m['dns.flags.response']);
    const id = Number(m['dns.id']);
    const qname = list(m['dns.qry.name'])[0]!.toLowerCase();
    const client = response ? { addr: addr(e.dst), port: e.dport } : { addr: addr(e.src), port: e.sport };
    const key = `${client.addr}|${client.port}|${id}|${qname}|${m['dns.qry.type']}`;
    const ts = us(m['frame.time_epoch']!);
    // the record of this transaction: same client, id and question; the query's time if it was seen
    const cands = dns.filter((r) => r.trans_id === id && r.query === qname && r.orig_addr === client.addr && r.orig_port === client.port &&
      r.qtype === Number(list(m['dns.qry.type'])[0]));
    // a query repeated before its answer (a retransmission) belongs to the first one's transaction
    const q = queryTs.get(key);
    const r = response
      ? cands.find((x) => x.ts === (q ?? ts) && x.rcode !== null) ?? cands.find((x) => x.ts === (q ?? ts))
      : cands.find((x) => x.ts === (q ?? ts));
    assert.ok(r, `${file}: no DNS log record for the ${response ? 'answer' : 'query'} ${qname} id ${id} at ${ts}`);
    if (response) queryTs.delete(key);
    if (!response) {
      if (!queryTs.has(key)) queryTs.set(key, ts);
      a.check([r.qtype_name, r.qclass, r.RD, r.proto], [dnsTypeName(Number(list(m['dns.qry.type'])[0])), Number(list(m['dns.qry.class'])[0]),
        flag(m['dns.flags.recdesired']), m['tcp.srcport'] !== '' ? 'tcp' : 'udp'], `${file}: query ${qname}`);
      continue;
    }
    a.check([r.rcode, r.rcode_name], [Number(m['dns.flags.rcode']), dnsRcodeName(Number(m['dns.flags.rcode']))], `${file}: rcode of ${qname}`);
    a.check([r.AA, r.TC, r.RA], [flag(m['dns.flags.authoritative']), flag(m['dns.flags.truncated']), flag(m['dns.flags.recavail'])], `${file}: flags of ${qname}`);
    a.check(r.rtt_us, q === undefined ? null : ts - q, `${file}: rtt of ${qname}`);
    const n = Math.min(Number(m['dns.count.answers'] || 0), 32);
    const types = nums(m['dns.resp.type']).slice(0, n);
    a.check(r.answers.map((x) => x.type), types.map(dnsTypeName), `${file}: answer types of ${qname}`);
    a.check(r.answers.map((x) => x.ttl), nums(m['dns.resp.ttl']).slice(0, n), `${file}: TTLs of ${qname}`);
    const want = (t: number, field: string): string[] => list(m[field]).slice(0, types.filter((x) => x === t).length).map((s) => s.toLowerCase());
    a.check(r.answers.filter((x) => x.type === 'A').map((x) => x.data), want(1, 'dns.a'), `${file}: A of ${qname}`);
    a.check(r.answers.filter((x) => x.type === 'AAAA').map((x) => x.data), want(28, 'dns.aaaa'), `${file}: AAAA of ${qname}`);
    a.check(r.answers.filter((x) => x.type === 'CNAME').map((x) => x.data), want(5, 'dns.cname'), `${file}: CNAME of ${qname}`);
  }
  return msgs.length;
}

function maxVersion(supported: string, legacy: string): number {
  const v = nums(supported).filter((x) => !isGrease(x));
  return v.length > 0 ? Math.max(...v) : nums(legacy)[0]!;
}

function compareTls(file: string, extra: string[], tls: TlsRecord[], a: Agreement): number {
  const fields = ['tls.handshake.extensions_server_name', 'tls.handshake.extensions_alpn_str', 'tls.handshake.extensions.supported_version',
    'tls.handshake.version', 'tls.handshake.ciphersuite'];
  const clients = tshark(file, 'tls.handshake.type == 1 && !tcp.analysis.retransmission', fields, extra);
  const servers = tshark(file, 'tls.handshake.type == 2 && !tcp.analysis.retransmission', fields, extra);
  const find = (client: string, cport: number, server: string, sport: number): TlsRecord | undefined =>
    tls.find((r) => r.orig_addr === client && r.orig_port === cport && r.resp_addr === server && r.resp_port === sport);
  const seen = new Set<TlsRecord>();
  for (const m of clients) {
    const e = endpoints(m);
    const r = find(addr(e.src), e.sport, addr(e.dst), e.dport);
    assert.ok(r, `${file}: no TLS log record for the client hello ${e.src}:${e.sport} -> ${e.dst}:${e.dport}`);
    if (seen.has(r)) continue; // QUIC repeats its Initial; the log keeps the connection's first hello
    seen.add(r);
    a.check(r.ts, us(m['frame.time_epoch']!), `${file}: hello time`);
    a.check(r.server_name, list(m['tls.handshake.extensions_server_name'])[0] ?? null, `${file}: server name`);
    a.check(r.alpn, list(m['tls.handshake.extensions_alpn_str']).slice(0, 8), `${file}: ALPN of ${r.server_name}`);
    a.check(r.client_version, tlsVersionName(maxVersion(m['tls.handshake.extensions.supported_version']!, m['tls.handshake.version']!)), `${file}: client version`);
  }
  for (const m of servers) {
    const e = endpoints(m);
    const r = find(addr(e.dst), e.dport, addr(e.src), e.sport);
    assert.ok(r, `${file}: no TLS log record for the server hello ${e.src}:${e.sport} -> ${e.dst}:${e.dport}`);
    if (r.transport === 'quic') continue; // the agent does not read QUIC server Initials
    a.check(r.cipher, tlsCipherName(nums(m['tls.handshake.ciphersuite'])[0]!), `${file}: cipher`);
    a.check(r.version, tlsVersionName(maxVersion(m['tls.handshake.extensions.supported_version']!, m['tls.handshake.version']!)), `${file}: version`);
    a.check(r.next_protocol, list(m['tls.handshake.extensions_alpn_str'])[0] ?? null, `${file}: selected ALPN`);
  }
  return clients.length + servers.length;
}

describe('DNS and TLS logs compared with tshark', function () {
  this.timeout(180_000);
  let work: string;
  const totals: Counts = { dnsMessages: 0, tlsHellos: 0, fields: 0 };
  before(() => { work = mkdtempSync(join(tmpdir(), 'mk-applog-tshark-')); });
  after(() => {
    rmSync(work, { recursive: true, force: true });
    console.log(`      (tshark agreement: ${totals.dnsMessages} DNS messages, ${totals.tlsHellos} TLS hellos, ${totals.fields} fields compared, all equal)`);
  });

  const run = async (file: string, extra: string[], name: string): Promise<void> => {
    const dir = join(work, name.replace(/[/.]/g, '_'));
    const logs = await logsOf(file, dir);
    const a = new Agreement();
    totals.dnsMessages += compareDns(file, extra, logs.dns, a);
    totals.tlsHellos += compareTls(file, extra, logs.tls, a);
    totals.fields += a.fields;
  };

  for (const rel of CAPTURES) {
    it(rel, () => run(join(referencePcapsDir(), rel), DECODE_AS[rel] ?? [], rel));
  }

  it('a generated browsing-like capture (DNS with CNAME chains, TLS, QUIC, HTTP)', async () => {
    const cap = makeBrowsingCapture(work, 25, 7);
    await run(cap.file, [], 'browsing');
  });
});
