// Compares two directories of dump files, e.g. `meerkat-agent replay` output of two builds of
// the same capture with the same key and agent id: each same-named pair must decode (with this
// build's reader, which reads every format version) to the same packet records and the same
// metadata records. Byte-identical pairs are counted too, but a format or compression change
// is allowed to change the bytes: the records are what must not change.
// Library: compareDumpDirs(). CLI:
//   node dist/tools/compare-dumps.js [--json] DIR_A DIR_B    (exit 0 same, 1 different, 2 usage)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decodeDump } from '../shared/dump/index.js';
import type { PacketRecord } from '../shared/packet/packet-record.js';

export interface DumpDirComparison {
  /** dump files in each directory (same names) */
  dumps: number;
  packets: number;
  metaRecords: number;
  /** pairs whose files are byte for byte the same */
  identicalFiles: number;
  /** what differs (at most `maxDifferences`); empty: the directories hold the same records */
  differences: string[];
}

/** One record as text: every field the dump carries, the payload bytes included. */
function recordText(r: PacketRecord): string {
  return [
    r.tsUs, r.direction, r.ipVersion, r.src.join('.'), r.dst.join('.'), r.proto, r.sport, r.dport, r.vlan, r.tunnel,
    r.flags, r.wireLen, r.ipLen, r.payloadLen, r.ipId, r.ttl, r.fragFlags, r.fragOffset, r.tcpFlags, r.tcpSeq, r.tcpAck,
    r.tcpWindow, r.tcpOptFlags, r.tcpMss, r.tcpWscale, r.tcpTsVal, r.tcpTsEcr, Buffer.from(r.payload).toString('hex'),
  ].join(' ');
}

function decodedText(bytes: Uint8Array): { records: string[]; meta: string[] } {
  const d = decodeDump(bytes);
  const records: string[] = [];
  d.forEach((r) => records.push(recordText(r)));
  return { records, meta: d.meta.map((m) => JSON.stringify(m, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v))) };
}

const isDump = (name: string): boolean => name.endsWith('.mkd');

export function compareDumpDirs(dirA: string, dirB: string, maxDifferences = 10): DumpDirComparison {
  const namesA = readdirSync(dirA).filter(isDump).sort();
  const namesB = readdirSync(dirB).filter(isDump).sort();
  const out: DumpDirComparison = { dumps: namesA.length, packets: 0, metaRecords: 0, identicalFiles: 0, differences: [] };
  const differ = (what: string): void => {
    if (out.differences.length < maxDifferences) out.differences.push(what);
  };
  if (namesA.join('\n') !== namesB.join('\n')) differ(`different dump files: ${namesA.length} in ${dirA}, ${namesB.length} in ${dirB}`);
  for (const name of namesA.filter((n) => namesB.includes(n))) {
    const a = readFileSync(join(dirA, name));
    const b = readFileSync(join(dirB, name));
    if (a.equals(b)) out.identicalFiles++;
    const da = decodedText(a);
    const db = decodedText(b);
    out.packets += da.records.length;
    out.metaRecords += da.meta.length;
    if (da.records.length !== db.records.length) differ(`${name}: ${da.records.length} records against ${db.records.length}`);
    const i = da.records.findIndex((r, k) => r !== db.records[k]);
    if (i >= 0 && da.records.length === db.records.length) differ(`${name}: record ${i} differs:\n  ${da.records[i]}\n  ${db.records[i]}`);
    const j = da.meta.findIndex((m, k) => m !== db.meta[k]);
    if (da.meta.length !== db.meta.length || j >= 0) differ(`${name}: metadata differs (${da.meta.length} against ${db.meta.length} records, first at ${j})`);
  }
  return out;
}

function main(argv: string[]): number {
  const json = argv.includes('--json');
  const dirs = argv.filter((a) => !a.startsWith('--'));
  if (argv.includes('--help') || dirs.length !== 2 || argv.some((a) => a.startsWith('--') && a !== '--json' && a !== '--help')) {
    (argv.includes('--help') ? process.stdout : process.stderr).write('usage: compare-dumps [--json] DIR_A DIR_B\n' +
      'Every same-named dump file of the two directories must decode to the same packet and metadata records.\n' +
      'Exit 0: the same; 1: different; 2: usage.\n');
    return argv.includes('--help') ? 0 : 2;
  }
  const r = compareDumpDirs(dirs[0]!, dirs[1]!);
  if (json) process.stdout.write(JSON.stringify(r) + '\n');
  else {
    process.stdout.write(`${r.dumps} dumps, ${r.packets} packet records, ${r.metaRecords} metadata records; ${r.identicalFiles} files byte-identical\n`);
    process.stdout.write(r.differences.length === 0 ? 'the same records\n' : `DIFFERENT:\n${r.differences.join('\n')}\n`);
  }
  return r.differences.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`compare-dumps: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
