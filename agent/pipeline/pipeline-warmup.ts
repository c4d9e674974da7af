// JIT warm-up for live capture. A freshly started agent runs the decode / anonymize / encode
// path in V8's interpreter for the first few thousand packets - many times slower than the
// optimized code - and a burst arriving then overflows the capture ring (measured: a 20,000
// packet burst at ~250k pkt/s lost 90% cold, far less warm; docs/capture.md). Running synthetic
// frames through a throw-away pipeline at start gives the shared functions their type
// feedback and optimized code before real traffic arrives. Costs ~0.1 s of CPU once.
import { randomBytes, randomUUID } from 'node:crypto';
import { AddressAnonymizer, type AnonymizePolicy } from '../../shared/anonymize/address-anonymizer.js';
import { AgentPipeline } from './agent-pipeline.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../../shared/decode/protocol-numbers.js';
import { LinkType } from '../../shared/decode/link-types.js';

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v & 0xff;
}

/** IPv4 or IPv6 TCP/UDP packet bytes (from the IP header on), addresses varied by i. */
function ipPacket(i: number, v6: boolean, tcp: boolean): Uint8Array {
  const l4 = tcp ? 20 : 8;
  const payload = 32 + (i % 64);
  const ipLen = (v6 ? 40 : 20) + l4 + payload;
  const p = new Uint8Array(ipLen);
  let o: number;
  if (v6) {
    p[0] = 0x60;
    put16(p, 4, l4 + payload);
    p[6] = tcp ? 6 : 17;
    p[7] = 64;
    p[8] = 0xfd; p[23] = 1 + (i % 200); // fd00::x -> 2001:db8::y
    p[24] = 0x20; p[25] = 0x01; p[26] = 0x0d; p[27] = 0xb8; p[38] = i >>> 8; p[39] = i & 0xff;
    o = 40;
  } else {
    p[0] = 0x45;
    put16(p, 2, ipLen);
    put16(p, 4, i & 0xffff);
    p[8] = 64;
    p[9] = tcp ? 6 : 17;
    p[12] = 10; p[13] = 1; p[14] = (i >>> 8) & 0xff; p[15] = i & 0xff;
    p[16] = 198; p[17] = 51; p[18] = 100; p[19] = 1 + (i % 250);
    o = 20;
  }
  put16(p, o, 40000 + (i % 2000));
  put16(p, o + 2, tcp ? 443 : 53);
  if (tcp) {
    put16(p, o + 4, i);
    p[o + 12] = 0x50;
    p[o + 13] = i % 7 === 0 ? 0x02 : 0x18;
    put16(p, o + 14, 65535);
  } else {
    put16(p, o + 4, 8 + payload);
  }
  return p;
}

function frameFor(linkType: number, ip: Uint8Array, v6: boolean, outgoing: boolean): Uint8Array {
  const hdr = linkType === LinkType.LinuxSll ? 16 : 14;
  const f = new Uint8Array(hdr + ip.length);
  const et = v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
  if (linkType === LinkType.LinuxSll) {
    put16(f, 0, outgoing ? 4 : 0);
    put16(f, 2, 1);
    put16(f, 4, 6);
    f[6] = 0x02;
    put16(f, 14, et);
  } else {
    f[0] = 0x02; f[5] = 1; f[6] = 0x02; f[11] = 2;
    put16(f, 12, et);
  }
  f.set(ip, hdr);
  return f;
}

/**
 * Pushes `packets` synthetic frames of the given link type through a throw-away pipeline
 * (its own random key and in-memory dumps, nothing kept). Returns the milliseconds spent.
 */
export function warmUpPipeline(opts: { linkType?: number; policy?: AnonymizePolicy; packets?: number } = {}): number {
  const t0 = process.hrtime.bigint(); // not performance.now(): that global loads perf_hooks
  const linkType = opts.linkType ?? LinkType.LinuxSll;
  const n = opts.packets ?? 30_000;
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 512; i++) frames.push(frameFor(linkType, ipPacket(i, i % 5 === 0, i % 3 !== 0), i % 5 === 0, (i & 1) === 0));
  let seq = 1;
  const p = new AgentPipeline({
    agentId: randomUUID(),
    anonymizer: new AddressAnonymizer({ key: randomBytes(32), policy: opts.policy ?? 'internal', cacheSize: 256 }),
    nextSequence: () => seq++,
    onDump: () => { /* discarded */ },
    packetsPerDump: 2_000,
    dumpLinkType: linkType === LinkType.LinuxSll ? LinkType.LinuxSll : LinkType.Ethernet,
    liveLinkScope: true,
    wireLenFromIp: true,
    hostAddresses: ['10.1.0.1'],
  });
  // frames packed one after another in one buffer, as a capture batch delivers them
  let total = 0;
  for (const f of frames) total += f.length;
  const buf = new Uint8Array(total);
  const offsets: number[] = [];
  for (let i = 0, o = 0; i < frames.length; o += frames[i]!.length, i++) {
    buf.set(frames[i]!, o);
    offsets.push(o);
  }
  let ts = Date.now() * 1000;
  for (let i = 0; i < n; i++) {
    const k = i % frames.length;
    const len = frames[k]!.length;
    p.handleFrame(linkType, buf, offsets[k]!, len, len, ts++);
  }
  p.flush();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
