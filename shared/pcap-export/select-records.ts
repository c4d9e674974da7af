// The selected packet records of one agent, in time order, from every dump that may hold them:
// normal dumps (header-only or targeted capture) and retro dumps (the agent's ring, shipped on
// request) are merged by time. A retro dump repeats packets a normal dump already carried
// without payload; such a pair is the same packet (same capture time, tuple, IP id, sequence
// and length) and only the retro copy, which has the payload, is kept. Memory: only the dumps
// whose time range reaches the current time are open, holding copies of their selected records.
import { decodeDump } from '../dump/dump-reader.js';
import { DumpFlag, type DumpHeader } from '../dump/dump-header.js';
import { PacketRecord } from '../packet/packet-record.js';
import type { DumpCatalog, DumpRef } from './dump-catalog.js';
import { RecordFilter, SelectionError } from './packet-selection.js';

export interface SelectedRecord {
  /** a copy owned by the consumer */
  rec: PacketRecord;
  /** from a retro dump (the agent's ring) */
  retro: boolean;
  /** header of the dump it came from */
  dump: DumpHeader;
}

export interface SelectionStats {
  dumpsListed: number;
  dumpsRead: number;
  /** dumps that could not be read or decoded (skipped; named with the reason) */
  dumpsFailed: { path: string; error: string }[];
  recordsSelected: number;
  /** header-only copies dropped because a retro dump carried the same packet */
  duplicatesDropped: number;
}

export function newSelectionStats(): SelectionStats {
  return { dumpsListed: 0, dumpsRead: 0, dumpsFailed: [], recordsSelected: 0, duplicatesDropped: 0 };
}

interface OpenDump {
  recs: PacketRecord[];
  i: number;
  retro: boolean;
  header: DumpHeader;
}

/** Identity of one captured packet across the dumps that carry it. */
export function packetKey(r: PacketRecord): string {
  const w = r.addrWords;
  return `${w[0]},${w[1]},${w[2]},${w[3]},${w[4]},${w[5]},${w[6]},${w[7]}|${r.sport},${r.dport},${r.proto},${r.direction}|${r.ipId},${r.tcpSeq},${r.payloadLen},${r.ipLen}`;
}

/** The open dump whose next record comes first (retro first on equal times). */
function pickNext(open: readonly OpenDump[]): OpenDump | null {
  let best: OpenDump | null = null;
  for (const d of open) {
    if (best === null) { best = d; continue; }
    const t = d.recs[d.i]!.tsUs;
    const bt = best.recs[best.i]!.tsUs;
    if (t < bt || (t === bt && d.retro && !best.retro)) best = d;
  }
  return best;
}

export interface SelectOptions {
  /** refuse a selection spanning more dumps than this (default unlimited) */
  maxDumps?: number;
}

/** @throws SelectionError when the selection spans more than maxDumps dumps */
export async function* selectRecords(catalog: DumpCatalog, filter: RecordFilter, stats: SelectionStats, opts: SelectOptions = {}): AsyncGenerator<SelectedRecord> {
  const sel = filter.sel;
  const refs = catalog.list(sel.agentId, sel.sinceUs, sel.untilUs);
  stats.dumpsListed = refs.length;
  if (opts.maxDumps !== undefined && refs.length > opts.maxDumps) {
    throw new SelectionError(`the selection spans ${refs.length} dumps, more than the limit of ${opts.maxDumps}: narrow the time window`);
  }
  const open: OpenDump[] = [];
  const load = async (ref: DumpRef): Promise<void> => {
    let header: DumpHeader;
    const recs: PacketRecord[] = [];
    try {
      const dump = decodeDump(await catalog.read(ref));
      header = dump.header;
      if (header.agentId !== sel.agentId) throw new Error(`holds agent ${header.agentId}, not ${sel.agentId}`);
      dump.forEach((r) => { if (filter.matches(r)) recs.push(new PacketRecord().copyFrom(r)); });
    } catch (e) {
      stats.dumpsFailed.push({ path: ref.path, error: (e as Error).message });
      return;
    }
    stats.dumpsRead++;
    if (recs.length > 0) open.push({ recs, i: 0, retro: (header.flags & DumpFlag.Retro) !== 0, header });
  };
  let k = 0;
  const retroKeys = new Map<string, number>();
  let keysTs = NaN;
  for (;;) {
    let next = pickNext(open);
    while (k < refs.length && (next === null || refs[k]!.firstTsUs <= next.recs[next.i]!.tsUs)) {
      await load(refs[k++]!);
      next = pickNext(open);
    }
    if (next === null) return;
    const rec = next.recs[next.i]!;
    next.recs[next.i] = undefined as unknown as PacketRecord; // let it go once handed out
    next.i++;
    if (next.i === next.recs.length) open.splice(open.indexOf(next), 1);
    if (rec.tsUs !== keysTs) {
      if (retroKeys.size > 0) retroKeys.clear();
      keysTs = rec.tsUs;
    }
    if (next.retro) {
      const key = packetKey(rec);
      retroKeys.set(key, (retroKeys.get(key) ?? 0) + 1);
    } else if (retroKeys.size > 0) {
      const key = packetKey(rec);
      const n = retroKeys.get(key) ?? 0;
      if (n > 0) {
        retroKeys.set(key, n - 1);
        stats.duplicatesDropped++;
        continue;
      }
    }
    stats.recordsSelected++;
    yield { rec, retro: next.retro, dump: next.header };
  }
}
