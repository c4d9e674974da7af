// The retro ring on a real disk, fed by the agent's real pipeline: every kept packet lands in
// the ring with its payload while the dumps stay header-only; files are 0600 in a 0700 directory
// and hold no plaintext payload; the ring keeps its time window and never more than its byte
// bound (segments past it shredded: file gone, key destroyed); a pull returns exactly the packets
// of its window and peer, with payload, in dumps flagged Retro, within its bound; a damaged chunk
// costs only itself; a new ring deletes what an earlier process left.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { logger } from '../../../shared/log.js';
import { AddressAnonymizer } from '../../../shared/anonymize/address-anonymizer.js';
import { AgentPipeline } from '../../../agent/pipeline/agent-pipeline.js';
import { RetroRing } from '../../../agent/retro/retro-ring.js';
import { pullRetro } from '../../../agent/retro/retro-pull.js';
import { decodeDump, DumpFlag, readDumpHeader } from '../../../shared/dump/index.js';
import { formatIp } from '../../../shared/net/ip-address.js';
import { packetKey } from '../../../shared/pcap-export/select-records.js';
import { snapshot } from '../../shared/dump/helpers/record-arbitrary.js';

const log = logger('test-retro');
log.level = 'silent';
const AGENT = '0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5';
const MARK = 'MEERKAT-RETRO-SECRET-PAYLOAD';
const T0 = 1_700_000_000_000_000;

/** Ethernet/IPv4/UDP frame from 10.0.0.{host} to 198.51.100.{peer}, payload = MARK + n. */
function frame(host: number, peer: number, n: number, size = 400): Uint8Array {
  const payload = Buffer.alloc(size, 0x2e);
  Buffer.from(`${MARK}-${n}`).copy(payload);
  const f = Buffer.alloc(14 + 28 + size);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45;
  f.writeUInt16BE(28 + size, 16);
  f.writeUInt16BE(n & 0xffff, 18);
  f[22] = 64;
  f[23] = 17;
  Buffer.from([10, 0, 0, host]).copy(f, 26);
  Buffer.from([198, 51, 100, peer]).copy(f, 30);
  f.writeUInt16BE(40000, 34);
  f.writeUInt16BE(4433, 36);
  f.writeUInt16BE(8 + size, 38);
  payload.copy(f, 42);
  return f;
}

