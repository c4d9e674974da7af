// The fused path for the common frame (PairMemo in AgentPipeline) must change nothing but the
// work done: random frame sequences and the reference captures give the same dump bytes and
// the same counters with the fused path on and off.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { AgentPipeline, type AgentPipelineOptions } from '../../../agent/pipeline/agent-pipeline.js';
import { PairMemo } from '../../../agent/pipeline/pair-memo.js';
import { AddressAnonymizer, type AnonymizePolicy } from '../../../shared/anonymize/address-anonymizer.js';
import { createAppMetaExtractor } from '../../../shared/appmeta/app-meta-extractor.js';
import { openCaptureFile } from '../../../shared/capture-file/index.js';
import { DecodedPacket } from '../../../shared/decode/decoded-packet.js';
import { decodeDump } from '../../../shared/dump/index.js';
import { Direction, PacketRecord, RecordFlag } from '../../../shared/packet/packet-record.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { arp, ether, ipv4, ipv6, tcp, udp, ACK, PSH, SYN } from '../../helpers/frames.js';

const KEY = randomBytes(32);
const T0 = 1_700_000_000_000_000;

interface Config {
  policy: AnonymizePolicy;
  snapLen: number;
  metadata: boolean;
  hostAddresses?: string[];
  directedBroadcasts?: string[];
  noiseSampleSeconds?: number;
  packetsPerDump?: number;
}

/** A pipeline of `cfg` with the fused path on or off; its dumps in order. */
function pipeline(cfg: Config, agentId: string, fused: boolean): { p: AgentPipeline; dumps: Uint8Array[] } {
  const dumps: Uint8Array[] = [];
  let seq = 1;
  const anonymizer = new AddressAnonymizer({ key: KEY, policy: cfg.policy });
  const opts: AgentPipelineOptions = {
    agentId,
    anonymizer,
    nextSequence: () => seq++,
    onDump: (bytes) => dumps.push(bytes),
    snapLen: cfg.snapLen,
    fusedPath: fused,
    packetsPerDump: cfg.packetsPerDump ?? 500,
    ...(cfg.hostAddresses ? { hostAddresses: cfg.hostAddresses } : {}),
    ...(cfg.directedBroadcasts ? { directedBroadcasts: cfg.directedBroadcasts } : {}),
    ...(cfg.noiseSampleSeconds ? { noiseSampleSeconds: cfg.noiseSampleSeconds } : {}),
    ...(cfg.metadata ? { metadata: createAppMetaExtractor({ key: KEY, addresses: anonymizer, names: 'internal' }) } : {}),
  };
  return { p: new AgentPipeline(opts), dumps };
}

interface Frame { linkType: number; bytes: Uint8Array; wireLen: number; tsUs: number }

/** Feeds the same frames to a fused and a general pipeline; asserts equal dumps and counters. */
function assertSameOutput(cfg: Config, frames: Iterable<Frame>, between?: (i: number, p: AgentPipeline) => void): number {
  const agentId = randomUUID();
  const fused = pipeline(cfg, agentId, true);
  const general = pipeline(cfg, agentId, false);
  let i = 0;
  for (const f of frames) {
    between?.(i, fused.p);
    between?.(i, general.p);
    fused.p.handleFrame(f.linkType, f.bytes, 0, f.bytes.length, f.wireLen, f.tsUs);
    general.p.handleFrame(f.linkType, f.bytes, 0, f.bytes.length, f.wireLen, f.tsUs);
    i++;
  }
  fused.p.flush();
  general.p.flush();
  assert.equal(fused.dumps.length, general.dumps.length, 'dump count');
  fused.dumps.forEach((d, k) => assert.ok(Buffer.from(d).equals(general.dumps[k]!), `dump ${k} differs`));
  assert.deepEqual(fused.p.stats(), general.p.stats());
  return fused.p.stats().packetsKept;
}

