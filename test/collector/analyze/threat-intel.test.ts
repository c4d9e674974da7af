// Threat intelligence: feed formats (plain, Spamhaus DROP, emerging-threats, abuse.ch
// Feodo/URLhaus CSV, hosts, CSV column choice), hits on generated and real flows, the
// pseudonym rule, DNS names from real captured payload, reload without a restart (watch
// and tick check), and a 1,000,000-entry list.
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ThreatIntelAnalyzer } from '../../../collector/analyze/threat-intel/threat-intel-analyzer.js';
import { parseFeed, urlHost, type FeedSpec } from '../../../collector/analyze/threat-intel/feed-formats.js';
import { FeedData } from '../../../collector/analyze/threat-intel/threat-feed.js';
import { dnsPayloadTap } from '../../../collector/analyze/dns-tap.js';
import { openCaptureFile } from '../../../shared/capture-file/index.js';
import { decodePacket, DecodedPacket } from '../../../shared/decode/index.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { flow, T0 } from './flow-gen.js';
import { makeHost, recordsOf, runRecords, tempDir } from './harness.js';

const SPAMHAUS_DROP = `; Spamhaus DROP List 2024/01/08 - (c) 2024 The Spamhaus Project SLU
; https://www.spamhaus.org/drop/drop.txt
; Last-Modified: Mon,  8 Jan 2024 09:00:00 GMT
; Expires: Mon, 08 Jan 2024 10:00:00 GMT
1.10.16.0/20 ; SBL256894
1.19.0.0/16 ; SBL434604
203.0.113.0/24 ; SBL999001
`;

const ET_COMPROMISED = `# emerging threats compromised ips
198.51.100.7
198.51.100.8
2001:db8:bad::1
`;

const FEODO_CSV = `################################################################
# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)          #
# Last updated: 2024-01-08 08:00:00 UTC                        #
#                                                              #
# For questions please contact feodotracker [at] abuse.ch      #
################################################################
#
# "first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"
"2023-11-01 10:00:00","192.0.2.66","443","online","2024-01-07","QakBot"
"2023-12-01 11:00:00","192.0.2.67","8080","offline","2023-12-20","Dridex"
`;

const URLHAUS_CSV = `################################################################
# abuse.ch URLhaus Database Dump (CSV - recent URLs)           #
################################################################
#
# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter
"2800001","2024-01-08 07:00:00","http://evil-payload.example/bins/x86","online","2024-01-08","malware_download","elf,mirai","https://urlhaus.abuse.ch/url/2800001/","anon"
"2800002","2024-01-08 07:01:00","http://192.0.2.99:8000/i","online","2024-01-08","malware_download","","https://urlhaus.abuse.ch/url/2800002/","anon"
`;

function parse(text: string, spec: FeedSpec): { ips: string[]; domains: string[]; stats: ReturnType<typeof parseFeed> } {
  const ips: string[] = [];
  const domains: string[] = [];
  const stats = parseFeed(text, spec, {
    cidr: (v, w, len, label) => ips.push(`${v}:${w[0]!.toString(16)}/${len}:${label}`),
    domain: (d, label) => domains.push(`${d}:${label}`),
  });
  return { ips, domains, stats };
}