describe('retro ring', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'meerkat-retro-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function setup(o: { seconds?: number; maxBytes?: number; snapLen?: number } = {}) {
    const ring = RetroRing.open({ dir: join(dir, 'ring'), seconds: o.seconds ?? 300, maxBytes: o.maxBytes ?? 64 << 20, snapLen: o.snapLen ?? 65535, log });
    const dumps: Uint8Array[] = [];
    let seq = 1;
    const anonymizer = new AddressAnonymizer({ key: randomBytes(32), policy: 'internal' });
    const p = new AgentPipeline({
      agentId: AGENT, anonymizer, nextSequence: () => seq++, onDump: (b) => { dumps.push(b); }, packetsPerDump: 1000,
    });
    p.setRetroTap(ring);
    return { ring, p, dumps, dec: { anonymizer, linkType: 1 } };
  }

  const diskBytes = (d: string): number => readdirSync(d).reduce((a, f) => a + statSync(join(d, f)).size, 0);

  it('keeps every packet with its payload (dumps stay header-only), encrypted, 0600 in 0700', async () => {
    const { ring, p, dumps, dec } = setup();
    for (let i = 0; i < 3000; i++) { const f = frame(5, i % 3 === 0 ? 7 : 8, i); p.handleFrame(1, f, 0, f.length, f.length, T0 + i * 1000); }
    p.flush();
    ring.flush();
    assert.equal(p.capturePayloadBytes(T0), 65535, 'the capture snap length follows the ring');
    for (const d of dumps) assert.equal(readDumpHeader(d).flags & DumpFlag.HasPayload, 0, 'dumps are header-only');
    const rd = join(dir, 'ring');
    assert.equal(statSync(rd).mode & 0o777, 0o700);
    const files = readdirSync(rd);
    assert.ok(files.length >= 1);
    for (const f of files) {
      assert.equal(statSync(join(rd, f)).mode & 0o777, 0o600);
      const bytes = readFileSync(join(rd, f));
      assert.equal(bytes.indexOf(MARK), -1, `${f}: no plaintext payload`);
      assert.equal(bytes.indexOf(Buffer.from([198, 51, 100, 7])), -1, `${f}: no clear address`);
    }
    const st = ring.stats();
    assert.equal(st.packetsAdded, 3000);
    assert.equal(st.bytes, diskBytes(rd));
    // a pull for one peer and the middle second: exactly those packets, whole, flagged Retro
    const out: { seq: number; bytes: Uint8Array }[] = [];
    let n = 100;
    const r = await pullRetro(ring, { agentId: AGENT, peer: '198.51.100.7', sinceUs: T0 + 1_000_000, untilUs: T0 + 1_999_999, maxBytes: 1 << 30 }, dec, { nextSequence: () => n++, put: (seq, bytes) => out.push({ seq, bytes }) });
    const want = Array.from({ length: 1000 }, (_, k) => 1000 + k).filter((i) => i % 3 === 0);
    assert.equal(r.packets, want.length);
    const got: number[] = [];
    for (const o of out) {
      const h = readDumpHeader(o.bytes);
      assert.equal(h.flags & DumpFlag.Retro, DumpFlag.Retro);
      assert.equal(h.sequence, o.seq);
      decodeDump(o.bytes).forEach((rec) => {
        assert.equal(formatIp(4, rec.dst), '198.51.100.7');
        assert.equal(rec.payload.length, 400, 'whole payload');
        got.push(Number(/-(\d+)/.exec(Buffer.from(rec.payload).toString('latin1'))![1]));
      });
    }
    assert.deepEqual(got, want);
    assert.equal(ring.stats().pulls, 1);
    // a retro record is the very record of the normal dump (the export pairs them by this key), with payload
    const normal = new Map<string, unknown>();
    for (const d of dumps) decodeDump(d).forEach((rec) => { normal.set(packetKey(rec), { ...snapshot(rec), payload: [] }); });
    for (const o of out) decodeDump(o.bytes).forEach((rec) => {
      assert.deepEqual({ ...snapshot(rec), payload: [] }, normal.get(packetKey(rec)), 'same record as in the normal dump');
    });
    ring.close();
    assert.deepEqual(readdirSync(rd), [], 'closing shreds every segment');
  });

  it('keeps its time window and never more than its byte bound', () => {
    const { ring, p } = setup({ seconds: 20, maxBytes: 2 << 20 });
    const rd = join(dir, 'ring');
    let peak = 0;
    // 60 s of 200 packets/s with 1,400-byte random (incompressible) payloads: ~17 MB offered
    for (let i = 0; i < 12_000; i++) {
      const f = frame(5, 7, i, 1400);
      randomBytes(1300).copy(f, 42 + 60);
      p.handleFrame(1, f, 0, f.length, f.length, T0 + i * 5000);
      if (i % 500 === 0) peak = Math.max(peak, diskBytes(rd));
    }
    ring.flush();
    peak = Math.max(peak, diskBytes(rd));
    const st = ring.stats();
    assert.ok(peak <= 2 << 20, `disk ${peak} <= bound`);
    assert.ok(st.segmentsShredded > 0);
    assert.ok(st.bytesWritten > 10 << 20, `${st.bytesWritten} written in all`);
    // the byte bound cut the window short: what is left is the newest
    assert.ok(st.newestUs! >= T0 + 59_990_000 && st.oldestUs! > T0 + 40_000_000);
    ring.close();
    // with room to spare, the time window decides
    const t = setup({ seconds: 10, maxBytes: 64 << 20 });
    for (let i = 0; i < 6000; i++) { const f = frame(5, 7, i); t.p.handleFrame(1, f, 0, f.length, f.length, T0 + i * 10_000); }
    t.ring.flush();
    const s2 = t.ring.stats();
    assert.ok(s2.seconds >= 10 && s2.seconds <= 12, `${s2.seconds} s kept of a 10 s window`);
    t.p.tick(T0 + 200_000_000); // long after: everything past the window goes, bar the segment being written
    assert.ok(t.ring.stats().segments <= 1);
    t.ring.close();
  });

  it('a pull stays within its bound; a damaged chunk costs only itself; a new ring deletes old files', async () => {
    const { ring, p, dec } = setup({ snapLen: 65535 });
    for (let i = 0; i < 4000; i++) { const f = frame(5, 7, i, 1000); p.handleFrame(1, f, 0, f.length, f.length, T0 + i * 1000); }
    ring.flush();
    const sink = (out: Uint8Array[]) => ({ nextSequence: () => out.length + 1, put: (_s: number, b: Uint8Array) => { out.push(b); } });
    const small: Uint8Array[] = [];
    const r = await pullRetro(ring, { agentId: AGENT, sinceUs: 0, untilUs: Number.MAX_SAFE_INTEGER, maxBytes: 300_000 }, dec, sink(small));
    assert.equal(r.truncated, true);
    assert.ok(r.bytes <= 300_000 && r.packets > 100 && r.packets < 4000, JSON.stringify(r));
    // damage one chunk of the first segment
    const rd = join(dir, 'ring');
    const first = readdirSync(rd).sort()[0]!;
    const b = readFileSync(join(rd, first));
    b[200]! ^= 0xff;
    writeFileSync(join(rd, first), b);
    const all: Uint8Array[] = [];
    const r2 = await pullRetro(ring, { agentId: AGENT, sinceUs: 0, untilUs: Number.MAX_SAFE_INTEGER, maxBytes: 1 << 30 }, dec, sink(all));
    assert.equal(r2.chunksLost, 1);
    assert.ok(r2.packets > 3000 && r2.packets < 4000);
    // the agent stops without closing (crash): a new ring cannot read those files and deletes them
    const again = RetroRing.open({ dir: rd, seconds: 300, maxBytes: 64 << 20, snapLen: 100, log });
    assert.deepEqual(readdirSync(rd), []);
    assert.equal(existsSync(rd), true);
    again.close();
  });
});
