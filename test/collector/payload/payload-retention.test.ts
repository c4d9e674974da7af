// Payload retention on a real collector database and real dump files: by bytes (oldest payload
// first) and by age; a normal dump keeps its headers (rewritten without payload, same packets),
// a retro dump goes whole; header-only dumps and flows are untouched; a dump that cannot be read
// is left alone, named, and not retried every run; usage follows.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { logger } from '../../../shared/log.js';
import { initOwnerKeys } from '../../../shared/keys/owner-keys.js';
import { decodeDump, DumpFlag, DumpWriter, readDumpHeader } from '../../../shared/dump/index.js';
import { PayloadRetention, payloadRetentionConfigFrom } from '../../../collector/payload/payload-retention.js';
import { importDumps, makeDumps, refPcap } from '../../shared/pcap-export/export-fixtures.js';
import { snapshot } from '../../shared/dump/helpers/record-arbitrary.js';

const log = logger('test-payload');
log.level = 'silent';

function headersOf(bytes: Uint8Array): unknown[] {
  const out: unknown[] = [];
  decodeDump(bytes).forEach((r) => { out.push({ ...snapshot(r), payload: [] }); });
  return out;
}

describe('payload retention', function () {
  this.timeout(60_000);
  let dir: string;
  let db: string;
  let full: string[];
  let hdr: string[];
  let retro: string;
  let fullHeaders: unknown[][];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-payload-'));
    db = join(dir, 'meerkat.db');
    initOwnerKeys(join(dir, 'owner'));
    const keyFile = join(dir, 'owner', 'anon.key');
    const h = await makeDumps(refPcap('zeek/http_get.pcap'), join(dir, 'hdr'), { keyFile, snapLen: 0 });
    const f = await makeDumps(refPcap('zeek/ssh_ssh.pcap'), join(dir, 'full'), { keyFile, snapLen: 65535, packetsPerDump: 300 });
    hdr = h.dumps.map((d) => d.path);
    full = f.dumps.map((d) => d.path);
    fullHeaders = full.map((p) => headersOf(readFileSync(p)));
    // a retro dump of the same agent (its ring, shipped on request)
    const w = new DumpWriter({ agentId: f.agentId, anonKeyId: f.anonKeyId, snapLen: 65535, retro: true });
    decodeDump(readFileSync(full[0]!)).forEach((r) => w.add(r));
    retro = join(dir, 'full', 'retro.mkd');
    writeFileSync(retro, w.finish(9000));
    importDumps(db, [retro, ...full, ...hdr]); // the retro dump is the oldest
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const flowsCount = (): number => {
    const d = new Database(db, { readonly: true });
    try { return (d.prepare('SELECT COUNT(*) AS n FROM flows').get() as { n: number }).n; } finally { d.close(); }
  };

  it('by bytes: oldest payload first, until the rest fits; headers stay, retro dumps go', async () => {
    const flows = flowsCount();
    const pr = new PayloadRetention(db, payloadRetentionConfigFrom({}), log);
    try {
      const before = pr.usage();
      assert.equal(before.agents.length, 1);
      assert.equal(before.agents[0]!.retroDumps, 1);
      const target = Math.floor(before.totalBytes / 2);
      const r = await pr.run(Date.now());
      assert.equal(r.stripped + r.deleted, 0, 'under the default limits nothing goes');
      const small = new PayloadRetention(db, payloadRetentionConfigFrom({ payloadRetention: { maxBytes: target } }), log);
      try {
        const r2 = await small.run();
        assert.equal(r2.deleted, 1, 'the retro dump (oldest) deleted');
        assert.ok(r2.stripped >= 1);
        assert.ok(r2.keptBytes <= target, `${r2.keptBytes} <= ${target}`);
        assert.equal(existsSync(retro), false);
        // stripped dumps: same packets and headers, no payload, flag cleared; the newest kept their payload
        let stripped = 0;
        full.forEach((p, i) => {
          const b = readFileSync(p);
          const h = readDumpHeader(b);
          if ((h.flags & DumpFlag.HasPayload) === 0) {
            stripped++;
            assert.deepEqual(headersOf(b), fullHeaders[i], `dump ${i}: headers kept`);
          }
        });
        assert.equal(stripped, r2.stripped);
        assert.equal((readDumpHeader(readFileSync(full[full.length - 1]!)).flags & DumpFlag.HasPayload), DumpFlag.HasPayload, 'the newest payload kept');
        for (const p of hdr) assert.ok(existsSync(p));
        assert.equal(flowsCount(), flows, 'flows untouched');
        assert.equal(small.usage().totalBytes, r2.keptBytes);
      } finally {
        small.close();
      }
    } finally {
      pr.close();
    }
  });

  it('by age: payload received before maxAgeHours loses it; a damaged dump is named and left alone', async () => {
    const bad = full[1]!;
    const b = readFileSync(bad);
    b[b.length - 3]! ^= 0xff;
    writeFileSync(bad, b);
    const pr = new PayloadRetention(db, payloadRetentionConfigFrom({ payloadRetention: { maxAgeHours: 1 } }), log);
    try {
      const r = await pr.run(Date.now() + 2 * 3_600_000);
      assert.equal(r.failed, 1);
      assert.equal(r.deleted, 1);
      assert.equal(r.stripped, full.length - 1);
      assert.equal(r.keptBytes, b.length, 'only the damaged dump still counts as payload');
      const again = await pr.run(Date.now() + 3 * 3_600_000);
      assert.deepEqual([again.failed, again.stripped, again.deleted], [0, 0, 0], 'not retried');
      const d = new Database(db, { readonly: true });
      try {
        const row = d.prepare('SELECT extra_json FROM dumps WHERE raw_path = ?').get(bad) as { extra_json: string };
        assert.match(JSON.parse(row.extra_json).payloadError as string, /checksum/);
      } finally { d.close(); }
    } finally {
      pr.close();
    }
  });

  it('config errors name the key', () => {
    assert.throws(() => payloadRetentionConfigFrom({ payloadRetention: { maxBytes: -1 } }), /payloadRetention[\s\S]*maxBytes/);
    assert.throws(() => payloadRetentionConfigFrom({ payloadRetention: { keep: 1 } }), /payloadRetention/);
  });
});