// a few addresses of each kind, so that pairs repeat and every noise and anonymization case occurs
const V4 = ['10.0.0.5', '10.0.0.9', '192.168.1.20', '192.168.1.255', '198.51.100.7', '203.0.113.9', '127.0.0.1',
  '255.255.255.255', '224.0.0.251', '239.255.255.250', '169.254.3.4', '0.0.0.0'];
const V6 = ['fe80::1', 'fd00::5', '2001:db8::7', 'ff02::fb', '::1'];
const MACS = ['02:00:00:00:00:0a', '02:00:00:00:00:0b', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:fb', '33:33:00:00:00:01'];
const PORTS = [80, 443, 53, 67, 68, 137, 138, 139, 1900, 5353, 5355, 40000, 50000, 4789];
const HTTP = [...Buffer.from('GET / HTTP/1.1\r\nHost: intranet.corp\r\n\r\n')];

const tcpOptions = fc.constantFrom<number[]>([], [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2], [2, 4, 5, 0xb4, 1, 3, 3, 7], [8, 3, 0, 0]);

/** One frame: mostly Ethernet/IPv4 TCP (the fused path's kind), and every other kind the pipeline meets. */
const frameArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({
    dmac: fc.constantFrom(...MACS), src: fc.constantFrom(...V4), dst: fc.constantFrom(...V4),
    sport: fc.constantFrom(...PORTS), dport: fc.constantFrom(...PORTS), flags: fc.constantFrom(ACK, SYN, ACK | PSH),
    opts: tcpOptions, payload: fc.oneof(fc.constant<number[]>([]), fc.constant(HTTP), fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 60 })),
    vlan: fc.boolean(), seq: fc.nat(), cut: fc.nat({ max: 30 }),
  }).map((r) => {
    const t = tcp(r.sport, r.dport, r.flags, [...r.opts, ...r.payload], r.seq, r.seq >>> 1);
    t[12] = (5 + r.opts.length / 4) << 4;
    const ip = ipv4(r.src, r.dst, 6, t);
    const frame = r.vlan ? ether(r.dmac, MACS[0]!, 0x8100, [0, 5, 0x08, 0x00, ...ip]) : ether(r.dmac, MACS[0]!, 0x0800, ip);
    // now and then a capture that ends early (the fast lane falls back or keeps less payload)
    return { linkType: 1, frame: r.cut > 25 ? frame.slice(0, frame.length - r.cut) : frame, wireLen: frame.length };
  }) },
  { weight: 2, arbitrary: fc.record({
    dmac: fc.constantFrom(...MACS), src: fc.constantFrom(...V4), dst: fc.constantFrom(...V4),
    sport: fc.constantFrom(...PORTS), dport: fc.constantFrom(...PORTS), payload: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }),
  }).map((r) => {
    const frame = ether(r.dmac, MACS[1]!, 0x0800, ipv4(r.src, r.dst, 17, udp(r.sport, r.dport, r.payload)));
    return { linkType: 1, frame, wireLen: frame.length };
  }) },
  { weight: 1, arbitrary: fc.record({
    dmac: fc.constantFrom(...MACS), src: fc.constantFrom(...V6), dst: fc.constantFrom(...V6),
    sport: fc.constantFrom(...PORTS), dport: fc.constantFrom(...PORTS), udp: fc.boolean(),
  }).map((r) => {
    const l4 = r.udp ? udp(r.sport, r.dport, [1, 2, 3]) : tcp(r.sport, r.dport, ACK, [1, 2, 3]);
    const frame = ether(r.dmac, MACS[0]!, 0x86dd, ipv6(r.src, r.dst, r.udp ? 17 : 6, l4));
    return { linkType: 1, frame, wireLen: frame.length };
  }) },
  { weight: 1, arbitrary: fc.record({ src: fc.constantFrom(...V4), dst: fc.constantFrom(...V4) }).map((r) => {
    const frame = ether('ff:ff:ff:ff:ff:ff', MACS[0]!, 0x0806, arp(1, MACS[0]!, r.src, '00:00:00:00:00:00', r.dst));
    return { linkType: 1, frame, wireLen: frame.length };
  }) },
  // bytes as they come: the general decoder's error paths
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 80 }).map((b) => ({ linkType: 1, frame: [...b], wireLen: b.length + 4 })) },
  // cooked frames of a TCP packet: not the fast lane's link type
  { weight: 1, arbitrary: fc.record({ src: fc.constantFrom(...V4), dst: fc.constantFrom(...V4), pt: fc.constantFrom(0, 1, 2, 4) }).map((r) => {
    const ip = ipv4(r.src, r.dst, 6, tcp(443, 50000, ACK, [9, 9]));
    const frame = [0, r.pt, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00, ...ip];
    return { linkType: 113, frame, wireLen: frame.length };
  }) },
);

