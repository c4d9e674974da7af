// The importer end to end on reference captures and real dump files: decode ->
// anonymize -> flow engine -> SQLite; dump and capture de-duplication; flow state across
// dumps; tunnels; damaged and unknown files.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importFiles } from '../../../collector/import/import-files.js';
import { fileKindFromMagic } from '../../../collector/import/sniff-file-kind.js';
import { DumpAgentMismatchError, DumpIngest } from '../../../collector/import/dump-ingest.js';
import { createProgress, withMilestone } from '../../../collector/import/import-progress.js';
import { ether, ipv4, pcapFile, udp } from '../../helpers/frames.js';
import { DumpFormatError, decodeDump } from '../../../shared/dump/index.js';
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { importedRows } from '../../helpers/flow-db-rows.js';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import { openCaptureFile } from '../../../shared/capture-file/index.js';
import { decodePacket, DecodedPacket } from '../../../shared/decode/index.js';
import type { PacketRecord } from '../../../shared/packet/packet-record.js';
import { DumpWriter } from '../../../shared/dump/index.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';

const pcaps = referencePcapsDir();
const AGENT = '3f1b7a52-8c1e-4b7a-9a57-0c2f4f0e9d11';

/** Writes the capture's packet records as dumps of `perDump` records (sequence 1, 2, ...). */
function captureToDumps(capture: string, dir: string, perDump: number): string[] {
  const reader = openCaptureFile(capture);
  const d = new DecodedPacket();
  const w = new DumpWriter({ agentId: AGENT, anonKeyId: '0123456789abcdef', snapLen: 0 });
  const files: string[] = [];
  const flush = () => {
    const seq = files.length + 1;
    const path = join(dir, `dump-${seq}.mkd`);
    writeFileSync(path, w.finish(seq));
    files.push(path);
  };
  try {
    for (let fr = reader.next(); fr !== null; fr = reader.next()) {
      decodePacket(fr.linkType, fr.data, fr.wireLen, fr.tsUs, d);
      w.add(d);
      if (w.count >= perDump) flush();
    }
    if (w.count > 0) flush();
  } finally {
    reader.close();
  }
  return files;
}

