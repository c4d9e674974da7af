// The dga analyzer: a host looking up minNames DGA-like domains within the window alerts
// (higher severity when most got NXDOMAIN), every further one adds to the alert; benign and
// pseudonymized names never count; sightings age out of the window; ignored domains and a
// configured model file are honoured; and over a real capture with DGA lookups replayed
// through the agent pipeline, the alert comes out of the import.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DgaAnalyzer } from '../../../../collector/analyze/dga/dga-analyzer.js';
import { DgaModel } from '../../../../collector/analyze/dga/dga-model.js';
import { dgaFamily } from '../../../../collector/analyze/dga/dga-families.js';
import { analyzeImport } from '../../../../collector/analyze/analyze-import.js';
import { replayFiles } from '../../../../agent/pipeline/replay-files.js';
import type { DnsRecord } from '../../../../shared/flow/app-records.js';
import { ether, ipv4, pcapFile, udp } from '../../../helpers/frames.js';
import { makeHost, quietLog, tempDir } from '../harness.js';

const T0 = 1_700_000_000_000_000;
const SEC = 1_000_000;

function q(name: string, ts: number, over: Partial<DnsRecord> = {}): DnsRecord {
  return {
    ts, uid: `F${ts}`, agent_id: 'host-1', orig_addr: '10.1.1.5', orig_port: 5353, resp_addr: '10.1.1.1', resp_port: 53, orig_anon: true, resp_anon: true,
    proto: 'udp', trans_id: 1, rtt_us: 500, query: name, query_anon: false, qclass: 1, qclass_name: 'C_INTERNET', qtype: 1, qtype_name: 'A',
    rcode: 3, rcode_name: 'NXDOMAIN', AA: false, TC: false, RD: true, RA: true, answers: [], ...over,
  };
}

function dnsWire(name: string, id: number, response: boolean): number[] {
  const out = [id >> 8, id & 255, response ? 0x81 : 0x01, response ? 0x83 : 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
  for (const label of name.split('.')) out.push(label.length, ...Buffer.from(label));
  out.push(0, 0, 1, 0, 1);
  return out;
}

describe('dga analyzer', function () {
  this.timeout(60_000);
  const dga = dgaFamily('ramnit')!.generate(50, 10);

  it('alerts when a host looks up minNames DGA-like domains within the window; NXDOMAIN raises the severity', async () => {
    const a = new DgaAnalyzer();
    const { host, alerts } = await makeHost([[a, { minNames: 3, windowSec: 600 }]]);
    const send = (r: DnsRecord): void => host.onApp({ kind: 'dns', record: r });
    send(q('www.wikipedia.org', T0));
    send(q('mk--abcdefgh.mk--ijklmnop', T0 + 1, { query_anon: true }));
    send(q(dga[0]!, T0 + 2 * SEC));
    send(q(dga[0]!, T0 + 3 * SEC)); // the same domain again: one
    send(q(dga[1]!, T0 + 4 * SEC));
    assert.equal(alerts.length, 0);
    send(q(dga[2]!, T0 + 5 * SEC));
    assert.equal(alerts.length, 1);
    const x = alerts[0]!;
    assert.deepEqual([x.category, x.rule, x.severity, x.agentId], ['dga', 'dga-names', 'high', 'host-1']);
    assert.equal((x.evidence as { distinct: number }).distinct, 3);
    send(q(dga[3]!, T0 + 6 * SEC, { rcode: 0, rcode_name: 'NOERROR' }));
    assert.equal(alerts.length, 2, 'every further DGA-like domain adds to the alert');
    // another host is counted on its own; sightings age out of the window
    send(q(dga[4]!, T0 + 7 * SEC, { agent_id: 'host-2' }));
    send(q(dga[5]!, T0 + 2000 * SEC));
    assert.equal(alerts.length, 2);
    assert.equal(a.scored, 8, "the pseudonym was not scored");
    host.close();
  });

  it('most answers found: medium; ignored domains and a configured model are honoured', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const model = join(dir, 'model.json');
      DgaModel.builtin().save(model);
      const { host, alerts } = await makeHost([[new DgaAnalyzer(), { minNames: 2, model, ignore: [dga[0]!] }]], { baseDir: dir });
      for (let i = 0; i < 3; i++) host.onApp({ kind: 'dns', record: q(dga[i]!, T0 + i, { rcode: 0, rcode_name: 'NOERROR' }) });
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0]!.severity, 'medium');
      assert.ok(!alerts[0]!.summary.includes(dga[0]!));
      host.close();
    } finally {
      cleanup();
    }
  });

  it('end to end: DGA lookups in a capture, replayed by the agent and imported, raise the alert', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const names = [...dgaFamily('necurs')!.generate(60, 4), 'www.wikipedia.org', 'www.netflix.com'];
      const records = names.flatMap((n, i) => [
        { tsUs: T0 + i * SEC, data: Uint8Array.from(ether('02:00:00:00:00:01', '02:00:00:00:00:02', 0x0800, ipv4('192.168.7.20', '192.168.7.1', 17, udp(40000 + i, 53, dnsWire(n, i + 1, false))))) },
        { tsUs: T0 + i * SEC + 20_000, data: Uint8Array.from(ether('02:00:00:00:00:02', '02:00:00:00:00:01', 0x0800, ipv4('192.168.7.1', '192.168.7.20', 17, udp(53, 40000 + i, dnsWire(n, i + 1, true))))) },
      ]);
      const pcap = join(dir, 'dga.pcap');
      writeFileSync(pcap, pcapFile(1, records.map((r) => ({ tsUs: r.tsUs, frame: r.data }))));
      const out = join(dir, 'dumps');
      mkdirSync(out);
      await replayFiles([pcap], { outDir: out, anonymize: 'none', names: 'internal', packetsPerDump: 1000, snapLen: 0 });
      const r = await analyzeImport(readdirSync(out).map((f) => join(out, f)), { db: join(dir, 'a.db'), progress: false, log: quietLog });
      assert.equal(r.hitsByCategory.dga, 2, `${JSON.stringify(r.hitsByCategory)}: at the third and the fourth DGA-like name`);
    } finally {
      cleanup();
    }
  });
});
