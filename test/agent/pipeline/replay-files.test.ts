import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replayFiles, ReplayError, REPLAY_BROTLI_QUALITY, type ReplayProgress } from '../../../agent/pipeline/replay-files.js';
import { decodeDump, readDumpHeader } from '../../../shared/dump/index.js';
import { ANON_KEY_FILE, initOwnerKeys, loadAnonKey } from '../../../shared/keys/owner-keys.js';
import { AddressAnonymizer } from '../../../shared/anonymize/address-anonymizer.js';
import { Direction, RecordFlag, PacketRecord } from '../../../shared/packet/packet-record.js';
import { formatIp, parseIp } from '../../../shared/net/ip-address.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { openCaptureFile } from '../../../shared/capture-file/index.js';
import { skipBecause } from '../../helpers/skip.js';
import { writePcap } from '../../shared/capture-file/capture-writers.js';
import { BAD_IP } from '../../shared/decode/encap-cases.js';

const ref = (rel: string): string => join(referencePcapsDir(), rel);

function allReferenceCaptures(): string[] {
  const out: string[] = [];
  for (const d of readdirSync(referencePcapsDir(), { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    for (const f of readdirSync(join(referencePcapsDir(), d.name))) if (/\.pcap(ng)?$/.test(f)) out.push(join(referencePcapsDir(), d.name, f));
  }
  return out.sort();
}

function readDumps(paths: string[]): PacketRecord[] {
  const recs: PacketRecord[] = [];
  for (const p of paths) decodeDump(readFileSync(p)).forEach((r) => { recs.push(new PacketRecord().copyFrom(r)); });
  return recs;
}

function haveTshark(): boolean {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('agent/pipeline/replay-files', function () {
  let dir = '';
  let keyFile = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mk-replay-'));
    initOwnerKeys(join(dir, 'keys'));
    keyFile = join(dir, 'keys', ANON_KEY_FILE);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('replays every reference capture: every frame is either in a dump or counted as excluded', async () => {
    const files = allReferenceCaptures();
    let frames = 0;
    for (const f of files) {
      const r = openCaptureFile(f);
      while (r.next()) frames++;
      r.close();
    }
    const progress: ReplayProgress[] = [];
    const s = await replayFiles(files, { outDir: join(dir, 'out'), anonymize: 'internal', keyFile, packetsPerDump: 5000, snapLen: 0, onProgress: (p) => progress.push(p) });
    assert.deepEqual(s.files.filter((f) => f.error), [], 'no file failed');
    assert.equal(s.stats.packetsSeen, frames);
    assert.equal(s.stats.packetsKept + s.stats.excludedTotal, frames);
    assert.ok(s.stats.excludedTotal > 0);
    const inDumps = s.dumps.reduce((n, d) => n + d.packets, 0);
    assert.equal(inDumps, s.stats.packetsKept);
    assert.ok(s.dumps.every((d) => d.packets <= 5000));
    assert.deepEqual(readdirSync(join(dir, 'out')).sort(), s.dumps.map((d) => d.path.slice(d.path.lastIndexOf('/') + 1)).sort());
    assert.equal(readDumps(s.dumps.map((d) => d.path)).length, inDumps);
    assert.equal(s.stats.decoderInternalErrors, 0);
    const finished = progress.filter((p) => p.bytesRead === p.fileSize);
    assert.deepEqual(finished.map((p) => p.fileIndex), files.map((_, i) => i), 'a final report per file');
    const headerKey = decodeDump(readFileSync(s.dumps[0]!.path)).header.anonKeyId;
    assert.equal(headerKey, s.anonKeyId);
  });

  it('anonymizes internal addresses with the owner key, leaves external ones; direction unknown without host addresses', async () => {
    // ocs.pcap: a 192.168/16 client talking to public servers
    const file = ref('ndpi/ocs.pcap');
    const s = await replayFiles([file], { outDir: join(dir, 'out'), anonymize: 'internal', keyFile, packetsPerDump: 20_000, snapLen: 0, hostAddresses: [] });
    const recs = readDumps(s.dumps.map((d) => d.path));
    const anon = new AddressAnonymizer({ key: loadAnonKey(keyFile), policy: 'internal' });
    // the same capture decoded independently, kept records in the same order
    const expected: string[] = [];
    const { DecodedPacket, decodePacket } = await import('../../../shared/decode/index.js');
    const { NoiseFilter } = await import('../../../agent/capture/noise-filter.js');
    const nf = new NoiseFilter();
    const p = new DecodedPacket();
    const r = openCaptureFile(file);
    for (let f = r.next(); f; f = r.next()) {
      decodePacket(f.linkType, f.data, f.wireLen, f.tsUs, p);
      if (nf.filter(p) !== 0 || p.ipVersion === 0) continue;
      anon.anonymizeRecord(p);
      expected.push(`${formatIp(p.ipVersion, p.src)} ${p.sport} > ${formatIp(p.ipVersion, p.dst)} ${p.dport} ${p.proto}`);
    }
    r.close();
    const got = recs.filter((x) => x.ipVersion !== 0).map((x) => `${formatIp(x.ipVersion, x.src)} ${x.sport} > ${formatIp(x.ipVersion, x.dst)} ${x.dport} ${x.proto}`);
    assert.deepEqual(got, expected);
    let internal = 0;
    for (const x of recs) {
      for (const [a, flag] of [[x.src, RecordFlag.SrcAnon], [x.dst, RecordFlag.DstAnon]] as const) {
        if (x.ipVersion === 4 && (x.flags & flag)) internal++;
        // no record carries a real private address any more
        const priv = a[0] === 10 || (a[0] === 192 && a[1] === 168) || (a[0] === 172 && (a[1]! & 0xf0) === 16);
        if (x.ipVersion === 4 && priv) assert.ok((x.flags & flag) !== 0, `real internal address ${formatIp(4, a)}`);
      }
      assert.equal(x.direction, Direction.Unknown, 'replay without host addresses: direction unknown');
    }
    assert.ok(internal > 0);
  });

  it('writes brotli quality 1 dumps unless told otherwise; the quality changes the bytes, not the records', async () => {
    const file = ref('zeek/ftp_cwd-navigation.pcap');
    const opts = { anonymize: 'internal' as const, keyFile, packetsPerDump: 20_000, snapLen: 0, agentId: '00000000-0000-4000-8000-0000000000a1' };
    const fast = await replayFiles([file], { ...opts, outDir: join(dir, 'q1') });
    const q2 = await replayFiles([file], { ...opts, outDir: join(dir, 'q2'), brotliQuality: 2 });
    assert.equal(REPLAY_BROTLI_QUALITY, 1);
    for (const [s, level] of [[fast, 1], [q2, 2]] as const) {
      for (const d of s.dumps) {
        const bytes = readFileSync(d.path);
        assert.equal(readDumpHeader(bytes).compression, 'brotli');
        assert.equal(bytes[77], level, 'header byte 77: compressionLevel (docs/dump-format.md)');
      }
    }
    const a = readDumps(fast.dumps.map((d) => d.path));
    assert.ok(a.length > 8000);
    assert.deepEqual(a, readDumps(q2.dumps.map((d) => d.path)));
  });

  it('a packet whose IP header is malformed reaches the dump as a record flagged BadIpHeader, its internal address anonymized', async () => {
    const file = join(dir, 'bad-ip.pcap');
    const frames = BAD_IP.map((b, i) => ({ linkType: 1, data: b.frame, wireLen: b.frame.length, tsUs: 1_700_000_000_000_000 + i, interfaceId: 0 }));
    writeFileSync(file, writePcap(frames, { littleEndian: true, nanosecond: false, linkType: 1 }));
    const s = await replayFiles([file], { outDir: join(dir, 'out'), anonymize: 'internal', keyFile, packetsPerDump: 100, snapLen: 0, hostAddresses: [] });
    const recs = readDumps(s.dumps.map((d) => d.path));
    assert.equal(recs.length, BAD_IP.length, 'none disappears');
    for (const r of recs) {
      assert.equal(r.flags & (RecordFlag.BadIpHeader | RecordFlag.Malformed), RecordFlag.BadIpHeader | RecordFlag.Malformed);
      assert.notEqual(r.ipVersion, 0);
    }
    // the IHL-3 header kept its addresses; the internal source is a pseudonym now
    const ihl3 = recs[0]!;
    assert.notEqual(formatIp(4, ihl3.src), '10.1.2.3');
    assert.ok((ihl3.flags & RecordFlag.SrcAnon) !== 0);
    assert.equal(formatIp(4, ihl3.dst), '192.0.2.9', 'an external address stays');
  });

  it('direction from the given host addresses, payload per snapLen (checked against tshark)', async function () {
    if (!haveTshark()) skipBecause(this, 'tshark is the independent reference here');
    const file = ref('zeek/http_get.pcap');
    const client = '141.142.228.5';
    const s = await replayFiles([file], { outDir: join(dir, 'out'), anonymize: 'none', packetsPerDump: 100, snapLen: 64, hostAddresses: [client] });
    const recs = readDumps(s.dumps.map((d) => d.path));
    const lines = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'ip.src', '-e', 'tcp.len'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
    assert.equal(recs.length, lines.length);
    lines.forEach((line, i) => {
      const [src, len] = line.split('\t');
      const x = recs[i]!;
      assert.equal(x.direction, src === client ? Direction.Out : Direction.In, `packet ${i + 1} direction`);
      assert.equal(x.payload.length, Math.min(64, Number(len)), `packet ${i + 1} payload`);
    });
    // the kept bytes are the real ones: the request starts with "GET "
    const req = recs.find((x) => x.payload.length > 0 && x.direction === Direction.Out)!;
    assert.equal(Buffer.from(req.payload.subarray(0, 4)).toString('latin1'), 'GET ');
    assert.equal(decodeDump(readFileSync(s.dumps[0]!.path)).header.snapLen, 64);
    assert.ok(s.stats.anonymizedAddresses === 0);
    assert.equal(parseIp(client).version, 4);
  });

  it('reports a damaged file and still replays the frames before the damage', async () => {
    const src = ref('zeek/ssh_ssh.pcap');
    const cut = join(dir, 'cut.pcap');
    const bytes = readFileSync(src);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    copyFileSync(ref('zeek/http_get.pcap'), join(dir, 'ok.pcap'));
    const s = await replayFiles([cut, join(dir, 'ok.pcap')], { outDir: join(dir, 'out'), anonymize: 'none', packetsPerDump: 20_000, snapLen: 0 });
    assert.match(s.files[0]!.error ?? '', /cut\.pcap|truncated|cut off/i);
    assert.ok(s.files[0]!.frames > 100);
    assert.equal(s.files[1]!.error, undefined);
    assert.equal(s.files[1]!.frames, 14);
    assert.equal(s.dumps.length, 2, 'one dump per file');
    assert.ok(statSync(s.dumps[1]!.path).size > 0);
  });

  it('refuses to anonymize without the owner key, and empty input', async () => {
    await assert.rejects(replayFiles([ref('zeek/http_get.pcap')], { outDir: join(dir, 'o'), anonymize: 'internal', packetsPerDump: 10, snapLen: 0 }), ReplayError);
    await assert.rejects(replayFiles([], { outDir: join(dir, 'o'), anonymize: 'none', packetsPerDump: 10, snapLen: 0 }), /no capture files/);
  });
});
