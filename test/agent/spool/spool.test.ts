import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool, SpoolCorruptError, SpoolError, spoolFileName, KEY_FILE, QUARANTINE_DIR } from '../../../agent/spool/index.js';
import { DumpWriter, decodeDump } from '../../../shared/dump/index.js';
import { recordsFromPcap } from '../../shared/dump/helpers/pcap-records.js';
import { rootLogger, setLogLevel } from '../../../shared/log.js';

const AGENT = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
const KEY = '00ff10ee20dd30cc';
const OVERHEAD = 52; // spool file header + GCM tag

function realDumps(n: number): Uint8Array[] {
  const recs = recordsFromPcap('zeek/ssh_ssh.pcap');
  const w = new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: 0 });
  const out: Uint8Array[] = [];
  const per = Math.floor(recs.length / n);
  for (let i = 0; i < n; i++) {
    for (const r of recs.slice(i * per, (i + 1) * per)) w.add(r);
    out.push(w.finish(i + 1));
  }
  return out;
}

const mode = (p: string): number => statSync(p).mode & 0o777;

describe('spool', () => {
  let base: string;
  let dir: string;
  let dumps: Uint8Array[];

  let level: string;
  before(() => {
    dumps = realDumps(6);
    // the spool logs every drop and corrupt file it is made to handle here; keep the test output readable
    level = rootLogger().level;
    setLogLevel('silent');
  });
  after(() => setLogLevel(level));
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'meerkat-spool-'));
    dir = join(base, 'spool');
  });
  // every spool a test opens: their queued disk writes finish before the directory is removed
  let opened: Spool[] = [];
  const track = (s: Spool): Spool => { opened.push(s); return s; };
  afterEach(async () => {
    await Promise.all(opened.map((s) => s.flushed()));
    opened = [];
    rmSync(base, { recursive: true, force: true });
  });

  it('creates an owner-only directory, key and files, and round-trips dumps encrypted', async () => {
    const s = track(Spool.open({ dir, maxBytes: 10_000_000 }));
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(join(dir, KEY_FILE)), 0o600);
    assert.equal(statSync(join(dir, KEY_FILE)).size, 32);
    const seqs = dumps.map((d) => {
      const seq = s.nextSequence();
      s.put(seq, d, decodeDump(d).packetCount);
      return seq;
    });
    assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(s.list(), seqs);
    // put() returns before the disk work: a read waits for the file, which is then on disk
    assert.deepEqual(Buffer.from(await s.read(1)), Buffer.from(dumps[0]!));
    assert.ok(existsSync(join(dir, spoolFileName(1))));
    await s.flushed();
    for (const [i, seq] of seqs.entries()) {
      const file = join(dir, spoolFileName(seq));
      assert.equal(mode(file), 0o600);
      const onDisk = readFileSync(file);
      assert.equal(onDisk.length, dumps[i]!.length + OVERHEAD);
      // encrypted at rest: neither the dump magic nor its body is visible
      assert.equal(onDisk.indexOf(Buffer.from('MKDP')), -1);
      assert.equal(onDisk.indexOf(Buffer.from(dumps[i]!.subarray(96, 160))), -1);
      assert.deepEqual(Buffer.from(await s.read(seq)), Buffer.from(dumps[i]!));
    }
    for (const f of readdirSync(dir)) assert.equal(mode(join(dir, f)) & 0o077, 0, `${f} is owner-only`);
    assert.ok(!readdirSync(dir).some((f) => f.startsWith('.tmp-')), 'no temp files left');
    const st = s.stats();
    assert.equal(st.files, 6);
    assert.equal(st.bytes, dumps.reduce((a, d) => a + d.length + OVERHEAD, 0));
    s.remove(3);
    s.remove(3); // idempotent
    assert.deepEqual(s.list(), [1, 2, 4, 5, 6]);
    assert.throws(() => s.read(3), (e: unknown) => e instanceof SpoolError && /no dump with sequence 3/.test(e.message));
    await s.flushed();
    assert.ok(!existsSync(join(dir, spoolFileName(3))), 'removed from disk too');
  });

  it('a dump removed before its write ran never reaches the disk; one removed during the write is deleted after it', async () => {
    const s = track(Spool.open({ dir, maxBytes: 10_000_000 }));
    const a = s.nextSequence();
    s.put(a, dumps[0]!, 5);
    s.remove(a);
    const b = s.nextSequence();
    s.put(b, dumps[1]!, 5);
    const reading = s.read(b);
    assert.ok(reading instanceof Promise, 'not on disk yet');
    await reading;
    s.remove(b);
    await s.flushed();
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.mkds')), []);
    assert.deepEqual(s.list(), []);
    assert.equal(s.stats().bytes, 0);
  });

  it('a dump whose write fails is counted as dropped, and the spool goes on', async () => {
    const s = track(Spool.open({ dir, maxBytes: 10_000_000 }));
    const a = s.nextSequence();
    // the temp name is taken: the exclusive create fails
    writeFileSync(join(dir, `.tmp-${spoolFileName(a)}`), 'in the way');
    s.put(a, dumps[0]!, 7);
    await assert.rejects(async () => s.read(a), (e: unknown) => e instanceof SpoolError && /no dump with sequence/.test(e.message));
    const b = s.nextSequence();
    s.put(b, dumps[1]!, 5);
    await s.flushed();
    assert.deepEqual(s.list(), [b]);
    assert.equal(s.stats().droppedDumps, 1);
    assert.equal(s.stats().droppedPackets, 7);
    assert.deepEqual(Buffer.from(await s.read(b)), Buffer.from(dumps[1]!));
  });

  it('tightens the permissions of an existing directory', () => {
    track(Spool.open({ dir, maxBytes: 1000 }));
    chmodSync(dir, 0o755);
    track(Spool.open({ dir, maxBytes: 1000 }));
    assert.equal(mode(dir), 0o700);
  });

  it('never repeats a sequence: persisted before use, across restarts and crashes', async () => {
    let s = track(Spool.open({ dir, maxBytes: 10_000_000 }));
    assert.equal(s.nextSequence(), 1);
    assert.equal(s.nextSequence(), 2); // assigned, then "crash" before put
    await s.flushed();
    s = track(Spool.open({ dir, maxBytes: 10_000_000 }));
    const n = s.nextSequence();
    assert.equal(n, 3);
    s.put(n, dumps[0]!, 10);
    // the dump's file is written after its sequence's state: once it is readable, both are on disk
    await s.read(n);
    assert.equal(JSON.parse(readFileSync(join(dir, 'spool-state.json'), 'utf8')).nextSequence, 4);
    // state file lost but the spool exists: recovery starts past the files and the µs clock
    rmSync(join(dir, 'spool-state.json'));
    const before = Date.now() * 1000;
    s = track(Spool.open({ dir, maxBytes: 10_000_000 }));
    const r = s.nextSequence();
    assert.ok(r >= before && r > 3, `recovered sequence ${r}`);
    assert.deepEqual(s.list(), [3]);
    assert.throws(() => s.put(r + 5, dumps[1]!, 1), /not issued/);
    assert.throws(() => s.put(3, dumps[1]!, 1), /already in the spool/);
  });

  it('bounds itself in bytes by dropping the oldest dumps, counting and persisting the drops', async () => {
    const sizes = dumps.map((d) => d.length + OVERHEAD);
    const max = sizes[0]! + sizes[1]! + sizes[2]! + 10; // room for about three
    let s = track(Spool.open({ dir, maxBytes: max }));
    const packets = dumps.map((d) => decodeDump(d).packetCount);
    for (let i = 0; i < 6; i++) s.put(s.nextSequence(), dumps[i]!, packets[i]!);
    const st = s.stats();
    assert.ok(st.bytes <= max, `${st.bytes} <= ${max}`);
    const kept = s.list();
    assert.equal(kept[kept.length - 1], 6, 'the newest is kept');
    const dropped = [1, 2, 3, 4, 5, 6].filter((q) => !kept.includes(q));
    assert.ok(dropped.length >= 2);
    assert.deepEqual(dropped, dropped.slice().sort((a, b) => a - b));
    assert.equal(Math.max(...dropped) < Math.min(...kept), true, 'the oldest are the ones dropped');
    assert.equal(st.droppedDumps, dropped.length);
    assert.equal(st.droppedPackets, dropped.reduce((a, q) => a + packets[q - 1]!, 0));
    assert.equal(st.droppedBytes, dropped.reduce((a, q) => a + sizes[q - 1]!, 0));
    // a dump larger than the whole bound is dropped itself; the queue is kept
    s.put(s.nextSequence(), new Uint8Array(max), 77);
    assert.deepEqual(s.list(), kept);
    assert.equal(s.stats().droppedPackets, st.droppedPackets + 77);
    // counters and files survive a restart; a lower bound applies at open
    await s.flushed();
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.mkds')).sort(), kept.map(spoolFileName));
    s = track(Spool.open({ dir, maxBytes: max }));
    assert.deepEqual(s.stats(), { ...st, droppedDumps: st.droppedDumps + 1, droppedPackets: st.droppedPackets + 77, droppedBytes: st.droppedBytes + max + OVERHEAD });
    s = track(Spool.open({ dir, maxBytes: sizes[5]! }));
    assert.deepEqual(s.list(), [6]);
    assert.equal(s.stats().droppedDumps, st.droppedDumps + 1 + kept.length - 1);
    // the drops at open delete their files in queue order
    await s.flushed();
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.mkds')), [spoolFileName(6)]);
  });

  it('detects tampering: quarantines the file, counts it, reports a clear error', async () => {
    let s = track(Spool.open({ dir, maxBytes: 10_000_000 }));
    for (let i = 0; i < 3; i++) s.put(s.nextSequence(), dumps[i]!, 5);
    await s.flushed();
    const file = join(dir, spoolFileName(2));
    const b = readFileSync(file);
    b[b.length >> 1]! ^= 0x01;
    writeFileSync(file, b);
    assert.throws(() => s.read(2), (e: unknown) => e instanceof SpoolCorruptError && /failed authentication/.test(e.message) && /quarantine/.test(e.message));
    assert.deepEqual(s.list(), [1, 3]);
    assert.equal(s.stats().corrupt, 1);
    assert.ok(!existsSync(file));
    assert.equal(readdirSync(join(dir, QUARANTINE_DIR)).length, 1);
    // header tampering (packet count is authenticated too)
    const f3 = join(dir, spoolFileName(3));
    const b3 = readFileSync(f3);
    b3[16]! ^= 0xff;
    writeFileSync(f3, b3);
    assert.throws(() => s.read(3), SpoolCorruptError);
    // a truncated file is caught when the spool opens
    truncateSync(join(dir, spoolFileName(1)), 40);
    await s.flushed();
    s = track(Spool.open({ dir, maxBytes: 10_000_000 }));
    assert.deepEqual(s.list(), []);
    assert.equal(s.stats().corrupt, 3);
  });

  it('fails authentication with another key, and refuses a damaged key file without replacing it', async () => {
    let s = track(Spool.open({ dir, maxBytes: 10_000_000 }));
    s.put(s.nextSequence(), dumps[0]!, 5);
    await s.flushed();
    writeFileSync(join(dir, KEY_FILE), Buffer.alloc(32, 7));
    s = track(Spool.open({ dir, maxBytes: 10_000_000 }));
    assert.throws(() => s.read(1), SpoolCorruptError);
    writeFileSync(join(dir, KEY_FILE), Buffer.alloc(31, 7));
    assert.throws(() => Spool.open({ dir, maxBytes: 10_000_000 }), (e: unknown) => e instanceof SpoolError && /31 bytes, expected 32/.test(e.message));
    assert.equal(statSync(join(dir, KEY_FILE)).size, 31);
  });

  it('removes crash debris (temp files) when it opens', async () => {
    const s = track(Spool.open({ dir, maxBytes: 10_000_000 }));
    s.put(s.nextSequence(), dumps[0]!, 5);
    await s.flushed();
    writeFileSync(join(dir, '.tmp-0000000000000002.mkds'), 'partial');
    const s2 = track(Spool.open({ dir, maxBytes: 10_000_000 }));
    assert.ok(!existsSync(join(dir, '.tmp-0000000000000002.mkds')));
    assert.deepEqual(s2.list(), [1]);
    assert.equal(s2.nextSequence(), 2);
  });
});
