// The agent's metadata compared with tshark's dissection of the same reference captures
// (../shared/pcaps): DNS question names, TLS server names and the ingredients of JA4/JA4S
// (tshark 4.0 has no JA4 field: the fingerprints are computed from tshark's cipher,
// extension, signature algorithm, version and ALPN fields with the same ja4.ts, whose
// hashing the specification examples check in ja4.test.ts), HTTP method, Host and
// User-Agent, and QUIC server names. Compared as multisets per capture; the counts are
// printed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replayFiles } from '../../../agent/pipeline/replay-files.js';
import { decodeDump } from '../../../shared/dump/index.js';
import type { AppMeta } from '../../../shared/appmeta/meta-record.js';
import { ja4, ja4s } from '../../../shared/appmeta/ja4.js';
import { hostWithoutPort } from '../../../shared/appmeta/http-request.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';

/** tshark finds TLS by port: these captures run it on other ports */
const DECODE_AS: Record<string, string[]> = { 'ndpi/KakaoTalk_talk.pcap': ['-d', 'tcp.port==8080,tls'] };

const CAPTURES = [
  'ndpi/netflix.pcap', 'ndpi/6in4tunnel.pcap', 'ndpi/ocs.pcap', 'ndpi/KakaoTalk_talk.pcap', 'flowtest/tls12.pcap',
  'zeek/tls_pop3-starttls.pcap', 'zeek/wikipedia.pcap', 'zeek/http_get.pcap', 'zeek/http_no_crlf.pcap', 'ndpi/http_ipv6.pcap',
  'tcpdump/dns_tcp.pcap', 'tcpdump/edns-opts.pcap', 'arkime/v6.pcap', 'zeek/ppp_quic-interop-retry.pcap',
  'zeek/pcapng-multi-interface.pcapng', 'zeek/tunnels_gre-sample.pcap', 'arkime/gtp-iphone.pcap',
];

function tshark(file: string, filter: string, fields: string[], extra: string[] = []): string[][] {
  const args = [...extra, '-r', file, '-Y', filter, '-T', 'fields', '-E', 'separator=|', '-E', 'aggregator=,', '-E', 'occurrence=a'];
  for (const f of fields) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 });
  return out.split('\n').filter((l) => l !== '').map((l) => l.split('|'));
}

const nums = (s: string | undefined): number[] => (s ? s.split(',').filter((x) => x !== '').map((x) => Number(x)) : []);
const list = (s: string | undefined): string[] => (s ? s.split(',').filter((x) => x !== '') : []);

function sorted(a: string[]): string[] {
  return [...a].sort();
}

