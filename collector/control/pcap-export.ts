// The operators' API's packet export (GET /v1/pcap?agent=&since=&until=&peer=&port=&flow=&community=
// &format=pcapng|dump): the packets of the dumps this collector kept, selected and streamed as
// pcapng (Wireshark) or as a dump stream (what `meerkat pcap` reads, so the owner can turn
// pseudonyms back on their own machine). Bounded: packets, output bytes, dumps per selection,
// exports at once. Audited: every export's selection and outcome (`pcap.export`), beside the
// request row the operators' API writes. GET /v1/pcap/usage: payload kept per agent (retention).
// Pseudonyms only: the collector never holds the owner key.
import type { ServerResponse } from 'node:http';
import type { Logger } from '../../shared/log.js';
import { SqliteDumpCatalog } from '../../shared/pcap-export/dump-catalog.js';
import { EXPORT_TRAILER, exportRequestFromQuery, resolveSelection, type ExportRequest } from '../../shared/pcap-export/export-request.js';
import { SelectionError, type PacketSelection } from '../../shared/pcap-export/packet-selection.js';
import { runExport, type ExportSummary } from '../../shared/pcap-export/run-export.js';
import { SqliteFlowStore } from '../../shared/store/sqlite-flow-store.js';
import type { AuditLog } from './audit-log.js';
import { payloadUsage } from '../payload/payload-usage.js';

export interface PcapExportLimits {
  /** packets per export at most (default 2,000,000; a request may ask for fewer) */
  maxPackets: number;
  /** output bytes per export (default 1 GiB) */
  maxBytes: number;
  /** dumps one selection may span (default 10,000) */
  maxDumps: number;
  /** exports running at once (default 2) */
  concurrent: number;
}

export const DEFAULT_PCAP_EXPORT_LIMITS: PcapExportLimits = { maxPackets: 2_000_000, maxBytes: 1 << 30, maxDumps: 10_000, concurrent: 2 };

export interface PcapRouteRequest {
  method: string;
  /** path segments after /v1/pcap */
  route: string[];
  url: URL;
  res: ServerResponse;
  /** operator:NAME */
  actor: string;
}

/** What the operators' API does with the answer: send JSON, or only audit (the body was streamed). */
export interface PcapRouteResult {
  status: number;
  json?: unknown;
  agentId?: string;
  detail?: unknown;
}

export type PcapRoute = (r: PcapRouteRequest) => Promise<PcapRouteResult>;