describe('threat intelligence', () => {
  describe('feed formats', () => {
    it('Spamhaus DROP (CIDR ; SBL id), emerging-threats plain lists', () => {
      const d = parse(SPAMHAUS_DROP, { format: 'spamhaus-drop' });
      assert.deepEqual(d.ips, ['4:10a1000/20:SBL256894', '4:1130000/16:SBL434604', '4:cb007100/24:SBL999001']);
      assert.equal(d.stats.invalid, 0);
      const e = parse(ET_COMPROMISED, { format: 'plain' });
      assert.equal(e.stats.ips, 3);
      assert.equal(e.stats.invalid, 0);
    });

    it('abuse.ch Feodo and URLhaus CSV (header in a comment line), CSV by column number', () => {
      const f = parse(FEODO_CSV, { format: 'feodo-csv' });
      assert.deepEqual(f.ips, ['4:c0000242/32:QakBot', '4:c0000243/32:Dridex']);
      const u = parse(URLHAUS_CSV, { format: 'urlhaus-csv' });
      assert.deepEqual(u.domains, ['evil-payload.example:malware_download']);
      assert.deepEqual(u.ips, ['4:c0000263/32:malware_download']);
      const c = parse('ip;score\n10.9.8.7;99\n10.9.8.8;12\nnot-an-ip;1\n', { format: 'csv', column: 1, labelColumn: 2, delimiter: ';' });
      assert.deepEqual(c.ips, ['4:a090807/32:99', '4:a090808/32:12']);
      assert.equal(c.stats.invalid, 2, 'the header and the bad row');
      const h = parse('ip,label\n203.0.113.9,x\n', { format: 'csv', column: 'ip', labelColumn: 'label' });
      assert.deepEqual(h.ips, ['4:cb007109/32:x']);
    });

    it('hosts files and domain lists; bad lines are counted, never thrown', () => {
      const h = parse('127.0.0.1 localhost\n0.0.0.0 ads.example.net # tracker\n0.0.0.0 Bad.Example.ORG\n0.0.0.0\n', { format: 'hosts' });
      assert.deepEqual(h.domains, ['ads.example.net:', 'bad.example.org:']);
      assert.equal(h.stats.invalid, 1);
      const p = parse('*.wild.example\n.dot.example\nno spaces allowed here!\n300.1.1.1\n1.2.3.4/33\n', { format: 'plain' });
      assert.deepEqual(p.domains, ['wild.example:', 'dot.example:']);
      assert.equal(p.stats.invalid, 3);
      assert.equal(urlHost('https://user@[2001:db8::5]:443/x?y'), '2001:db8::5');
      const j = parse('{"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}\n{"type":"metadata","timestamp":1}\n{bad\n', { format: 'spamhaus-drop-json' });
      assert.deepEqual(j.ips, ['4:10a1000/20:SBL256894']);
      assert.equal(j.stats.invalid, 1);
    });
  });

  describe('analyzer', () => {
    it('alerts on listed external endpoints with the entry and label; never on pseudonyms', async () => {
      const { dir, cleanup } = tempDir();
      try {
        writeFileSync(join(dir, 'drop.txt'), SPAMHAUS_DROP);
        writeFileSync(join(dir, 'feodo.csv'), FEODO_CSV);
        const ti = new ThreatIntelAnalyzer();
        const cfg = { watch: false, feeds: [
          { name: 'drop', path: 'drop.txt', format: 'spamhaus-drop' },
          { name: 'feodo', path: join(dir, 'feodo.csv'), format: 'feodo-csv', severity: 'critical', response: 'block-peer' },
        ] };
        const { alerts } = await runRecords([[ti, cfg]], [
          flow({ resp_addr: '203.0.113.77', resp_port: 443 }),                          // DROP hit, outbound
          flow({ orig_addr: '1.19.4.5', orig_anon: false, resp_addr: '10.0.0.9', resp_port: 22 }), // DROP hit, inbound
          flow({ resp_addr: '192.0.2.66', resp_port: 443 }),                            // Feodo hit
          flow({ resp_addr: '203.0.113.77', resp_anon: true }),                         // a pseudonym that equals a listed address
          flow({ orig_addr: '192.0.2.66', orig_anon: true, resp_addr: '93.184.216.34' }),
          flow({ resp_addr: '198.51.100.1' }),                                          // not listed
          flow({ resp_addr: '203.0.113.77', record_seq: 1 }),                           // later record of a flow: checked once
        ], { baseDir: dir });
        assert.equal(alerts.length, 3, alerts.map((a) => a.summary).join('\n'));
        const [a, b, c] = alerts;
        assert.equal(a!.peer, '203.0.113.77');
        assert.equal(a!.rule, 'ip:drop');
        assert.equal(a!.evidence.entry, '203.0.113.0/24');
        assert.equal(a!.evidence.label, 'SBL999001');
        assert.equal(a!.evidence.direction, 'outbound');
        assert.deepEqual(a!.suggestedResponse, { action: 'capture-peer', peer: '203.0.113.77', reason: 'listed on drop', durationSec: 3600, port: 443 });
        assert.equal(b!.peer, '1.19.4.5');
        assert.equal(b!.evidence.direction, 'inbound');
        assert.equal(c!.severity, 'critical');
        assert.equal(c!.evidence.label, 'QakBot');
        assert.equal(c!.suggestedResponse?.action, 'block-peer');
      } finally {
        cleanup();
      }
    });

    it('on a real capture: listed servers alert, the pseudonymized client never does', async () => {
      const { dir, cleanup } = tempDir();
      try {
        const recs = await recordsOf([join(referencePcapsDir(), 'zeek', 'wikipedia.pcap')], { internalPrefixes: ['141.142.0.0/16'] });
        const pseudonyms = [...new Set(recs.filter((r) => r.orig_anon).map((r) => r.orig_addr))];
        assert.ok(pseudonyms.length > 0);
        writeFileSync(join(dir, 'list.txt'), `208.80.152.0/22 ; SBL000042\n${pseudonyms.join('\n')}\n`);
        const { alerts } = await runRecords([[new ThreatIntelAnalyzer(), { watch: false, feeds: [{ name: 'list', path: join(dir, 'list.txt') }] }]], recs);
        const expected = recs.filter((r) => r.record_seq === 0 && /^208\.80\.15[2-5]\./.test(r.resp_addr)).length;
        assert.ok(expected >= 2, `flows to 208.80.152.0/22: ${expected}`);
        assert.equal(alerts.length, expected);
        assert.ok(alerts.every((a) => a.evidence.entry === '208.80.152.0/22' && /^208\.80\./.test(a.peer!)));
        assert.ok(alerts.every((a) => !pseudonyms.includes(a.peer!)));
      } finally {
        cleanup();
      }
    });

    it('DNS names from captured payload (real DNS messages) match the domain list, parents included', async () => {
      const { dir, cleanup } = tempDir();
      try {
        writeFileSync(join(dir, 'hosts'), '0.0.0.0 wikimedia.org\n0.0.0.0 unrelated.example\n');
        const { host, alerts } = await makeHost([[new ThreatIntelAnalyzer(), { watch: false, feeds: [{ name: 'blocklist', path: join(dir, 'hosts'), format: 'hosts' }] }]]);
        const tap = dnsPayloadTap(host);
        const reader = openCaptureFile(join(referencePcapsDir(), 'zeek', 'wikipedia.pcap'));
        const pkt = new DecodedPacket();
        let names = 0;
        for (let fr = reader.next(); fr !== null; fr = reader.next()) {
          decodePacket(fr.linkType, fr.data, fr.wireLen, fr.tsUs, pkt);
          names += tap(pkt, 'agent-w');
        }
        reader.close();
        host.close();
        assert.ok(names > 20, `${names} names`);
        assert.ok(alerts.length > 0);
        assert.ok(alerts.every((a) => a.rule === 'domain:blocklist' && a.peer === 'wikimedia.org' && a.agentId === 'agent-w'));
        const seen = new Set(alerts.map((a) => a.evidence.name));
        assert.ok(seen.has('upload.wikimedia.org'), [...seen].join(' '));
        assert.ok(alerts.some((a) => a.evidence.role === 'query' && a.evidence.server === '141.142.2.2'));
      } finally {
        cleanup();
      }
    });

    it('reloads a changed feed without a restart: by fs.watch, and by the tick check', async () => {
      const { dir, cleanup } = tempDir();
      try {
        const watched = join(dir, 'watched.txt');
        const polled = join(dir, 'polled.txt');
        writeFileSync(watched, '198.51.100.1\n');
        writeFileSync(polled, '198.51.100.1\n');
        const a1 = new ThreatIntelAnalyzer();
        const a2 = new ThreatIntelAnalyzer();
        const { host, alerts } = await makeHost([
          [a1, { feeds: [{ name: 'watched', path: watched }] }],
          [a2, { watch: false, feeds: [{ name: 'polled', path: polled }] }],
        ], { tickIntervalUs: 60e6 });
        a2.name = 'ti-polled';
        host.onFlow(flow({ start: T0, resp_addr: '198.51.100.2' }));
        assert.equal(alerts.length, 0);
        // a feed updater writes a new file and renames it into place
        writeFileSync(join(dir, 'tmp1'), '198.51.100.1\n198.51.100.2\n');
        renameSync(join(dir, 'tmp1'), watched);
        writeFileSync(polled, '198.51.100.2\n# now listed\n');
        const feed = a1.feedList[0]!;
        const deadline = Date.now() + 5000;
        while (feed.version < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.equal(feed.version, 2, 'fs.watch reloaded the feed');
        assert.equal(a2.feedList[0]!.version, 1, 'the unwatched feed waits for a tick');
        host.onFlow(flow({ start: T0 + 10e6, resp_addr: '198.51.100.2' }));
        assert.deepEqual(alerts.map((a) => a.rule), ['ip:watched']);
        host.onFlow(flow({ start: T0 + 61e6, end: T0 + 61e6 + 1, resp_addr: '198.51.100.2' })); // tick, then the flow
        assert.equal(a2.feedList[0]!.version, 2, 'the tick check reloaded the unwatched feed');
        assert.deepEqual(alerts.map((a) => a.rule), ['ip:watched', 'ip:watched', 'ip:polled']);
        // a feed that disappears keeps its last contents
        renameSync(polled, join(dir, 'gone'));
        host.onFlow(flow({ start: T0 + 130e6, end: T0 + 130e6 + 1, resp_addr: '198.51.100.2' }));
        assert.equal(alerts.filter((a) => a.rule === 'ip:polled').length, 2);
        assert.match(a2.feedList[0]!.lastError ?? '', /cannot read feed polled/);
        host.close();
      } finally {
        cleanup();
      }
    });

    it('a 1,000,000-entry list loads and answers exactly', () => {
      let s = 7;
      const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
      const lines: string[] = [];
      const listed: number[] = [];
      for (let i = 0; i < 1_000_000; i++) {
        const a = next() | 0x01000000;
        if (i % 4 === 0) lines.push(`${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.0/24`);
        else { lines.push(`${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`); if (listed.length < 1000) listed.push(a >>> 0); }
      }
      const t0 = performance.now();
      const data = FeedData.fromText(lines.join('\n'), { format: 'plain' });
      const loadMs = performance.now() - t0;
      assert.ok(data.v4.size > 990_000, `${data.v4.size} distinct prefixes`);
      const w = new Uint32Array(4);
      for (const a of listed) { w[0] = a; assert.ok(data.v4.lookup(w) >= 0); }
      let hits = 0;
      const t1 = performance.now();
      for (let i = 0; i < 200_000; i++) { w[0] = next(); if (data.v4.lookup(w) >= 0) hits++; }
      const ns = ((performance.now() - t1) / 200_000) * 1e6;
      console.log(`      (1M entries: loaded in ${loadMs.toFixed(0)} ms, ${ns.toFixed(0)} ns/lookup, ${hits} random hits of 200000)`);
      assert.ok(hits < 20_000, 'random addresses rarely hit');
    });
  });
});
