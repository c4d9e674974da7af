// Test fixture: PacketRecords from a reference capture through the project's own
// capture-file reader and decoder (header-only: payload bytes dropped unless a
// snap length is given). Records are copies, safe to keep.
import { join } from 'node:path';
import { CaptureFileError, openCaptureFile } from '../../../../shared/capture-file/index.js';
import { DecodedPacket, decodePacket } from '../../../../shared/decode/index.js';
import { EMPTY_BYTES, PacketRecord } from '../../../../shared/packet/packet-record.js';
import { referencePcapsDir } from '../../../../shared/util/repo-paths.js';

export function recordsFromDecoder(relPath: string, limit = Infinity, snapLen = 0): PacketRecord[] {
  const reader = openCaptureFile(join(referencePcapsDir(), relPath));
  const d = new DecodedPacket();
  const out: PacketRecord[] = [];
  try {
    for (let f = reader.next(); f !== null && out.length < limit; f = reader.next()) {
      decodePacket(f.linkType, f.data, f.wireLen, f.tsUs, d);
      const r = new PacketRecord().copyFrom(d);
      r.payload = snapLen === 0 || d.payload.length === 0 ? EMPTY_BYTES : d.payload.slice(0, Math.min(snapLen, d.payload.length));
      out.push(r);
    }
  } catch (e) {
    // a capture damaged part-way (some reference files are, on purpose): keep the frames before it
    if (!(e instanceof CaptureFileError)) throw e;
  } finally {
    reader.close();
  }
  return out;
}