export function createPcapRoute(o: { dbPath: string; audit: AuditLog; log: Logger; limits?: Partial<PcapExportLimits> }): PcapRoute {
  const limits = { ...DEFAULT_PCAP_EXPORT_LIMITS, ...o.limits };
  let running = 0;
  const fail = (status: number, code: string, message: string): PcapRouteResult => ({ status, json: { error: code, message }, detail: message });

  return async (r) => {
    if (r.method !== 'GET') return fail(405, 'method', 'GET only');
    if (r.route.length === 1 && r.route[0] === 'usage') return { status: 200, json: payloadUsage(o.dbPath) };
    if (r.route.length !== 0) return fail(404, 'not-found', `no such endpoint /v1/pcap/${r.route.join('/')}`);
    let req: ExportRequest;
    let sel: PacketSelection;
    try {
      req = exportRequestFromQuery(r.url.searchParams, limits.maxPackets);
      sel = resolveSelection(req, (q) => lookupFlows(o.dbPath, q));
    } catch (e) {
      if (e instanceof SelectionError) return fail(400, 'bad-selection', e.message);
      throw e;
    }
    if (running >= limits.concurrent) return { ...fail(429, 'busy', `${running} exports are running (limit ${limits.concurrent}); retry when one has finished`), agentId: sel.agentId };
    running++;
    let catalog: SqliteDumpCatalog | undefined;
    const started = Date.now();
    const selection = { ...sel, flows: sel.flows?.length ?? 0, format: req.format };
    try {
      catalog = new SqliteDumpCatalog(o.dbPath);
      const run = runExport(catalog, sel, req.format, { maxPackets: req.maxPackets ?? limits.maxPackets, maxBytes: limits.maxBytes, maxDumps: limits.maxDumps }, {
        comment: `Meerkat export for ${r.actor}: agent ${sel.agentId}, ${new Date(sel.sinceUs / 1000).toISOString()} .. ${new Date(sel.untilUs / 1000).toISOString()}` +
          `${sel.peer ? `, peer ${sel.peer}` : ''}${sel.port !== undefined ? `, port ${sel.port}` : ''}${sel.flows ? `, ${req.flowUid ? `flow ${req.flowUid}` : `Community ID ${req.communityId}`}` : ''}`,
      });
      // the first chunk decides between an error answer and a stream (a selection over too many dumps fails here)
      let first: IteratorResult<Uint8Array>;
      try {
        first = await run.chunks.next();
      } catch (e) {
        if (e instanceof SelectionError) return { ...fail(413, 'too-large', e.message), agentId: sel.agentId };
        throw e;
      }
      const res = r.res;
      res.writeHead(200, {
        'content-type': req.format === 'pcapng' ? 'application/x-pcapng' : 'application/x-meerkat-dumps',
        'content-disposition': `attachment; filename="meerkat-${sel.agentId.slice(0, 8)}-${Math.floor(sel.sinceUs / 1e6)}.${req.format === 'pcapng' ? 'pcapng' : 'mkds'}"`,
        'cache-control': 'no-store',
        trailer: EXPORT_TRAILER,
      });
      let aborted = false;
      res.once('close', () => { if (!res.writableFinished) aborted = true; });
      try {
        for (let c = first; !c.done; c = await run.chunks.next()) {
          if (aborted) { await run.chunks.return(undefined); break; }
          if (!res.write(c.value)) await drainedOrClosed(res);
        }
      } catch (e) {
        // the answer has begun: the client sees a cut stream (no trailer), the audit says why
        res.destroy();
        const summary = summaryView(sel.agentId, run.summary, true, Date.now() - started);
        o.audit.record({ actor: r.actor, action: 'pcap.export', agentId: sel.agentId, outcome: 'error', detail: { selection, summary, error: (e as Error).message } });
        o.log.error({ actor: r.actor, agentId: sel.agentId, err: (e as Error).message }, 'packet export failed');
        return { status: 500, agentId: sel.agentId, detail: (e as Error).message };
      }
      const summary = summaryView(sel.agentId, run.summary, aborted, Date.now() - started);
      if (!aborted) {
        res.addTrailers({ [EXPORT_TRAILER]: JSON.stringify(summary) });
        res.end();
      }
      o.audit.record({ actor: r.actor, action: 'pcap.export', agentId: sel.agentId, outcome: aborted ? 'aborted' : summary.truncated ? `truncated:${summary.truncated}` : 'ok', detail: { selection, summary } });
      o.log.info({ actor: r.actor, agentId: sel.agentId, packets: summary.packets, bytes: summary.bytes, truncated: summary.truncated, aborted }, 'packet export');
      return { status: 200, agentId: sel.agentId, detail: { packets: summary.packets, bytes: summary.bytes } };
    } finally {
      running--;
      catalog?.close();
    }
  };
}

function summaryView(agentId: string, s: ExportSummary, aborted: boolean, ms: number): Record<string, unknown> & { packets: number; bytes: number; truncated: string | null } {
  return {
    agentId, format: s.format, packets: s.packets, bytes: s.bytes, retro: s.retro, truncated: s.truncated, aborted, ms,
    dumpsListed: s.selection.dumpsListed, dumpsRead: s.selection.dumpsRead, dumpsFailed: s.selection.dumpsFailed,
    duplicatesDropped: s.selection.duplicatesDropped,
    ...(s.pcapng ? { headerOnly: s.pcapng.headerOnly, complete: s.pcapng.complete, nonIp: s.pcapng.nonIp } : {}),
  };
}

/** Resolves when the response can take more, or has closed (a client that went away). */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function lookupFlows(dbPath: string, q: { uid?: string; communityId?: string; agentId?: string }) {
  const store = new SqliteFlowStore(dbPath, { readonly: true });
  try {
    return store.queryFlows({ ...(q.uid ? { uid: q.uid } : {}), ...(q.communityId ? { communityId: q.communityId } : {}), ...(q.agentId ? { agentId: q.agentId } : {}), limit: 10_000, order: 'asc' });
  } finally {
    store.close();
  }
}
