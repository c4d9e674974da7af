// Micro-benchmark of the per-packet anonymization cost, for the bench harness:
// hitNsPerRecord   = anonymizeRecord on an IPv4 record whose two internal addresses are cached
//                    (the cost of filling the test record is measured alone and subtracted)
// missNsPerAddress = one random IPv4 address that is not cached (policy check, Crypto-PAn
//                    AES batch, cache insert); random addresses share little prefix with the
//                    previous one, so this is close to the worst case
// Also runnable alone: node --import tsx bench/anonymize-bench.ts
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { AddressAnonymizer } from '../shared/anonymize/address-anonymizer.js';
import { PacketRecord } from '../shared/packet/packet-record.js';

export interface AnonymizeBenchResult {
  hitNsPerRecord: number;
  missNsPerAddress: number;
  /** the same two numbers for IPv6 (bonus detail for the report) */
  hitNsPerRecordV6: number;
  missNsPerAddressV6: number;
}

function fillV4(rec: PacketRecord, src: number, dst: number): void {
  rec.ipVersion = 4;
  rec.flags = 0;
  rec.src[0] = src >>> 24; rec.src[1] = (src >>> 16) & 0xff; rec.src[2] = (src >>> 8) & 0xff; rec.src[3] = src & 0xff;
  rec.dst[0] = dst >>> 24; rec.dst[1] = (dst >>> 16) & 0xff; rec.dst[2] = (dst >>> 8) & 0xff; rec.dst[3] = dst & 0xff;
}

function fillV6(rec: PacketRecord, srcLow: number, dstLow: number): void {
  rec.ipVersion = 6;
  rec.flags = 0;
  rec.src.fill(0); rec.dst.fill(0);
  rec.src[0] = 0xfd; rec.src[1] = 0x12; rec.src[7] = 1; rec.src[14] = srcLow >>> 8; rec.src[15] = srcLow & 0xff;
  rec.dst[0] = 0xfd; rec.dst[1] = 0x12; rec.dst[7] = 2; rec.dst[14] = dstLow >>> 8; rec.dst[15] = dstLow & 0xff;
}

export function benchAnonymize(): AnonymizeBenchResult {
  const key = Uint8Array.from(randomBytes(32));
  const rec = new PacketRecord();

  // hits: 256 internal hosts talking in pairs, all cached after the warm-up
  const an = new AddressAnonymizer({ key, policy: 'internal' });
  const hosts = new Uint32Array(256);
  for (let i = 0; i < 256; i++) hosts[i] = (0x0a000000 | (i * 977)) >>> 0;
  const runHits = (n: number): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      fillV4(rec, hosts[i & 255]!, hosts[(i * 7 + 3) & 255]!);
      an.anonymizeRecord(rec);
    }
    return Number(process.hrtime.bigint() - t0) / n;
  };
  runHits(200_000);
  const hit = Math.min(runHits(1_000_000), runHits(1_000_000));
  // the record fill is part of the loop; measure it alone and subtract
  const fillOnly = (n: number): number => {
    let sink = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      fillV4(rec, hosts[i & 255]!, hosts[(i * 7 + 3) & 255]!);
      sink += rec.src[3]!;
    }
    const ns = Number(process.hrtime.bigint() - t0) / n;
    return sink === -1 ? 0 : ns;
  };
  const fill = Math.min(fillOnly(1_000_000), fillOnly(1_000_000));

  // misses: fresh random addresses under 'all', cache too small to help
  const missAn = new AddressAnonymizer({ key, policy: 'all', cacheSize: 2 });
  const addr = new Uint8Array(16);
  const rnd = new Uint32Array(40_000);
  for (let i = 0; i < rnd.length; i++) rnd[i] = randomBytes(4).readUInt32BE(0);
  const runMiss = (from: number, n: number): number => {
    const t0 = process.hrtime.bigint();
    for (let i = from; i < from + n; i++) {
      const a = rnd[i]!;
      addr[0] = a >>> 24; addr[1] = (a >>> 16) & 0xff; addr[2] = (a >>> 8) & 0xff; addr[3] = a & 0xff;
      missAn.anonymize(4, addr);
    }
    return Number(process.hrtime.bigint() - t0) / n;
  };
  runMiss(0, 5_000);
  const miss = Math.min(runMiss(5_000, 15_000), runMiss(20_000, 20_000));

  // IPv6
  const an6 = new AddressAnonymizer({ key, policy: 'internal' });
  const runHits6 = (n: number): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      fillV6(rec, i & 255, (i * 7 + 3) & 255);
      an6.anonymizeRecord(rec);
    }
    return Number(process.hrtime.bigint() - t0) / n;
  };
  runHits6(200_000);
  const hit6 = Math.min(runHits6(500_000), runHits6(500_000));
  const fillOnly6 = (n: number): number => {
    let sink = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      fillV6(rec, i & 255, (i * 7 + 3) & 255);
      sink += rec.src[15]!;
    }
    const ns = Number(process.hrtime.bigint() - t0) / n;
    return sink === -1 ? 0 : ns;
  };
  const fill6 = Math.min(fillOnly6(500_000), fillOnly6(500_000));
  const miss6An = new AddressAnonymizer({ key, policy: 'all', cacheSize: 2 });
  const a6 = new Uint8Array(16);
  const rnd6 = randomBytes(16 * 6_000);
  const runMiss6 = (from: number, n: number): number => {
    const t0 = process.hrtime.bigint();
    for (let i = from; i < from + n; i++) {
      for (let j = 0; j < 16; j++) a6[j] = rnd6[i * 16 + j]!;
      if (isV4MappedLike(a6)) a6[0] = 0x20; // keep every sample on the IPv6 path
      miss6An.anonymize(6, a6);
    }
    return Number(process.hrtime.bigint() - t0) / n;
  };
  runMiss6(0, 1_000);
  const miss6 = Math.min(runMiss6(1_000, 2_500), runMiss6(3_500, 2_500));

  return {
    hitNsPerRecord: Math.max(0, hit - fill),
    missNsPerAddress: miss,
    hitNsPerRecordV6: Math.max(0, hit6 - fill6),
    missNsPerAddressV6: miss6,
  };
}

function isV4MappedLike(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return true;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = benchAnonymize();
  console.log(JSON.stringify(r));
}
