// The DNS payload parser on every DNS packet of the reference captures, compared with
// tshark's own dissection (question names, A/AAAA addresses, CNAME targets); and on
// hostile bytes (random, mutated real messages, pointer loops): never an exception from
// analyzeDnsPayload, only DnsParseError from parseDnsMessage.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { analyzeDnsPayload, DnsParseError, parseDnsMessage } from '../../../shared/appmeta/dns.js';
import { openCaptureFile } from '../../../shared/capture-file/index.js';
import { decodePacket, DecodedPacket } from '../../../shared/decode/index.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';

const CAPTURES = [
  'zeek/wikipedia.pcap', 'tcpdump/edns-opts.pcap', 'tcpdump/dns_tcp.pcap', 'ndpi/netflix.pcap', 'arkime/v6.pcap',
  'ndpi/ocs.pcap', 'zeek/pcapng-multi-interface.pcapng', 'ndpi/KakaoTalk_talk.pcap', 'zeek/tunnels_gre-sample.pcap',
];

interface TsharkDns { qnames: string[]; addrs: string[]; cnames: string[] }

function tsharkDns(file: string): Map<number, TsharkDns> {
  const out = execFileSync('tshark', ['-r', file, '-Y', 'dns', '-T', 'fields', '-E', 'separator=|', '-E', 'aggregator=,',
    '-e', 'frame.number', '-e', 'dns.qry.name', '-e', 'dns.a', '-e', 'dns.aaaa', '-e', 'dns.cname'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const m = new Map<number, TsharkDns>();
  for (const line of out.split('\n')) {
    if (line.trim() === '') continue;
    const [n, q, a, aaaa, cname] = line.split('|');
    const list = (s: string | undefined): string[] => (s ? s.split(',').filter((x) => x !== '') : []);
    m.set(Number(n), { qnames: list(q).map((x) => x.toLowerCase()), addrs: [...list(a), ...list(aaaa)], cnames: list(cname).map((x) => x.toLowerCase()) });
  }
  return m;
}

/** DNS payloads of a capture by frame number (UDP or TCP port 53). */
function dnsPayloads(file: string): Map<number, { bytes: Uint8Array; tcp: boolean }> {
  const reader = openCaptureFile(file);
  const pkt = new DecodedPacket();
  const out = new Map<number, { bytes: Uint8Array; tcp: boolean }>();
  let n = 0;
  try {
    for (let fr = reader.next(); fr !== null; fr = reader.next()) {
      n++;
      decodePacket(fr.linkType, fr.data, fr.wireLen, fr.tsUs, pkt);
      if ((pkt.proto === 17 || pkt.proto === 6) && (pkt.sport === 53 || pkt.dport === 53) && pkt.payload.length > 0) {
        out.set(n, { bytes: pkt.payload.slice(), tcp: pkt.proto === 6 });
      }
    }
  } finally {
    reader.close();
  }
  return out;
}

describe('DNS payload parser', () => {
  const pcaps = referencePcapsDir();
  let realMessages: Uint8Array[] = [];

  it('finds the names and addresses tshark finds, in every DNS packet of the reference captures', () => {
    let compared = 0;
    for (const rel of CAPTURES) {
      const file = join(pcaps, rel);
      const ref = tsharkDns(file);
      const ours = dnsPayloads(file);
      for (const [frame, t] of ref) {
        const p = ours.get(frame);
        if (p === undefined || t.qnames.length === 0) continue; // not on port 53 (e.g. mDNS) or no question
        if (t.qnames.some((q) => q.includes('\\') || q === '<root>')) continue;
        const s = analyzeDnsPayload(p.bytes, { tcp: p.tcp });
        assert.ok(s !== null, `${rel} frame ${frame}: parsed`);
        assert.deepEqual(s.names.slice(0, s.questionNames), [...new Set(t.qnames)], `${rel} frame ${frame}: questions`);
        assert.deepEqual([...s.addresses].sort(), [...t.addrs].sort(), `${rel} frame ${frame}: A/AAAA`);
        for (const c of t.cnames) assert.ok(s.names.includes(c), `${rel} frame ${frame}: CNAME ${c} in ${s.names.join(' ')}`);
        if (!p.tcp) realMessages.push(p.bytes);
        compared++;
      }
    }
    assert.ok(compared >= 80, `compared ${compared} DNS messages`);
    console.log(`      (${compared} DNS messages compared with tshark)`);
  });

  it('never throws on hostile bytes; parseDnsMessage throws only DnsParseError naming the offset', () => {
    if (realMessages.length === 0) realMessages = [Uint8Array.of(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 97, 0, 0, 1, 0, 1)];
    const mutated = fc.tuple(fc.constantFrom(...realMessages), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 8 }), fc.nat())
      .map(([m, edits, cut]) => {
        const b = m.slice(0, Math.max(0, m.length - (cut % 8)));
        for (const [i, v] of edits) if (b.length > 0) b[i % b.length] = v;
        return b;
      });
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), mutated), fc.boolean(), (bytes, tcp) => {
      assert.doesNotThrow(() => analyzeDnsPayload(bytes, { tcp }));
      try {
        parseDnsMessage(bytes);
      } catch (e) {
        assert.ok(e instanceof DnsParseError, String(e));
        assert.match(e.message, /DNS message \(\d+ bytes\): expected .+ at offset \d+/);
      }
    }), { numRuns: 5000 });
  });

  it('rejects compression pointer loops and forward pointers', () => {
    // header: 1 question; name = pointer to itself (offset 12)
    const loop = Uint8Array.of(0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1);
    assert.throws(() => parseDnsMessage(loop), (e: unknown) => e instanceof DnsParseError && /compression pointer/.test(e.message));
    assert.equal(analyzeDnsPayload(loop), null);
    const forward = Uint8Array.of(0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 20, 0, 1, 0, 1, 0, 0, 1, 97, 0);
    assert.throws(() => parseDnsMessage(forward), DnsParseError);
  });

  it('decodes a hand-built response with a compressed CNAME and an A record', () => {
    const name = [3, 119, 119, 119, 7, 69, 120, 97, 109, 112, 108, 101, 3, 99, 111, 109, 0]; // www.Example.com
    const msg = Uint8Array.of(
      0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
      ...name, 0, 1, 0, 1,
      0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 99, 100, 110, 0xc0, 16, // CNAME cdn.example.com
      0xc0, 45, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7,
    );
    const m = parseDnsMessage(msg);
    assert.equal(m.id, 0x1234);
    assert.equal(m.response, true);
    assert.deepEqual(m.questions, [{ name: 'www.example.com', type: 1, class: 1 }]);
    assert.equal(m.answers[0]!.data, 'cdn.example.com');
    assert.equal(m.answers[1]!.name, 'cdn.example.com');
    assert.equal(m.answers[1]!.data, '192.0.2.7');
    const s = analyzeDnsPayload(msg)!;
    assert.deepEqual(s.names, ['www.example.com', 'cdn.example.com']);
    assert.deepEqual(s.addresses, ['192.0.2.7']);
  });
});
