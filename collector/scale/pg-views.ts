// The web console's overview and single alert on a scale-out front-end (OrgViews, docs/scale-out.md
// "Operators' API on the front-ends"): the same aggregates as the single process's SQLite reader
// (collector/control/org-data-reader.ts) over the organisation's PostgreSQL schema the flow
// workers write: one statement over the window on start_us (flows_start) groups the records once.
import type pg from 'pg';
import type { OrgViews } from '../control/admin-api.js';
import { minuteSeries, overviewWindow, type Top } from '../control/overview-shape.js';
import { orgSchema } from '../../shared/store/postgres/pg-schema.js';
import type { PgAlertStore } from '../../shared/alerts/pg-alert-store.js';

/** One group of the window: a minute (m), a talker (a), a port (p) or a protocol (r). */
interface GroupRow {
  part: 'm' | 'a' | 'p' | 'r';
  m: number | null; orig_addr: string | null; proto: string | null; resp_port: number | null;
  pkts: number; bytes: number; flows: number; anon: number | null;
}

/** `alerts`: the organisation's alert store, opened on first use (pgAlertStoreOpener). */
export function pgOrgViews(pool: pg.Pool, org: string, alerts: () => Promise<PgAlertStore>): OrgViews {
  const s = orgSchema(org);
  return {
    overview: async (minutes, nowUs) => {
      const newest = (await pool.query<{ t: number | null }>(`SELECT MAX(start_us) AS t FROM ${s}.flows`)).rows[0]!.t;
      const w = overviewWindow(minutes, nowUs, newest);
      const p = [w.fromUs, w.toUs];
      const alertStore = await alerts();
      // one pass over the window's records feeds every group (GROUPING SETS); each list is then
      // ranked in its own order, the single process's with ties broken alike
      const [groups, severity] = await Promise.all([
        pool.query<GroupRow>(`WITH g AS (
            SELECT CASE WHEN GROUPING(m) = 0 THEN 'm' WHEN GROUPING(orig_addr) = 0 THEN 'a' WHEN GROUPING(resp_port) = 0 THEN 'p' ELSE 'r' END AS part,
              m, orig_addr, proto, resp_port, SUM(pkts)::bigint AS pkts, SUM(bytes)::bigint AS bytes, COUNT(*)::bigint AS flows, MAX(orig_anon) AS anon
            FROM (SELECT start_us / 60000000 AS m, orig_addr, orig_anon, proto, resp_port, orig_pkts + resp_pkts AS pkts, orig_ip_bytes + resp_ip_bytes AS bytes
              FROM ${s}.flows WHERE start_us >= $1 AND start_us <= $2) f
            GROUP BY GROUPING SETS ((m), (orig_addr), (proto, resp_port), (proto))),
          ranked AS (
            SELECT g.*, row_number() OVER (PARTITION BY part ORDER BY CASE WHEN part = 'p' THEN flows ELSE 0 END DESC, bytes DESC,
              orig_addr COLLATE "C", proto COLLATE "C", resp_port) AS n
            FROM g WHERE part <> 'p' OR proto IN ('tcp', 'udp', 'sctp'))
          SELECT part, m, orig_addr, proto, resp_port, pkts, bytes, flows, anon FROM ranked
          WHERE part IN ('m', 'r') OR n <= 10 ORDER BY part, n`, [w.fromUs, w.toUs]),
        pool.query<{ severity: string; n: number }>(`SELECT severity, COUNT(*)::bigint AS n FROM ${alertStore.schema}.alerts WHERE state <> 'closed' GROUP BY severity`),
      ]);
      const of = (part: string): GroupRow[] => groups.rows.filter((r) => r.part === part);
      const top = (part: string, key: (r: GroupRow) => string, anon: boolean): Top[] =>
        of(part).map((r) => ({ key: key(r), bytes: r.bytes, flows: r.flows, ...(anon ? { anon: r.anon === 1 } : {}) }));
      const series = minuteSeries(w, of('m').map((r) => ({ m: r.m!, pkts: r.pkts, bytes: r.bytes, flows: r.flows })));
      return {
        window: w,
        series,
        topTalkers: top('a', (r) => String(r.orig_addr), true),
        // proto || '/' || resp_port, as the SQLite query builds the key
        topPorts: top('p', (r) => `${String(r.proto)}/${r.resp_port === null ? '' : String(r.resp_port)}`, false),
        protocols: top('r', (r) => String(r.proto), false),
        alertsBySeverity: Object.fromEntries(severity.rows.map((r) => [r.severity, r.n])),
        flowsInWindow: series.reduce((n, x) => n + x.flows, 0),
      };
    },
    alert: async (id) => (await alerts()).get(id),
  };
}
