// Privacy, end to end: real traffic captured live inside a namespace pair (noise let through
// by the sampling window, so ARP / neighbour discovery / broadcasts / mDNS reach the dumps
// too; an ICMP error quoting the host's address; IPv4 and IPv6), then EVERY byte of every
// dump file - and of every decompressed body - is searched for the hosts' real addresses and
// MACs, in binary (4 / 16 / 6 bytes, both byte orders) and text forms. Zero hits allowed.
// With metadata extraction on, the traffic also carries internal domain names (DNS answers
// and a reverse lookup, a TLS server name, an HTTP Host): at the header-only snap length
// no internal name or label may appear either, in text, DNS wire form or UTF-16, while the
// metadata records carry their pseudonyms (which the owner's key turns back).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { netnsAvailable, netnsExec, withNetnsPair, type NetnsPair } from '../../helpers/netns.js';
import { startCaptureChild } from '../capture/live-child-driver.js';
import { runClient, startEchoServers, stopProcess } from '../capture/netns-traffic.js';
import { decodeDump, readDumpHeader } from '../../../shared/dump/index.js';
import { decompressBody } from '../../../shared/dump/body-compression.js';
import { compressionKind } from '../../../shared/dump/dump-header.js';
import { RecordFlag } from '../../../shared/packet/packet-record.js';
import { formatIpv6, parseIp } from '../../../shared/net/ip-address.js';
import { skipBecause } from '../../helpers/skip.js';
import { clientHelloMessage, tlsRecords, SPEC_EXAMPLE } from '../../shared/appmeta/hello-builder.js';
import { deanonymizeNameText } from '../../../shared/anonymize/pseudonym-text.js';
import { TCP_ECHO_PORT, UDP_ECHO_PORT } from '../capture/netns-traffic.js';
import type { DumpMeta } from '../../../shared/appmeta/meta-record.js';

const INTERNAL_SUFFIX = 'corp.example.test';
/** names the traffic carries that must not leave in the clear, and labels of them that are distinctive */
const INTERNAL_NAMES = ['fileserver.corp.example.test', 'vault.corp.example.test', 'git.corp.example.test', 'intranet-wiki', 'alice-laptop.example.net'];
const INTERNAL_LABELS = ['fileserver', 'vault', 'intranet-wiki', 'alice-laptop', 'corp.example.test'];

function nameNeedles(): Needle[] {
  const out: Needle[] = [];
  for (const n of [...INTERNAL_NAMES, ...INTERNAL_LABELS]) {
    out.push({ what: `name "${n}" text`, bytes: Buffer.from(n) });
    out.push({ what: `name "${n}" utf16`, bytes: Buffer.from(n, 'utf16le') });
    out.push({ what: `name "${n}" DNS wire`, bytes: Buffer.from(n.split('.').flatMap((l) => [l.length, ...Buffer.from(l)])) });
  }
  return out;
}

function dnsResponse(id: number, qname: string, qtype: number, answer: number[]): number[] {
  const name = qname.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]).concat(0);
  return [id >> 8, id & 0xff, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, ...name, 0, qtype, 0, 1, 0xc0, 12, 0, qtype, 0, 1, 0, 0, 0, 60, 0, answer.length, ...answer];
}

/** DNS (a forward answer with the peer's internal address, a reverse lookup of our own address, a single-label query), a TLS hello and an HTTP head with internal names. */
async function nameTraffic(pair: NetnsPair): Promise<void> {
  const ipB = pair.ipB.split('.').map(Number);
  const rev = pair.ipA.split('.').reverse().join('.') + '.in-addr.arpa';
  const ptr = 'alice-laptop.example.net'.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]).concat(0);
  const single = 'intranet-wiki'.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]).concat(0);
  const dns = [
    dnsResponse(1, 'fileserver.corp.example.test', 1, ipB),
    dnsResponse(2, rev, 12, ptr),
    [0, 3, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...single, 0, 1, 0, 1],
  ].map((m) => Buffer.from(m).toString('hex'));
  const hello = Buffer.from(tlsRecords(clientHelloMessage({ ...SPEC_EXAMPLE, serverName: 'vault.corp.example.test' }))).toString('hex');
  const http = Buffer.from('GET / HTTP/1.1\r\nHost: git.corp.example.test\r\nUser-Agent: privacy-test\r\n\r\n').toString('hex');
  const code = `
const dgram = require('dgram'), net = require('net');
const dns = ${JSON.stringify(dns)};
const s = dgram.createSocket('udp4');
s.bind(53, () => {
  let left = dns.length;
  s.on('message', () => { if (--left === 0) { s.close(); tcp(); } });
  for (const m of dns) s.send(Buffer.from(m, 'hex'), ${UDP_ECHO_PORT}, '${pair.ipB}');
});
function tcp() {
  let left = 2;
  for (const h of ['${hello}', '${http}']) {
    const c = net.connect(${TCP_ECHO_PORT}, '${pair.ipB}', () => c.write(Buffer.from(h, 'hex')));
    let got = 0;
    c.on('data', (d) => { got += d.length; if (got >= h.length / 2) c.end(); });
    c.on('close', () => { if (--left === 0) console.log('NAMES SENT'); });
  }
}`;
  const r = await netnsExec(pair.nsA, process.execPath, ['-e', code], { timeoutMs: 15_000 });
  if (!r.stdout.includes('NAMES SENT')) throw new Error(`name traffic failed: ${r.stderr}`);
}

