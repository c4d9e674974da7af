// The commands through commander and the project's runCli: `meerkat-collector import`,
// `meerkat flows` and `meerkat top` on a database file (--db; the API side is
// test/collector/control/admin-routes.test.ts) - output formats (table, JSON lines, CSV, Zeek
// conn.log), filters (CIDR, the "*" notation, a real address anonymized here with the owner's
// key), paging, and exit codes (0 ok, 1 runtime, 2 usage).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerImportCommand } from '../../../collector/commands/import.js';
import { registerFlowsCommand } from '../../../console/commands/flows.js';
import { initOwnerKeys, loadAnonKey } from '../../../shared/keys/owner-keys.js';
import { anonymizeText } from '../../../shared/anonymize/pseudonym-text.js';
import { parseTimeOption } from '../../../shared/cli/time-option.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';
import { runCommand } from '../../helpers/cli-run.js';

const run = runCommand;

describe('meerkat-collector import / meerkat flows', () => {
  const pcaps = referencePcapsDir();
  let dir: string;
  let db: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-cmd-'));
    db = join(dir, 'flows.db');
    const r = await run(registerImportCommand, ['import', join(pcaps, 'zeek/wikipedia.pcap'), join(pcaps, 'zeek/ftp_ipv6.pcap'),
      '--db', db, '--anonymize', 'none', '--no-progress', '--agent', 'lab-1']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /imported 272 packets from 2 file\(s\)/);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('import: usage errors exit 2, unreadable files exit 1 after importing the rest', async () => {
    const bad = await run(registerImportCommand, ['import', join(pcaps, 'zeek/http_get.pcap'), '--db', join(dir, 'x.db'), '--anonymize', 'some']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--anonymize must be one of internal, all, none/);
    // without --db: the default organisation's database of this host's collector, found as every meerkat-collector command finds it
    const prev = process.env.MEERKAT_STATE_DIR;
    process.env.MEERKAT_STATE_DIR = join(dir, 'collector-state');
    try {
      const noDb = await run(registerImportCommand, ['import', join(pcaps, 'zeek/http_get.pcap'), '--anonymize', 'none', '--no-analyze', '--config', join(dir, 'no-config.json')]);
      assert.equal(noDb.code, 2, 'a configuration named by flag must exist');
      assert.match(noDb.err, /no-config\.json: cannot read the collector configuration \(ENOENT\)/);
      writeFileSync(join(dir, 'collector.json'), '{}');
      const intoState = await run(registerImportCommand, ['import', join(pcaps, 'zeek/http_get.pcap'), '--anonymize', 'none', '--no-analyze', '--config', join(dir, 'collector.json')]);
      assert.equal(intoState.code, 0, intoState.err);
      assert.ok(existsSync(join(dir, 'collector-state', 'orgs', 'default', 'meerkat.db')));
      const noOrg = await run(registerImportCommand, ['import', join(pcaps, 'zeek/http_get.pcap'), '--anonymize', 'none', '--no-analyze', '--config', join(dir, 'collector.json'), '--org', 'acme']);
      assert.equal(noOrg.code, 2, 'an organisation this collector does not have');
      assert.match(noOrg.err, /no organisation "acme" on this collector/);
      assert.ok(!existsSync(join(dir, 'collector-state', 'orgs', 'acme')), 'nothing made for it');
      const badOrg = await run(registerImportCommand, ['import', join(pcaps, 'zeek/http_get.pcap'), '--config', join(dir, 'collector.json'), '--org', 'Not_An_Org']);
      assert.equal(badOrg.code, 2);
    } finally {
      if (prev === undefined) delete process.env.MEERKAT_STATE_DIR;
      else process.env.MEERKAT_STATE_DIR = prev;
    }
    const junk = join(dir, 'junk');
    writeFileSync(junk, 'junk');
    const partial = await run(registerImportCommand, ['import', junk, join(pcaps, 'zeek/http_get.pcap'), '--db', join(dir, 'y.db'),
      '--anonymize', 'none', '--json']);
    assert.equal(partial.code, 1);
    const summary = JSON.parse(partial.out) as { errors: number; records: number };
    assert.equal(summary.errors, 1);
    assert.equal(summary.records, 1);
  });

  it('flows --json prints one record per line with the documented fields', async () => {
    const r = await run(registerFlowsCommand, ['flows', '--db', db, '--json']);
    assert.equal(r.code, 0, r.err);
    const recs = r.out.trim().split('\n').map((l) => JSON.parse(l) as FlowRecord);
    assert.equal(recs.length, 34 + 6);
    for (const k of ['community_id', 'agent_id', 'proto', 'ip_version', 'orig_addr', 'orig_port', 'resp_addr', 'resp_port', 'vlan',
      'start', 'end', 'duration', 'orig_pkts', 'resp_pkts', 'orig_ip_bytes', 'resp_ip_bytes', 'orig_payload_bytes',
      'resp_payload_bytes', 'conn_state', 'history', 'record_cause', 'rtt_syn_synack_us', 'rtt_synack_ack_us',
      'retransmits_orig', 'retransmits_resp', 'zero_windows_orig', 'zero_windows_resp', 'iat_mean_orig_us',
      'iat_stddev_orig_us', 'iat_mean_resp_us', 'iat_stddev_resp_us', 'pcr', 'tunnel', 'orig_anon', 'resp_anon']) {
      assert.ok(k in recs[0]!, `missing ${k}`);
    }
    for (let i = 1; i < recs.length; i++) assert.ok(recs[i - 1]!.start >= recs[i]!.start, 'newest first');
    assert.ok(recs.every((x) => x.agent_id === 'lab-1'));
  });

  it('flows filters by address, port, protocol, state, time and limit', async () => {
    const lines = async (...args: string[]) => {
      const r = await run(registerFlowsCommand, ['flows', '--db', db, '--json', ...args]);
      assert.equal(r.code, 0, r.err);
      return r.out.trim() === '' ? [] : r.out.trim().split('\n').map((l) => JSON.parse(l) as FlowRecord);
    };
    assert.equal((await lines('--addr', '2001:470:4867:99:0::21')).length, 6, 'IPv6 text is normalized');
    assert.equal((await lines('--port', '53', '--proto', 'UDP')).length, 14);
    assert.equal((await lines('--state', 's1')).length, 8);
    assert.equal((await lines('--limit', '3')).length, 3);
    const all = await lines();
    const mid = all[20]!.start;
    const since = await lines('--since', String(mid / 1e6));
    assert.equal(since.length, all.filter((x) => x.end >= mid).length);
    assert.equal((await lines('--until', '2000-01-01T00:00:00Z')).length, 0);
  });

  it('flows by server name: exact or the names under a domain; capture imports carry the metadata', async () => {
    const lines = async (...args: string[]) => {
      const r = await run(registerFlowsCommand, ['flows', '--db', db, '--json', ...args]);
      assert.equal(r.code, 0, r.err);
      return r.out.trim() === '' ? [] : r.out.trim().split('\n').map((l) => JSON.parse(l) as FlowRecord);
    };
    const all = await lines();
    const named = all.filter((x) => x.server_name !== null);
    assert.ok(named.length > 10, `${named.length} flows with a server name`);
    const upload = await lines('--name', 'UPLOAD.wikimedia.org');
    assert.ok(upload.length > 0 && upload.every((x) => x.server_name === 'upload.wikimedia.org'));
    const under = await lines('--name-suffix', 'wikimedia.org');
    assert.equal(under.length, named.filter((x) => x.server_name!.endsWith('.wikimedia.org') || x.server_name === 'wikimedia.org').length);
    assert.ok(under.length > upload.length);
    assert.ok(under.some((x) => x.app_proto === 'http') && under.some((x) => x.app_proto === 'dns'));
    assert.equal((await lines('--name-suffix', 'kimedia.org')).length, 0, 'labels, not characters');
    const t = await run(registerFlowsCommand, ['flows', '--db', db, '--name', 'upload.wikimedia.org', '--limit', '1']);
    assert.match(t.out.split('\n')[0]!, /server name$/);
    assert.match(t.out.split('\n')[1]!, /upload\.wikimedia\.org$/);
    assert.equal((await run(registerFlowsCommand, ['flows', '--db', db, '--name', 'a.example', '--name-suffix', 'example'])).code, 2);
  });

  it('flows prints a table by default; bad flags exit 2, a missing database exits 2', async () => {
    const t = await run(registerFlowsCommand, ['flows', '--db', db, '--proto', 'tcp', '--limit', '2']);
    assert.equal(t.code, 0);
    const rows = t.out.trim().split('\n');
    assert.match(rows[0]!, /^start\s+duration\s+proto\s+originator\s+responder/);
    assert.equal(rows.length, 3);
    assert.match(rows[1]!, /tcp\s+\S+:\d+\s+\S+:\d+\s+\d+\/\d+/);
    assert.equal((await run(registerFlowsCommand, ['flows', '--db', db, '--state', 'XX'])).code, 2);
    assert.equal((await run(registerFlowsCommand, ['flows', '--db', db, '--port', '70000'])).code, 2);
    assert.equal((await run(registerFlowsCommand, ['flows', '--db', db, '--since', 'yesterday-ish'])).code, 2);
    assert.equal((await run(registerFlowsCommand, ['flows', '--db', db, '--addr', '300.1.1.1'])).code, 2);
    assert.equal((await run(registerFlowsCommand, ['flows', '--db', join(dir, 'none.db')])).code, 2);
  });

  it('flows pages: --limit, the cursor printed for the next page, --all', async () => {
    const json = async (...args: string[]) => {
      const r = await run(registerFlowsCommand, ['flows', '--db', db, '--json', ...args]);
      assert.equal(r.code, 0, r.err);
      return { recs: r.out.trim() === '' ? [] : r.out.trim().split('\n').map((l) => JSON.parse(l) as FlowRecord), err: r.err };
    };
    const every = (await json()).recs;
    const first = await json('--limit', '15');
    assert.equal(first.recs.length, 15);
    const cursor = /--cursor (\S+)/.exec(first.err)?.[1];
    assert.ok(cursor, first.err);
    const second = await json('--limit', '15', '--cursor', cursor);
    assert.deepEqual([...first.recs, ...second.recs].map((r) => r.uid + r.record_seq), every.slice(0, 30).map((r) => r.uid + r.record_seq));
    const whole = await json('--limit', '15', '--all');
    assert.equal(whole.recs.length, every.length);
    assert.doesNotMatch(whole.err, /--cursor/);
  });

  it('flows --format csv and zeek: every record, Zeek conn.log fields and header', async () => {
    const csv = await run(registerFlowsCommand, ['flows', '--db', db, '--format', 'csv']);
    assert.equal(csv.code, 0, csv.err);
    const lines = csv.out.trim().split('\n');
    const header = lines[0]!.split(',');
    assert.ok(header.includes('orig_addr') && header.includes('community_id') && header.includes('conn_state'));
    assert.equal(lines.length, 1 + 40);
    const zeek = await run(registerFlowsCommand, ['flows', '--db', db, '--format', 'zeek', '--proto', 'udp']);
    assert.equal(zeek.code, 0, zeek.err);
    const zl = zeek.out.trim().split('\n');
    assert.equal(zl[0], '#separator \\x09');
    const fields = zl.find((l) => l.startsWith('#fields'))!.split('\t').slice(1);
    assert.deepEqual(fields.slice(0, 7), ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto']);
    const data = zl.filter((l) => !l.startsWith('#'));
    assert.equal(data.length, 24);
    for (const d of data) {
      const cols = d.split('\t');
      assert.equal(cols.length, fields.length);
      assert.equal(cols[fields.indexOf('proto')], 'udp');
      assert.match(cols[0]!, /^\d{10}\.\d{6}$/);
    }
    assert.match(zl[zl.length - 1]!, /^#close\t\d{4}-/);
    assert.equal((await run(registerFlowsCommand, ['flows', '--db', db, '--format', 'xml'])).code, 2);
    assert.equal((await run(registerFlowsCommand, ['flows', '--db', db, '--format', 'csv', '--json'])).code, 2);
  });

  it('flows --addr takes CIDR prefixes; a * means a pseudonym; --real searches by a real address anonymized here', async () => {
    const count = async (d: string, ...args: string[]) => {
      const r = await run(registerFlowsCommand, ['flows', '--db', d, '--json', ...args]);
      assert.equal(r.code, 0, r.err);
      return r.out.trim() === '' ? 0 : r.out.trim().split('\n').length;
    };
    const exact = await count(db, '--addr', '141.142.220.118');
    assert.ok(exact > 0);
    assert.ok(await count(db, '--addr', '141.142.0.0/16') >= exact);
    assert.equal(await count(db, '--addr', '141.142.220.118*'), 0, 'not a pseudonym in this database');
    // the same captures with every address pseudonymized under an owner key
    const keys = join(dir, 'owner');
    initOwnerKeys(keys);
    const anonDb = join(dir, 'anon.db');
    const imp = await run(registerImportCommand, ['import', join(pcaps, 'zeek/wikipedia.pcap'), join(pcaps, 'zeek/ftp_ipv6.pcap'),
      '--db', anonDb, '--anonymize', 'all', '--anon-key', join(keys, 'anon.key'), '--no-progress', '--no-analyze', '--agent', 'lab-1']);
    assert.equal(imp.code, 0, imp.err);
    const pseudonym = anonymizeText({ anonKey: loadAnonKey(join(keys, 'anon.key')) }, '141.142.220.118');
    assert.equal(await count(anonDb, '--addr', `${pseudonym}*`), exact);
    assert.equal(await count(anonDb, '--real', '141.142.220.118', '--owner-keys', keys), exact);
    assert.equal(await count(anonDb, '--real', '141.142.0.0/16', '--owner-keys', keys), await count(db, '--addr', '141.142.0.0/16'));
    const table = await run(registerFlowsCommand, ['flows', '--db', anonDb, '--real', '141.142.220.118', '--owner-keys', keys, '--deanon', '--limit', '1']);
    assert.match(table.out, new RegExp(`${pseudonym.replace(/\./g, '\\.')}\\*:\\d+ \\(= 141\\.142\\.220\\.118\\)`), 'ADDR*:PORT (= real)');
    const both = await run(registerFlowsCommand, ['flows', '--db', anonDb, '--real', '10.0.0.1', '--addr', '10.0.0.1']);
    assert.equal(both.code, 2);
    const noKey = await run(registerFlowsCommand, ['flows', '--db', anonDb, '--real', '10.0.0.1', '--owner-keys', join(dir, 'no-keys')]);
    assert.equal(noKey.code, 1);
    assert.match(noKey.err, /anon\.key/);
    const old = await run(registerFlowsCommand, ['flows', '--db', anonDb, '--deanon', '--keys', keys]);
    assert.equal(old.code, 2);
    assert.match(old.err, /--keys is now --owner-keys/);
  });

  it('top: totals and the largest talkers, ports and protocols over a range', async () => {
    const j = await run(registerFlowsCommand, ['top', '--db', db, '--since', '2000-01-01T00:00:00Z', '--top', '2', '--json']);
    assert.equal(j.code, 0, j.err);
    const s = JSON.parse(j.out) as { records: number; talkers: unknown[]; ports: { proto: string; port: number }[]; protocols: { proto: string }[] };
    assert.equal(s.records, 40);
    assert.equal(s.talkers.length, 2);
    assert.deepEqual(s.ports[0], { ...s.ports[0], proto: 'tcp', port: 80 });
    const t = await run(registerFlowsCommand, ['top', '--db', db, '--since', '2000-01-01T00:00:00Z']);
    assert.match(t.out, /top talkers/);
    assert.match(t.out, /tcp\/80/);
    const none = await run(registerFlowsCommand, ['top', '--db', db]);
    assert.match(none.out, /: 0 record\(s\)/, 'the last hour by default');
  });

  it('parses time options: ISO, epoch seconds, durations ago', () => {
    const now = Date.UTC(2024, 0, 2, 0, 0, 0);
    assert.equal(parseTimeOption('--since', '2024-01-01T00:00:00Z', now), Date.UTC(2024, 0, 1) * 1000);
    assert.equal(parseTimeOption('--since', '1700000000.5', now), 1_700_000_000_500_000);
    assert.equal(parseTimeOption('--since', '2h', now), (now - 2 * 3600_000) * 1000);
  });
});
