// One export, start to end: the selected records of a catalog's dumps, written as pcapng or as a
// dump stream, within limits. What the operators' API streams to an operator and what the console
// writes to a file in its local mode (--db / --dumps) are this same code.
import { exportDumpStream, newDumpStreamSummary, type DumpStreamSummary } from './dump-stream.js';
import type { DumpCatalog } from './dump-catalog.js';
import type { ExportFormat } from './export-request.js';
import { RecordFilter, type PacketSelection } from './packet-selection.js';
import { exportPcapng, newPcapngSummary, type PcapngExportSummary } from './pcapng-export.js';
import type { RecordDeanonymizer } from './record-deanonymizer.js';
import { newSelectionStats, selectRecords, type SelectionStats } from './select-records.js';

export interface ExportLimits {
  maxPackets?: number;
  /** output bytes */
  maxBytes?: number;
  /** dumps a selection may span */
  maxDumps?: number;
}

export interface ExportSummary {
  format: ExportFormat;
  selection: SelectionStats;
  packets: number;
  bytes: number;
  retro: number;
  truncated: 'packets' | 'bytes' | null;
  pcapng?: PcapngExportSummary;
  dumps?: DumpStreamSummary;
}

export interface RunningExport {
  chunks: AsyncGenerator<Uint8Array>;
  /** filled in as the chunks are consumed; final once they are done */
  summary: ExportSummary;
}

export function runExport(catalog: DumpCatalog, sel: PacketSelection, format: ExportFormat, limits: ExportLimits = {},
  opts: { deanonymize?: RecordDeanonymizer; comment?: string } = {}): RunningExport {
  const filter = new RecordFilter(sel);
  const selection = newSelectionStats();
  const summary: ExportSummary = { format, selection, packets: 0, bytes: 0, retro: 0, truncated: null };
  const records = selectRecords(catalog, filter, selection, limits.maxDumps !== undefined ? { maxDumps: limits.maxDumps } : {});
  const bounds = { ...(limits.maxPackets !== undefined ? { maxPackets: limits.maxPackets } : {}), ...(limits.maxBytes !== undefined ? { maxBytes: limits.maxBytes } : {}) };
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      if (format === 'pcapng') {
        const s = newPcapngSummary();
        summary.pcapng = s;
        for await (const c of exportPcapng(records, sel.agentId, s, { ...bounds, ...(opts.deanonymize ? { deanonymize: opts.deanonymize } : {}), ...(opts.comment ? { comment: opts.comment } : {}) })) {
          Object.assign(summary, { packets: s.packets, bytes: s.bytes, retro: s.retro, truncated: s.truncated });
          yield c;
        }
        Object.assign(summary, { packets: s.packets, bytes: s.bytes, retro: s.retro, truncated: s.truncated });
      } else {
        const s = newDumpStreamSummary();
        summary.dumps = s;
        for await (const c of exportDumpStream(records, s, bounds)) {
          Object.assign(summary, { packets: s.packets, bytes: s.bytes, retro: s.retro, truncated: s.truncated });
          yield c;
        }
        Object.assign(summary, { packets: s.packets, bytes: s.bytes, retro: s.retro, truncated: s.truncated });
      }
    } finally {
      await records.return(undefined);
    }
  }
  return { chunks: chunks(), summary };
}