interface Needle {
  what: string;
  bytes: Buffer;
}

/** Every form in which an address or MAC could sit in a file. */
function needlesFor(label: string, kind: 'ip' | 'mac', value: string): Needle[] {
  const out: Needle[] = [];
  const add = (what: string, b: Buffer): void => { out.push({ what: `${label} ${what}`, bytes: b }); };
  if (kind === 'mac') {
    const b = Buffer.from(value.replace(/[:-]/g, ''), 'hex');
    add('binary', b);
    add('binary reversed', Buffer.from(b).reverse());
    for (const sep of [':', '-', '']) {
      const t = [...b].map((x) => x.toString(16).padStart(2, '0')).join(sep);
      add(`text "${t}"`, Buffer.from(t));
      add(`text "${t.toUpperCase()}"`, Buffer.from(t.toUpperCase()));
    }
    return out;
  }
  const a = parseIp(value);
  const raw = Buffer.from(a.bytes.subarray(0, a.version === 4 ? 4 : 16));
  add('binary', raw);
  add('binary reversed', Buffer.from(raw).reverse());
  if (a.version === 4) {
    add('text', Buffer.from(value));
    add('text utf16', Buffer.from(value, 'utf16le'));
  } else {
    const t = formatIpv6(a.bytes);
    add(`text "${t}"`, Buffer.from(t));
    add(`text "${t.toUpperCase()}"`, Buffer.from(t.toUpperCase()));
    const full = [...raw].map((x) => x.toString(16).padStart(2, '0')).join('').replace(/(.{4})(?!$)/g, '$1:');
    add(`text "${full}"`, Buffer.from(full));
  }
  return out;
}

function hits(haystack: Buffer, needles: Needle[]): string[] {
  return needles.filter((n) => haystack.indexOf(n.bytes) >= 0).map((n) => n.what);
}

async function linkLocal(ns: string, dev: string): Promise<string> {
  const r = await netnsExec(ns, 'ip', ['-6', '-o', 'addr', 'show', 'dev', dev, 'scope', 'link']);
  const m = /inet6 (fe80::[0-9a-f:]+)\//.exec(r.stdout);
  if (!m) throw new Error(`no link-local address on ${dev}: ${r.stdout}`);
  return m[1]!;
}