async function ours(file: string): Promise<AppMeta[]> {
  const dir = mkdtempSync(join(tmpdir(), 'mk-meta-cmp-'));
  try {
    const s = await replayFiles([file], { outDir: dir, anonymize: 'none', names: 'none', packetsPerDump: 1_000_000, snapLen: 0 });
    return s.dumps.flatMap((d) => decodeDump(readFileSync(d.path)).meta.map((m) => m.meta));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('metadata compared with tshark on the reference captures', function () {
  this.timeout(120_000);
  const totals = { dns: 0, tlsClient: 0, tlsServer: 0, http: 0, quic: 0 };

  for (const rel of CAPTURES) {
    it(rel, async () => {
      const file = join(referencePcapsDir(), rel);
      const m = await ours(file);
      const by = <K extends AppMeta['kind']>(k: K): Extract<AppMeta, { kind: K }>[] => m.filter((x) => x.kind === k) as Extract<AppMeta, { kind: K }>[];

      const extra = DECODE_AS[rel] ?? [];
      // DNS on port 53 (tshark also dissects mDNS/LLMNR, which the agent does not read), message by message in frame order
      const tDns = tshark(file, 'dns && (udp.port == 53 || tcp.port == 53) && dns.count.queries > 0 && !icmp && !icmpv6',
        ['dns.qry.name', 'dns.flags.response', 'dns.flags.rcode', 'dns.count.answers', 'dns.resp.type', 'dns.a', 'dns.aaaa'], extra);
      const oDns = by('dns');
      assert.equal(oDns.length, tDns.length, 'DNS messages');
      tDns.forEach(([q, r, rc, an, types, a, aaaa], i) => {
        const o = oDns[i]!;
        const resp = r === 'True' || r === '1';
        assert.deepEqual([o.query?.name, o.response, o.rcode], [list(q)[0]!.toLowerCase(), resp, resp ? Number(rc) : 0], `DNS message ${i}`);
        // the answer section's addresses: the first A/AAAA entries, as many as the answer section's RR types say
        const answerTypes = nums(types).slice(0, Number(an || 0));
        const want = [...list(a).slice(0, answerTypes.filter((t) => t === 1).length), ...list(aaaa).slice(0, answerTypes.filter((t) => t === 28).length)];
        assert.deepEqual(sorted(o.answers.filter((x) => x.address).map((x) => x.address!.address)), sorted(want), `DNS message ${i} answers`);
      });

      // TLS ClientHello (TCP and QUIC)
      const tCh = tshark(file, 'tls.handshake.type == 1', ['quic.version', 'tls.handshake.extensions_server_name', 'tls.handshake.version', 'tls.handshake.ciphersuite',
        'tls.handshake.extension.type', 'tls.handshake.sig_hash_alg', 'tls.handshake.extensions.supported_version', 'tls.handshake.extensions_alpn_str'], extra);
      const tJa4 = tCh.map(([qv, sni, ver, cs, ext, sig, sv, alpn]) => {
        const ch = { legacyVersion: nums(ver)[0]!, ciphers: nums(cs), extensions: nums(ext), serverName: sni || null, alpn: list(alpn), supportedVersions: nums(sv), signatureAlgorithms: nums(sig) };
        return `${(sni ?? '').toLowerCase()}|${ja4(ch, qv ? 'q' : 't')}`;
      });
      const oCh = by('tls-client');
      // after a QUIC Retry the client sends its hello again in an Initial protected with keys from the
      // new Destination Connection ID (RFC 9001 5.2); tshark 4.0 does not open that one: count Retries
      const retries = tshark(file, 'quic.long.packet_type == 3', ['frame.number'], extra).length;
      if (retries === 0) assert.deepEqual(sorted(oCh.map((c) => `${c.serverName?.name ?? ''}|${c.ja4}`)), sorted(tJa4), 'server name and JA4');
      else {
        assert.deepEqual([...new Set(oCh.map((c) => `${c.serverName?.name ?? ''}|${c.ja4}`))].sort(), [...new Set(tJa4)].sort(), 'server name and JA4');
        assert.equal(oCh.length, tJa4.length + retries, 'one more hello per Retry');
      }

      // TLS ServerHello over TCP
      const tSh = tshark(file, 'tls.handshake.type == 2 && tcp', ['tls.handshake.type', 'tls.handshake.version', 'tls.handshake.ciphersuite', 'tls.handshake.extension.type', 'tls.handshake.extensions.supported_version', 'tls.handshake.extensions_alpn_str'], extra);
      const tJa4s = tSh.map(([, ver, cs, ext, sv, alpn]) => ja4s({ legacyVersion: nums(ver)[0]!, cipher: nums(cs)[0]!, extensions: nums(ext), selectedVersion: nums(sv)[0] ?? null, alpn: list(alpn)[0] ?? null, helloRetryRequest: false }, 't'));
      assert.deepEqual(sorted(by('tls-server').map((s) => s.ja4s)), sorted(tJa4s), 'JA4S');

      // HTTP request heads
      const tHttp = tshark(file, 'http.request && tcp', ['http.request.method', 'http.host', 'http.user_agent'], extra);
      assert.deepEqual(sorted(by('http').map((h) => `${h.method}|${h.host?.name ?? ''}|${h.userAgent ?? ''}`)),
        sorted(tHttp.map(([me, h, ua]) => `${me}|${h ? hostWithoutPort(h) : ''}|${ua ?? ''}`)), 'HTTP method, host, user agent');

      totals.dns += oDns.length;
      totals.tlsClient += oCh.length;
      totals.quic += oCh.filter((c) => c.transport === 'quic').length;
      totals.tlsServer += by('tls-server').length;
      totals.http += by('http').length;
    });
  }

  after(() => {
    console.log(`      (agreement with tshark: ${totals.dns} DNS messages, ${totals.tlsClient} ClientHellos (${totals.quic} QUIC), ${totals.tlsServer} ServerHellos, ${totals.http} HTTP requests)`);
    assert.ok(totals.dns >= 100 && totals.tlsClient >= 30 && totals.http >= 20 && totals.quic >= 1, JSON.stringify(totals));
  });
});
