// A copy of a classic pcap file with every packet moved later by a number of seconds: the
// second file of a fixed-versus-per-packet split (bench/whole-alternated.ts --split). It must be
// another file with the same traffic: `import` refuses a file whose content it imported before,
// and a later time keeps the copy's flows apart from the original's.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

const CHUNK = 1 << 22;

/** Copies classic pcap `src` (either byte order, micro- or nanosecond) to `dst`, each record's seconds + `seconds`; returns the records copied. */
export function writeShiftedPcap(src: string, dst: string, seconds: number): number {
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw new RangeError(`seconds must be a non-negative integer, got ${seconds}`);
  const fin = openSync(src, 'r');
  const fout = openSync(dst, 'w');
  try {
    const buf = Buffer.alloc(CHUNK * 2);
    let have = readSync(fin, buf, 0, CHUNK, null);
    if (have < 24) throw new Error(`${src}: too short for a pcap header`);
    const magicLe = buf.readUInt32LE(0);
    const le = magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d;
    const magicBe = buf.readUInt32BE(0);
    if (!le && magicBe !== 0xa1b2c3d4 && magicBe !== 0xa1b23c4d) throw new Error(`${src}: not a classic pcap file (pcapng is not supported here)`);
    const u32 = (at: number): number => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
    let pos = 24;
    let records = 0;
    for (;;) {
      if (have - pos < 16 || have - pos < 16 + u32(pos + 8)) {
        if (have - pos >= 16 && 16 + u32(pos + 8) > buf.length) throw new Error(`${src}: a record of ${u32(pos + 8)} bytes`);
        // the records before pos, shifted in place, go out before the buffer moves
        writeSync(fout, buf, 0, pos);
        buf.copy(buf, 0, pos, have);
        have -= pos;
        pos = 0;
        const got = readSync(fin, buf, have, buf.length - have, null);
        if (got === 0) {
          if (have !== 0) throw new Error(`${src}: ${have} bytes of a cut-off record at the end`);
          break;
        }
        have += got;
        continue;
      }
      const len = 16 + u32(pos + 8);
      const sec = u32(pos) + seconds;
      if (sec > 0xffffffff) throw new RangeError(`${src}: a time beyond 2106 after the shift`);
      if (le) buf.writeUInt32LE(sec, pos); else buf.writeUInt32BE(sec, pos);
      pos += len;
      records++;
    }
    return records;
  } finally {
    closeSync(fin);
    closeSync(fout);
  }
}