async function captureAndScan(pair: NetnsPair, dir: string, snapLen: number): Promise<void> {
  const outDir = join(dir, `dumps-${snapLen}`);
  mkdirSync(outDir);
  const server = await startEchoServers(pair.nsB);
  const keyHex = randomBytes(32).toString('hex');
  const cap = await startCaptureChild(pair.nsA, {
    interfaces: 'any', outDir, keyHex, policy: 'internal', agentId: randomUUID(),
    snapLen, noiseSampleSeconds: 600, packetsPerDump: 40,
    metadata: { names: 'internal', internalSuffixes: [INTERNAL_SUFFIX] },
  });
  await netnsExec(pair.nsA, 'ip', ['neigh', 'flush', 'all']);
  await netnsExec(pair.nsB, 'ip', ['neigh', 'flush', 'all']);
  await runClient(pair.nsA, {
    peer4: pair.ipB, peer6: pair.ip6B, self4: pair.ipA, broadcast: pair.broadcast,
    udp4: 10, udp6: 5, tcpMessages: 5, size: 300, fill: 0x41, collector: false, noise: true, closedPort: true,
  });
  // payload capture ships payload as it is (docs/privacy.md): the name traffic is for the header-only run
  if (snapLen === 0) await nameTraffic(pair);
  await new Promise((r) => setTimeout(r, 300));
  const stats = await cap.stop();
  await stopProcess(server);

  const needles = [
    ...needlesFor('A', 'ip', pair.ipA), ...needlesFor('B', 'ip', pair.ipB),
    ...needlesFor('A', 'ip', pair.ip6A), ...needlesFor('B', 'ip', pair.ip6B),
    ...needlesFor('A link-local', 'ip', await linkLocal(pair.nsA, pair.ifA)),
    ...needlesFor('B link-local', 'ip', await linkLocal(pair.nsB, pair.ifB)),
    ...needlesFor('A', 'mac', pair.macA), ...needlesFor('B', 'mac', pair.macB),
  ];
  if (snapLen === 0) needles.push(...nameNeedles(), { what: 'reverse name of A', bytes: Buffer.from(pair.ipA.split('.').reverse().join('.') + '.in-addr') });
  const files = readdirSync(outDir).filter((f) => f.endsWith('.mkd'));
  const meta: DumpMeta[] = [];
  assert.ok(files.length >= 2, `several dumps (${files.length})`);
  let records = 0;
  let anonymized = 0;
  for (const f of files) {
    const bytes = readFileSync(join(outDir, f));
    assert.deepEqual(hits(bytes, needles), [], `${f} (file bytes)`);
    const h = readDumpHeader(bytes);
    const body = Buffer.from(decompressBody(compressionKind(h.compression), bytes.subarray(bytes.length - h.compressedSize), h.uncompressedSize));
    assert.deepEqual(hits(body, needles), [], `${f} (decompressed body)`);
    const decoded = decodeDump(bytes);
    meta.push(...decoded.meta);
    decoded.forEach((r) => {
      records++;
      if (r.flags & RecordFlag.SrcAnon) anonymized++;
    });
  }
  // the scan looked at real content: noise went in through the window, addresses were rewritten
  assert.equal(records, stats.packetsKept);
  assert.ok(stats.noiseSampled.arp >= 2 && stats.noiseSampled.ipBroadcast >= 2 && stats.noiseSampled.mdns >= 1, JSON.stringify(stats.noiseSampled));
  assert.ok(anonymized > records / 2, `${anonymized} of ${records} records carry a pseudonym source`);
  // the names were there, as pseudonyms the owner can open
  const pseudonyms: string[] = [];
  for (const { meta: m } of meta) {
    if (m.kind === 'dns') {
      if (m.query?.pseudonym) pseudonyms.push(m.query.name);
      for (const a of m.answers) if (a.name?.pseudonym) pseudonyms.push(a.name.name);
    } else if (m.kind === 'tls-client' && m.serverName?.pseudonym) pseudonyms.push(m.serverName.name);
    else if (m.kind === 'http' && m.host?.pseudonym) pseudonyms.push(m.host.name);
  }
  const opened = new Set(pseudonyms.map((p) => deanonymizeNameText({ anonKey: Buffer.from(keyHex, 'hex') }, p)));
  if (snapLen === 0) for (const n of [...INTERNAL_NAMES, pair.ipA.split('.').reverse().join('.') + '.in-addr.arpa']) assert.ok(opened.has(n), `${n} shipped as a pseudonym (${[...opened].join(', ')})`);
}

describe('privacy: captured dumps hold no real internal address or MAC', function () {
  this.timeout(60_000);
  before(function () {
    if (!netnsAvailable()) skipBecause(this, 'needs root and iproute2 network namespaces');
  });

  it('the needles find real addresses and MACs where they are (the scan can fail)', () => {
    // an ARP frame as it goes over the wire, and the same addresses as text
    const frame = Buffer.from('ffffffffffff025a0102030408060001080006040001025a010203040ad5ab25000000000000' + '0ad5ab26', 'hex');
    const n = [...needlesFor('A', 'ip', '10.213.171.37'), ...needlesFor('A', 'mac', '02:5a:01:02:03:04')];
    assert.deepEqual(hits(frame, n).sort(), ['A binary', 'A binary'].sort());
    assert.deepEqual(hits(Buffer.from('host 10.213.171.37 is-at 02-5A-01-02-03-04'), n).sort(), ['A text', 'A text "02-5A-01-02-03-04"'].sort());
    assert.deepEqual(hits(Buffer.from('fd00:0213:0000:0000:0000:0000:0000:0001 / FD00:213::1'), needlesFor('A', 'ip', 'fd00:213::1')).length, 2);
    const wire = Buffer.from([10, ...Buffer.from('fileserver'), 4, ...Buffer.from('corp'), 7, ...Buffer.from('example'), 4, ...Buffer.from('test'), 0]);
    assert.ok(hits(wire, nameNeedles()).includes('name "fileserver.corp.example.test" DNS wire'));
  });

  it('headers only (default snap length), noise sampled in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mk-priv-'));
    try {
      await withNetnsPair((pair) => captureAndScan(pair, dir, 0));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with payload capture on (snap 256): ICMP errors and sampled noise keep no payload', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mk-priv-'));
    try {
      await withNetnsPair((pair) => captureAndScan(pair, dir, 256));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