const configArb: fc.Arbitrary<Config> = fc.record({
  policy: fc.constantFrom<AnonymizePolicy>('internal', 'all', 'none'),
  snapLen: fc.constantFrom(0, 16, 96),
  metadata: fc.boolean(),
  hostAddresses: fc.option(fc.subarray(['10.0.0.5', '198.51.100.7', '127.0.0.1', 'fd00::5']), { nil: undefined }),
  directedBroadcasts: fc.option(fc.constant(['192.168.1.255']), { nil: undefined }),
  noiseSampleSeconds: fc.option(fc.constantFrom(0.00001, 0.0005), { nil: undefined }),
  packetsPerDump: fc.constantFrom(7, 500),
});

describe('agent/pipeline/pair-memo', () => {
  it('applies a remembered outcome only to the same raw pair and L2 flags; clear() forgets it', () => {
    const m = new PairMemo();
    const d = new DecodedPacket();
    d.src.set([10, 0, 0, 5]);
    d.dst.set([198, 51, 100, 7]);
    assert.equal(m.apply(d), false, 'empty memo');
    const raw = [d.addrWords[0]!, d.addrWords[4]!] as const;
    d.direction = Direction.Out;
    d.src.set([10, 9, 8, 7]); // as if anonymized
    m.store(d, raw[0], raw[1], RecordFlag.SrcAnon, 1);

    const e = new DecodedPacket();
    e.src.set([10, 0, 0, 5]);
    e.dst.set([198, 51, 100, 7]);
    assert.equal(m.apply(e), true);
    assert.deepEqual([...e.src.subarray(0, 4)], [10, 9, 8, 7]);
    assert.deepEqual([...e.dst.subarray(0, 4)], [198, 51, 100, 7]);
    assert.equal(e.direction, Direction.Out);
    assert.equal(e.flags, RecordFlag.SrcAnon);
    assert.equal(m.lookups, 1);

    const swapped = new DecodedPacket();
    swapped.src.set([198, 51, 100, 7]);
    swapped.dst.set([10, 0, 0, 5]);
    assert.equal(m.apply(swapped), false, 'the reverse direction is another pair');
    const broadcastMac = new DecodedPacket();
    broadcastMac.src.set([10, 0, 0, 5]);
    broadcastMac.dst.set([198, 51, 100, 7]);
    broadcastMac.l2Flags = 3;
    assert.equal(m.apply(broadcastMac), false, 'other L2 flags');
    m.clear();
    const again = new DecodedPacket();
    again.src.set([10, 0, 0, 5]);
    again.dst.set([198, 51, 100, 7]);
    assert.equal(m.apply(again), false, 'cleared');
  });

  it('fused and general paths write the same dumps and counters on random frames (fast-check)', function () {
    this.timeout(120_000);
    let kept = 0;
    fc.assert(
      fc.property(configArb, fc.array(frameArb, { minLength: 1, maxLength: 120 }), fc.array(fc.nat({ max: 3 }), { minLength: 120, maxLength: 120 }), fc.nat({ max: 119 }),
        (cfg, list, repeats, hostChangeAt) => {
          // runs of the same frame (a conversation's packets) make the memo hit, as on real traffic
          const frames: Frame[] = [];
          let ts = T0;
          list.forEach((f, i) => {
            for (let r = 0; r <= repeats[i]!; r++) frames.push({ linkType: f.linkType, bytes: Uint8Array.from(f.frame), wireLen: f.wireLen, tsUs: (ts += 37) });
          });
          kept += assertSameOutput(cfg, frames, (i, p) => {
            // interfaces change mid-capture: direction, pseudonyms and broadcast verdicts change with them
            if (i === hostChangeAt) p.setHostAddresses(['192.168.1.20', '203.0.113.9'], ['10.255.255.255']);
          });
        }),
      { numRuns: 300 },
    );
    assert.ok(kept > 1000, `${kept} packets kept over all runs`);
  });

  it('fused and general paths write the same dumps and counters for every reference capture, in three configurations', function () {
    this.timeout(300_000);
    const dir = referencePcapsDir();
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const n of readdirSync(d).sort()) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(pcap|pcapng)$/.test(n)) files.push(p);
      }
    };
    walk(dir);
    assert.ok(files.length >= 50, `${files.length} reference captures`);
    // the three configurations of replay's identity checks (docs/benchmarks.md)
    const configs: Config[] = [
      { policy: 'internal', snapLen: 0, metadata: true, packetsPerDump: 20_000 },
      { policy: 'all', snapLen: 96, metadata: true, packetsPerDump: 20_000 },
      { policy: 'none', snapLen: 1500, metadata: false, packetsPerDump: 20_000 },
    ];
    for (const cfg of configs) {
      let kept = 0;
      for (const file of files) {
        const frames = function* (): Generator<Frame> {
          const r = openCaptureFile(file);
          try {
            for (let x = r.next(); x; x = r.next()) {
              yield { linkType: x.linkType, bytes: x.buf.slice(x.offset, x.offset + x.capLen), wireLen: x.wireLen, tsUs: x.tsUs };
            }
          } finally {
            r.close();
          }
        };
        try {
          kept += assertSameOutput(cfg, frames());
        } catch (e) {
          // a capture the reader refuses is refused the same way on both paths; anything else is a failure
          if (e instanceof assert.AssertionError) throw new Error(`${file} (${cfg.policy}): ${e.message}`);
          if (!(e instanceof Error) || !('code' in e)) throw e;
        }
      }
      assert.ok(kept > 10_000, `${kept} packets kept (${cfg.policy})`);
    }
  });

  it('decoded dumps of the fused path carry the pseudonyms, never the real internal addresses', () => {
    const cfg: Config = { policy: 'internal', snapLen: 0, metadata: false };
    const { p, dumps } = pipeline(cfg, randomUUID(), true);
    for (let i = 0; i < 50; i++) {
      const f = Uint8Array.from(ether(MACS[1]!, MACS[0]!, 0x0800, ipv4('10.0.0.5', '198.51.100.7', 6, tcp(50000, 443, ACK, [], 1000 + i))));
      p.handleFrame(1, f, 0, f.length, f.length, T0 + i);
    }
    p.flush();
    const recs: PacketRecord[] = [];
    for (const d of dumps) decodeDump(d).forEach((r) => { recs.push(new PacketRecord().copyFrom(r)); });
    assert.equal(recs.length, 50);
    for (const r of recs) {
      assert.notDeepEqual([...r.src.subarray(0, 4)], [10, 0, 0, 5]);
      assert.equal(r.flags & RecordFlag.SrcAnon, RecordFlag.SrcAnon);
      assert.deepEqual([...r.dst.subarray(0, 4)], [198, 51, 100, 7], 'external addresses stay in the clear under internal');
    }
    assert.equal(new Set(recs.map((r) => r.src.join(','))).size, 1, 'one pseudonym for one address');
  });
});
