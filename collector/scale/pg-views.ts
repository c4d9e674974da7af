// The web console's overview and single alert on a scale-out front-end (OrgViews, docs/scale-out.md
// "Operators' API on the front-ends"): the same aggregates as the single process's SQLite reader
// (collector/control/org-data-reader.ts) over the organisation's PostgreSQL schema the flow
// workers write. Every query of the overview is bounded by the window on start_us (flows_start).
import type pg from 'pg';
import type { OrgViews } from '../control/admin-api.js';
import { minuteSeries, overviewWindow, type MinuteRow, type Top } from '../control/overview-shape.js';
import { orgSchema } from '../../shared/store/postgres/pg-schema.js';
import type { PgAlertStore } from '../../shared/alerts/pg-alert-store.js';

type TopRow = { k: string; bytes: number; flows: number; anon?: number };

function toTop(r: TopRow): Top {
  return { key: r.k, bytes: r.bytes, flows: r.flows, ...(r.anon !== undefined ? { anon: r.anon === 1 } : {}) };
}

/** `alerts`: the organisation's alert store, opened on first use (pgAlertStoreOpener). */
export function pgOrgViews(pool: pg.Pool, org: string, alerts: () => Promise<PgAlertStore>): OrgViews {
  const s = orgSchema(org);
  const sums = 'SUM(orig_ip_bytes + resp_ip_bytes)::bigint AS bytes, COUNT(*)::bigint AS flows';
  const inWindow = 'start_us >= $1 AND start_us <= $2';
  return {
    overview: async (minutes, nowUs) => {
      const newest = (await pool.query<{ t: number | null }>(`SELECT MAX(start_us) AS t FROM ${s}.flows`)).rows[0]!.t;
      const w = overviewWindow(minutes, nowUs, newest);
      const p = [w.fromUs, w.toUs];
      const alertStore = await alerts();
      // the four window queries at once, each on its own pooled connection
      const [minutes_, talkers, ports, protocols, severity] = await Promise.all([
        pool.query<MinuteRow>(`SELECT start_us / 60000000 AS m, SUM(orig_pkts + resp_pkts)::bigint AS pkts, SUM(orig_ip_bytes + resp_ip_bytes)::bigint AS bytes,
          COUNT(*)::bigint AS flows FROM ${s}.flows WHERE ${inWindow} GROUP BY m ORDER BY m`, p),
        pool.query<TopRow>(`SELECT orig_addr AS k, ${sums}, MAX(orig_anon) AS anon FROM ${s}.flows WHERE ${inWindow}
          GROUP BY orig_addr ORDER BY bytes DESC, orig_addr COLLATE "C" LIMIT 10`, p),
        pool.query<TopRow>(`SELECT proto || '/' || resp_port AS k, ${sums} FROM ${s}.flows WHERE ${inWindow} AND proto IN ('tcp', 'udp', 'sctp')
          GROUP BY proto, resp_port ORDER BY flows DESC, bytes DESC, proto COLLATE "C", resp_port LIMIT 10`, p),
        pool.query<TopRow>(`SELECT proto AS k, ${sums} FROM ${s}.flows WHERE ${inWindow} GROUP BY proto ORDER BY bytes DESC, proto COLLATE "C"`, p),
        pool.query<{ severity: string; n: number }>(`SELECT severity, COUNT(*)::bigint AS n FROM ${alertStore.schema}.alerts WHERE state <> 'closed' GROUP BY severity`),
      ]);
      const series = minuteSeries(w, minutes_.rows);
      return {
        window: w,
        series,
        topTalkers: talkers.rows.map(toTop),
        topPorts: ports.rows.map(toTop),
        protocols: protocols.rows.map(toTop),
        alertsBySeverity: Object.fromEntries(severity.rows.map((r) => [r.severity, r.n])),
        flowsInWindow: series.reduce((n, x) => n + x.flows, 0),
      };
    },
    alert: async (id) => (await alerts()).get(id),
  };
}