describe('importFiles', () => {
  let dir: string;
  let db: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-import-'));
    db = join(dir, 'flows.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('imports a pcap into the database with Zeek-equal counters', async () => {
    const s = await importFiles([join(pcaps, 'zeek/http_get.pcap')], { db, anonymize: 'none', progress: false });
    assert.equal(s.errors, 0);
    assert.equal(s.packets, 14);
    assert.equal(s.records, 1);
    assert.equal(s.files[0]!.kind, 'pcap');
    const store = new SqliteFlowStore(db, { readonly: true });
    try {
      const [r] = store.queryFlows();
      // Zeek: 141.142.228.5 59856 -> 192.150.187.43 80, SF, 7/512, 7/5379
      assert.deepEqual([r!.orig_addr, r!.orig_port, r!.resp_addr, r!.resp_port], ['141.142.228.5', 59856, '192.150.187.43', 80]);
      assert.deepEqual([r!.conn_state, r!.orig_pkts, r!.orig_ip_bytes, r!.resp_pkts, r!.resp_ip_bytes], ['SF', 7, 512, 7, 5379]);
      assert.equal(r!.history, 'ShADadFf');
      assert.equal(r!.agent_id, 'import');
    } finally {
      store.close();
    }
  });

  it('into a new database, indexes built at the end: the same schema and rows as row by row', async () => {
    // several traces, DNS and TLS among them, so flows, dns_log and tls_log all get rows
    const files = ['zeek/http_get.pcap', 'zeek/ssh_ssh.pcap', 'ndpi/netflix.pcap'].map((f) => join(pcaps, f));
    const key = new Uint8Array(32).fill(7);
    const dump = (path: string): { schema: unknown[]; rows: Record<string, unknown[]> } => {
      const d = new Database(path, { readonly: true });
      try {
        const schema = d.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all();
        return { schema, rows: importedRows(path) };
      } finally {
        d.close();
      }
    };
    const deferredDb = join(dir, 'deferred.db');
    const a = await importFiles(files, { db: deferredDb, anonKey: key, progress: false });
    const b = await importFiles(files, { db, anonKey: key, progress: false, deferIndexes: false });
    assert.equal(a.records, b.records);
    const da = dump(deferredDb);
    const dbb = dump(db);
    assert.ok(da.rows.flows!.length > 50 && da.rows.dns_log!.length > 0 && da.rows.tls_log!.length > 0, 'every bulk table has rows');
    assert.deepEqual(da.schema, dbb.schema);
    assert.deepEqual(da.rows, dbb.rows);
  });

  it('the decoder\'s fast lane gives the rows of the full decoder (every reference capture)', async function () {
    this.timeout(120_000);
    // all of ../shared/pcaps: VLAN tags, IPv6, tunnels, fragments, snapped frames, other link types
    const files = readdirSync(pcaps, { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.(pcap|pcapng|cap)$/.test(f)).sort().map((f) => join(pcaps, f));
    assert.ok(files.length > 40, `reference captures found: ${files.length}`);
    const key = new Uint8Array(32).fill(9);
    const fullDb = join(dir, 'full.db');
    const fast = await importFiles(files, { db, anonKey: key, progress: false });
    const full = await importFiles(files, { db: fullDb, anonKey: key, progress: false, fastDecode: false });
    const counts = (s: typeof fast): unknown => ({ packets: s.packets, records: s.records, ignored: s.ignored, errors: s.errors, duplicates: s.duplicates });
    assert.deepEqual(counts(fast), counts(full));
    const a = importedRows(db);
    const b = importedRows(fullDb);
    assert.ok(a.flows!.length > 1000 && a.dns_log!.length > 0 && a.tls_log!.length > 0, 'every bulk table has rows');
    assert.deepEqual(a, b);
  });

  it('the frame memo gives the rows and DNS tap calls of the record way (every reference capture)', async function () {
    this.timeout(120_000);
    const files = readdirSync(pcaps, { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.(pcap|pcapng|cap)$/.test(f)).sort().map((f) => join(pcaps, f));
    const key = new Uint8Array(32).fill(9);
    const plainDb = join(dir, 'plain.db');
    // what the analyzers' DNS tap would be handed
    const tapped: string[][] = [[], []];
    const tap = (i: number) => (rec: PacketRecord, agentId: string, hasMeta?: boolean): void => {
      if (rec.sport === 53 || rec.dport === 53) tapped[i]!.push(`${agentId} ${rec.tsUs} ${rec.payloadLen} ${Buffer.from(rec.payload).toString('hex')} ${String(hasMeta)}`);
    };
    const memo = await importFiles(files, { db, anonKey: key, progress: false, onPacket: tap(0) });
    const plain = await importFiles(files, { db: plainDb, anonKey: key, progress: false, frameMemo: false, onPacket: tap(1) });
    assert.ok(memo.framesFromMemo > memo.packets / 4, `frames counted from the memo: ${memo.framesFromMemo} of ${memo.packets}`);
    assert.equal(plain.framesFromMemo, 0);
    const counts = (s: typeof memo): unknown => ({ packets: s.packets, records: s.records, ignored: s.ignored, errors: s.errors, duplicates: s.duplicates });
    assert.deepEqual(counts(memo), counts(plain));
    assert.ok(tapped[0]!.length > 100);
    assert.deepEqual(tapped[0], tapped[1]);
    const a = importedRows(db);
    const b = importedRows(plainDb);
    assert.ok(a.flows!.length > 1000 && a.dns_log!.length > 0 && a.tls_log!.length > 0, 'every bulk table has rows');
    assert.deepEqual(a, b);
  });

  it('pseudonymizes internal addresses of captures with the given key, consistently', async () => {
    const key = new Uint8Array(32).fill(7);
    const file = join(pcaps, 'zeek/ssh_ssh.pcap');
    const a = await collect(file, { anonymize: 'internal', anonKey: key });
    const b = await collect(file, { anonymize: 'internal', anonKey: key });
    const plain = await collect(file, { anonymize: 'none' });
    assert.equal(a.length, plain.length);
    assert.deepEqual(a.map((r) => r.orig_addr), b.map((r) => r.orig_addr));
    const internal = plain.filter((r) => /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(r.orig_addr));
    assert.ok(internal.length > 0);
    const anon = a.filter((r) => r.orig_anon);
    assert.equal(anon.length, internal.length);
    assert.ok(anon.every((r) => !plain.some((p) => p.orig_addr === r.orig_addr)), 'no real internal address survives');
    // public servers stay in the clear
    assert.ok(a.some((r) => r.resp_addr === '131.159.21.1' && !r.resp_anon));
  });

  it('reports the outer connection of tunnelled packets as its own flow (VXLAN: 5 flows as Zeek)', async () => {
    const recs = await collect(join(pcaps, 'zeek/tunnels_vxlan.pcap'), { anonymize: 'none' });
    assert.equal(recs.length, 5);
    const inner = recs.filter((r) => r.tunnel === 'vxlan');
    assert.equal(inner.length, 1);
    assert.equal(inner[0]!.proto, 'icmp');
    assert.equal(recs.filter((r) => r.resp_port === 4789 && r.proto === 'udp').length, 4);
    const noOuter = await collect(join(pcaps, 'zeek/tunnels_vxlan.pcap'), { anonymize: 'none', outerTunnelFlows: false });
    assert.equal(noOuter.length, 3);
  });

  it('imports dump files once, carrying flow state across dumps of the agent', async () => {
    const capture = join(pcaps, 'zeek/ssh_ssh.pcap');
    const dumps = captureToDumps(capture, dir, 500);
    assert.ok(dumps.length >= 3);
    const whole = await collect(capture, { anonymize: 'none' });
    const s1 = await importFiles(dumps, { db, progress: false });
    assert.equal(s1.errors, 0);
    assert.equal(s1.duplicates, 0);
    assert.equal(s1.files.every((f) => f.kind === 'dump'), true);
    const again = await importFiles([dumps[1]!, dumps[0]!], { db, progress: false });
    assert.equal(again.duplicates, 2);
    assert.equal(again.records, 0);
    const store = new SqliteFlowStore(db, { readonly: true });
    try {
      const fromDumps = store.queryFlows({ order: 'asc' });
      assert.ok(fromDumps.every((r) => r.agent_id === AGENT));
      const key = (r: { orig_addr: string; orig_port: number; resp_port: number; orig_pkts: number; resp_pkts: number; conn_state: string }) =>
        `${r.orig_addr}:${r.orig_port}>${r.resp_port} ${r.orig_pkts}/${r.resp_pkts} ${r.conn_state}`;
      assert.deepEqual(fromDumps.map(key).sort(), whole.map(key).sort());
      const d = store.getDump(AGENT, 1)!;
      assert.equal(d.packetCount, 500);
      assert.equal(d.rawPath, dumps[0]);
      assert.equal(store.listAgents()[0]!.agentId, AGENT);
    } finally {
      store.close();
    }
  });

  it('imports a capture once per database: again (under another name, in the same run or later) it is a duplicate', async () => {
    const file = join(pcaps, 'zeek/ssh_ssh.pcap');
    const first = await importFiles([file], { db, progress: false, agentId: 'lab', nowUs: () => 1_700_000_000_000_000 });
    assert.equal(first.files[0]!.status, 'ok');
    const flows = (): number => { const s = new SqliteFlowStore(db, { readonly: true }); try { return s.countFlows(); } finally { s.close(); } };
    const n = flows();
    assert.ok(n > 0);
    const copy = join(dir, 'renamed.pcap');
    writeFileSync(copy, readFileSync(file));
    const second = await importFiles([copy, file], { db, progress: false, agentId: 'other' });
    assert.deepEqual(second.files.map((f) => f.status), ['duplicate', 'duplicate']);
    assert.deepEqual(second.files[0]!.importedBefore, { importedUs: 1_700_000_000_000_000, path: file, agentId: 'lab', anonKeyId: first.anonKeyId });
    assert.equal(second.duplicates, 2);
    assert.equal(second.errors, 0);
    assert.equal(second.records, 0);
    assert.equal(flows(), n, 'no flow doubled');
    // the same file twice in one run: the second is a duplicate of the first
    const db2 = join(dir, 'two.db');
    const both = await importFiles([file, copy], { db: db2, progress: false });
    assert.deepEqual(both.files.map((f) => f.status), ['ok', 'duplicate']);
    // reimport: on purpose
    const forced = await importFiles([file], { db, progress: false, reimport: true });
    assert.equal(forced.files[0]!.status, 'ok');
    assert.equal(flows(), 2 * n);
  });

  it('reports unreadable and unknown files and imports the rest', async () => {
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, 'hello world, not a capture');
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, readFileSync(join(pcaps, 'zeek/http_get.pcap')).subarray(0, 3000));
    const s = await importFiles([junk, join(dir, 'missing.pcap'), cut, join(pcaps, 'zeek/q-in-q.pcap')],
      { db, anonymize: 'none', progress: false });
    assert.deepEqual(s.files.map((f) => f.status), ['error', 'error', 'error', 'ok']);
    assert.match(s.files[0]!.error!, /not a pcap, pcapng or Meerkat dump/);
    assert.ok(s.files[2]!.packets > 0, 'frames before the damage are imported');
    assert.equal(s.errors, 3);
    assert.ok(s.records >= 3);
  });

  it('DumpIngest (the live path) refuses a damaged dump before writing anything', () => {
    const store = new SqliteFlowStore(db);
    try {
      const ingest = new DumpIngest(store);
      const [file] = captureToDumps(join(pcaps, 'zeek/http_get.pcap'), dir, 1000);
      const bytes = readFileSync(file!);
      const bad = Uint8Array.from(bytes);
      bad[bad.length - 1]! ^= 0xff;
      assert.throws(() => ingest.ingest(bad, { receivedUs: 1 }), DumpFormatError);
      assert.equal(store.getDump(AGENT, 1), null);
      const ok = ingest.ingest(bytes, { receivedUs: 1 });
      assert.deepEqual([ok.duplicate, ok.packets, ok.sequence], [false, 14, 1]);
      assert.equal(ingest.ingest(bytes, { receivedUs: 2 }).duplicate, true);
      assert.throws(() => ingest.ingest(bytes, { receivedUs: 3, expectAgentId: 'someone-else' }), DumpAgentMismatchError);
      ingest.flushAll();
      assert.equal(store.countFlows({ agentId: AGENT }), 1);
    } finally {
      store.close();
    }
  });

  it('live path: flows built after the commit, idle flows written out by the watermark, pending dumps rebuilt', () => {
    const [file] = captureToDumps(join(pcaps, 'zeek/http_get.pcap'), dir, 1000);
    const bytes = readFileSync(file!);
    const lastTs = decodeDump(bytes).header.lastTsUs;
    // the server records the dump (flows_built = 0), then the flow side builds it
    let store = new SqliteFlowStore(db);
    try {
      assert.equal(store.recordDump(AGENT, 1, { receivedUs: 1, firstTsUs: 0, lastTsUs: lastTs, packetCount: 14, rawPath: file! }), true);
      assert.equal(store.dumpsPendingFlows(10).length, 1);
      const ingest = new DumpIngest(store);
      ingest.buildFlows(AGENT, bytes);
      assert.equal(store.dumpsPendingFlows(10).length, 0);
      // the connection closed inside the capture, but the close delay has not passed in packet time
      assert.equal(store.countFlows({ agentId: AGENT }), 0);
      assert.equal(ingest.advanceAgent('an-agent-never-seen', lastTs + 60e6), 0);
      assert.equal(ingest.advanceAgent(AGENT, lastTs + 1000), 0, 'a watermark inside the close delay writes nothing');
      assert.equal(ingest.advanceAgent(AGENT, lastTs + 60e6), 1);
      assert.equal(store.queryFlows({ agentId: AGENT })[0]!.conn_state, 'SF');
      assert.equal(ingest.advanceAgent(AGENT, lastTs + 30e6), 0, 'packet time never goes back');
    } finally {
      store.close();
    }
    // a dump acked but never built (collector stopped in between) is rebuilt at the next start
    rmSync(db, { force: true });
    store = new SqliteFlowStore(db);
    try {
      store.recordDump(AGENT, 1, { receivedUs: 1, firstTsUs: 0, lastTsUs: lastTs, packetCount: 14, rawPath: file! });
      store.recordDump(AGENT, 2, { receivedUs: 1, firstTsUs: 0, lastTsUs: lastTs, packetCount: 1, rawPath: join(dir, 'missing.mkd') });
      const ingest = new DumpIngest(store);
      const errors: number[] = [];
      assert.equal(ingest.buildPending((p) => readFileSync(p), (_a, seq) => errors.push(seq)), 1);
      assert.deepEqual(errors, [2], 'an unreadable raw file is reported and skipped, not retried forever');
      assert.equal(store.dumpsPendingFlows(10).length, 0);
      ingest.flushAll();
      assert.equal(store.countFlows({ agentId: AGENT }), 1);
    } finally {
      store.close();
    }
  });

  it('shows a progress bar when forced, even into a pipe', () => {
    let text = '';
    const stream = { isTTY: false, columns: 80, write: (c: string) => { text += c; return true; }, on() { return this; },
      removeListener() { return this; } } as unknown as NodeJS.WriteStream;
    const p = createProgress(true, stream);
    p.start(1000);
    p.update(500, 42);
    p.stop();
    assert.match(text, /import \[/);
    assert.match(text, /42 packets/);
    let quiet = '';
    const q = createProgress('auto', { ...stream, write: (c: string) => { quiet += c; return true; } } as unknown as NodeJS.WriteStream);
    q.start(10);
    q.stop();
    if (process.env.MEERKAT_PROGRESS !== '1') assert.equal(quiet, '');
  });

  it('withMilestone: passes progress through and runs the milestone once, at the first update reaching its packet count', () => {
    const seen: string[] = [];
    const sink = { start: (t: number) => seen.push(`start ${t}`), update: (d: number, p: number) => seen.push(`update ${d} ${p}`), stop: () => seen.push('stop') };
    let runs = 0;
    const p = withMilestone(sink, { packets: 100, run: () => { runs++; seen.push('run'); } });
    p.start(10);
    p.update(1, 50);
    assert.equal(runs, 0);
    p.update(2, 120);
    p.update(3, 200);
    p.stop();
    assert.equal(runs, 1);
    assert.deepEqual(seen, ['start 10', 'update 1 50', 'update 2 120', 'run', 'update 3 200', 'stop']);
    assert.equal(withMilestone(sink, undefined), sink);
  });

  it('runs ImportOptions.milestone once, when the packets read in all (across files) reach its count', async () => {
    // two captures of 6,000 frames each: the progress looks every 4,096 frames and after each file
    const frame = ether('02:00:00:00:00:02', '02:00:00:00:00:01', 0x0800, ipv4('10.0.0.1', '10.0.0.2', 17, udp(4000, 5000, [1, 2, 3])));
    const files = [1, 2].map((n) => {
      const f = join(dir, `m${n}.pcap`);
      writeFileSync(f, pcapFile(1, Array.from({ length: 6000 }, (_, i) => ({ tsUs: 1_700_000_000_000_000 + n * 1e9 + i * 1000, frame }))));
      return f;
    });
    let runs = 0;
    const summary = await importFiles(files, { db, progress: false, milestone: { packets: 7000, run: () => { runs++; } } });
    assert.equal(summary.packets, 12_000);
    assert.equal(runs, 1, 'run once');
    const late = await importFiles([files[0]!], { db: join(dir, 'other.db'), progress: false, milestone: { packets: 7000, run: () => assert.fail('a 6,000-packet import never reaches 7,000') } });
    assert.equal(late.packets, 6000);
  });

  it('recognises files by magic number', () => {
    assert.equal(fileKindFromMagic(Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1)), 'pcap');
    assert.equal(fileKindFromMagic(Uint8Array.of(0xa1, 0xb2, 0x3c, 0x4d)), 'pcap');
    assert.equal(fileKindFromMagic(Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a)), 'pcapng');
    assert.equal(fileKindFromMagic(Uint8Array.of(0x4d, 0x4b, 0x44, 0x50)), 'dump');
    assert.equal(fileKindFromMagic(Uint8Array.of(1, 2)), 'unknown');
  });

  async function collect(file: string, opts: Parameters<typeof importFiles>[1] extends infer O ? Partial<O> : never) {
    const recs: import('../../../shared/flow/flow-record.js').FlowRecord[] = [];
    const store = new SqliteFlowStore(join(dir, `c${Math.random().toString(36).slice(2)}.db`), { synchronous: 'normal' });
    try {
      await importFiles([file], { progress: false, ...opts, db: store, onRecord: (r) => recs.push(r) });
    } finally {
      store.close();
    }
    return recs;
  }
});
