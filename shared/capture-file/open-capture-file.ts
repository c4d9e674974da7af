// Opens a capture by its content, not its name: the first four bytes say pcap
// (either timestamp precision, either byte order) or pcapng.
import type { CaptureFileReader } from './captured-frame.js';
import { CaptureFileError } from './capture-file-error.js';
import { ByteWindow } from './byte-window.js';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US, PcapReader } from './pcap-reader.js';
import { PCAPNG_SHB_TYPE, PcapngReader } from './pcapng-reader.js';

function readerFor(win: ByteWindow): CaptureFileReader {
  try {
    const have = win.fill(4);
    if (have < 4) {
      throw new CaptureFileError(win.source, 'not-capture', `not a pcap or pcapng file (${have === 0 ? 'empty' : `only ${have} bytes`})`, 0);
    }
    const le = win.view.getUint32(win.pos, true);
    const be = win.view.getUint32(win.pos, false);
    if (le === PCAPNG_SHB_TYPE) return new PcapngReader(win);
    if (le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS || be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS) return new PcapReader(win);
    throw new CaptureFileError(win.source, 'not-capture', `not a pcap or pcapng file (magic 0x${be.toString(16).padStart(8, '0')})`, 0);
  } catch (e) {
    win.close();
    throw e;
  }
}

/** Streams a pcap or pcapng file with one reusable read buffer. Close it when done. */
export function openCaptureFile(path: string): CaptureFileReader {
  return readerFor(ByteWindow.fromFile(path));
}

/** The same readers over bytes already in memory (tests, fuzzing, received uploads). */
export function captureReaderFromBytes(bytes: Uint8Array, source = '<memory>'): CaptureFileReader {
  return readerFor(ByteWindow.fromBytes(bytes, source));
}
