// Our flows against reference flow tables we did not write (Zeek conn.log, FlowTest,
// nDPI, Arkime, Argus): imports every reference capture through the real importer and
// scores the matches. Thresholds sit just under today's results; every difference
// left is explained in docs/reference-comparison.md and listed in KNOWN_MISSES.
import assert from 'node:assert/strict';
import { compareReferences, formatReport, type ComparisonReport } from '../../tools/compare-reference.js';

/** Reference flows we knowingly do not reproduce (see docs/reference-comparison.md). */
const KNOWN_MISSES: Record<string, string[]> = {
  zeek: [
    // fragment policy: we count every outer fragment and the 4 datagrams Zeek never completes
    'zeek/tunnels_gtp_gtp1_gn_normal_incl_fragmentation.pcap 10.131.47.185:1923 > 79.101.110.141:80',
    'zeek/tunnels_gtp_gtp1_gn_normal_incl_fragmentation.pcap 239.114.155.111:2152 > 63.94.149.181:2152',
  ],
  ndpi: [
    // nDPI counts only first fragments; we count all 1252 (as Argus)
    'ndpi/ip_fragmented_garbage.pcap 10.0.0.2:0 > 10.128.0.2:0',
  ],
  argus: [
    // damaged headers: we key these packets without their (untrusted) ports
    'tcpdump/ipv4_invalid_total_length.pcap 140.211.9.206:39095 > 45.33.127.156:53',
    'tcpdump/tcp_header_heapoverflow.pcap 48.48.48.48:12336 > 48.48.48.48:12336',
    'tcpdump/udp-length-heapoverflow.pcap 48.48.48.48:12336 > 48.48.48.48:12336',
  ],
};

describe('reference comparison (Zeek, FlowTest, nDPI, Arkime, Argus)', function () {
  this.timeout(120_000);
  let report: ComparisonReport;

  before(async () => {
    report = await compareReferences();
    process.stdout.write('\n' + formatReport(report) + '\n\n');
  });

  it('covers the reference set', () => {
    assert.ok(report.files.length >= 50, `only ${report.files.length} captures compared`);
    assert.ok(report.overall.zeek.flows >= 100, `only ${report.overall.zeek.flows} Zeek flows`);
  });

  it('matches >= 98% of Zeek conn.log flows exactly (orig/resp packets, IP bytes, conn_state)', () => {
    const z = report.overall.zeek;
    assert.ok(z.exact / z.flows >= 0.98, `Zeek exact ${z.exact}/${z.flows}`);
    assert.equal(z.found, z.flows, 'every Zeek flow has a flow of ours with its endpoints');
  });

  it('stays above floors for the other references', () => {
    const o = report.overall;
    const floors: [keyof typeof o, number, number][] = [
      // reference, min exact share, min matched (exact + aggregate) share
      ['flowtest', 0.6, 0.95],
      ['ndpi', 0.99, 0.995],
      ['arkime', 0.9, 0.98],
      ['argus', 0.97, 0.99],
    ];
    for (const [name, exact, matched] of floors) {
      const r = o[name];
      assert.ok(r.flows > 0, `${name}: no flows compared`);
      assert.ok(r.exact / r.flows >= exact, `${name}: exact ${r.exact}/${r.flows} below ${exact}`);
      assert.ok((r.exact + r.aggregate) / r.flows >= matched, `${name}: matched ${r.exact + r.aggregate}/${r.flows} below ${matched}`);
    }
  });

  it('has no unexplained misses', () => {
    const unexplained: string[] = [];
    for (const f of report.files) {
      for (const [name, res] of Object.entries(f.results)) {
        for (const m of res.misses) {
          const known = (KNOWN_MISSES[name] ?? []).some((k) => `${f.capture} ${m.reference}`.startsWith(k));
          if (!known) unexplained.push(`${f.capture} [${name}] ${m.reference} | ours: ${m.ours.join(' ; ') || '-'}`);
        }
      }
    }
    assert.deepEqual(unexplained, []);
  });
});
