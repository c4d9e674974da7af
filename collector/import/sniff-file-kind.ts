// Tells capture files from Meerkat dump files by their first four bytes (magic
// numbers), never by the file name.
import { closeSync, openSync, readSync } from 'node:fs';
import { DUMP_MAGIC } from '../../shared/dump/dump-header.js';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US, PCAPNG_SHB_TYPE } from '../../shared/capture-file/index.js';

export type ImportFileKind = 'pcap' | 'pcapng' | 'dump' | 'unknown';


/** Kind of file from its leading bytes (fewer than 4 bytes: 'unknown'). */
export function fileKindFromMagic(head: Uint8Array): ImportFileKind {
  if (head.length < 4) return 'unknown';
  const le = (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0;
  const be = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  if (le === DUMP_MAGIC) return 'dump';
  if (le === PCAPNG_SHB_TYPE) return 'pcapng';
  if (le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS || be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS) return 'pcap';
  return 'unknown';
}

/** Reads the first four bytes of a file and classifies it (I/O errors propagate). */
export function sniffFileKind(path: string): ImportFileKind {
  const fd = openSync(path, 'r');
  try {
    const head = new Uint8Array(4);
    const n = readSync(fd, head, 0, 4, 0);
    return fileKindFromMagic(head.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}
