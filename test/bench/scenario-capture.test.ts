// The scenario captures' packet builder: what it writes is read back by the real importer as
// the connections it meant (states, payload and IP bytes from the headers of snapped frames).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { prng, ScenarioCapture } from '../../bench/scenario-capture.js';
import { recordsOf, tempDir } from '../collector/analyze/harness.js';

describe('scenario capture builder', () => {
  it('sessions, refused and unanswered attempts, UDP exchanges become the flows they describe', async () => {
    const { dir, cleanup } = tempDir('meerkat-scenario-');
    try {
      const c = new ScenarioCapture(prng(1));
      const t = Date.UTC(2030, 0, 7) * 1000;
      c.session(t, '10.0.0.1', '198.51.100.1', 443, { up: 1_000, down: 30_000 }, 40_001);
      c.session(t + 1e6, '10.0.0.1', '198.51.100.2', 443, { up: 5_000_000, down: 2_000 }, 40_002);
      c.refused(t + 2e6, '10.0.0.1', '198.51.100.3', 23, 40_003);
      c.unanswered(t + 3e6, '10.0.0.1', '198.51.100.4', 445, 40_004);
      c.udpExchange(t + 4e6, '10.0.0.1', '198.51.100.5', 123, 48, 48, 40_005);
      c.udpExchange(t + 5e6, '10.0.0.1', '198.51.100.6', 161, 45, null, 40_006);
      const file = join(dir, 'x.pcap');
      const w = c.write(file);
      assert.equal(w.startUs, t);
      const recs = (await recordsOf([file], { anonymize: 'none' })).filter((r) => r.record_seq === 0);
      const by = new Map(recs.map((r) => [r.resp_addr, r]));
      const s1 = by.get('198.51.100.1')!;
      assert.deepEqual([s1.conn_state, s1.orig_payload_bytes, s1.resp_payload_bytes], ['SF', 1_000, 30_000]);
      const s2 = by.get('198.51.100.2')!;
      assert.equal(s2.orig_payload_bytes, 5_000_000, 'bulk in 64 KB segments');
      assert.ok(s2.orig_pkts < 100);
      assert.equal(by.get('198.51.100.3')!.conn_state, 'REJ');
      assert.equal(by.get('198.51.100.4')!.conn_state, 'S0');
      assert.deepEqual([by.get('198.51.100.5')!.conn_state, by.get('198.51.100.5')!.resp_pkts], ['SF', 1]);
      assert.equal(by.get('198.51.100.6')!.resp_pkts, 0);
    } finally {
      cleanup();
    }
  });
});
