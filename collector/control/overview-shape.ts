// The console overview's shape and the backend-free parts of computing it (the window, the
// per-minute series with quiet minutes as zero), shared by the SQLite reader
// (org-data-reader.ts) and the PostgreSQL one (collector/scale/pg-views.ts) so both answer alike.

/** One row of a top list; `anon`: the talker's address is a pseudonym (the owner's page shows the real one). */
export interface Top { key: string; bytes: number; flows: number; anon?: boolean }

export interface Overview {
  window: { fromUs: number; toUs: number };
  series: { minute: string; packetsPerSec: number; bytesPerSec: number; flows: number }[];
  topTalkers: Top[];
  topPorts: Top[];
  protocols: Top[];
  alertsBySeverity: Record<string, number>;
  flowsInWindow: number;
}

/** One minute's sums as the queries return them (m: start_us / 60,000,000, truncated). */
export interface MinuteRow { m: number; pkts: number; bytes: number; flows: number }

/** The `minutes` before now, or (nothing that recent: an imported capture) before one minute after the newest record. */
export function overviewWindow(minutes: number, nowUs: number, newestStartUs: number | null): { fromUs: number; toUs: number } {
  const toUs = newestStartUs !== null && newestStartUs < nowUs - minutes * 60e6 ? newestStartUs + 60e6 : nowUs;
  return { fromUs: toUs - minutes * 60e6, toUs };
}

/** Every minute of the window, quiet ones as zero (a chart line, not scattered points). */
export function minuteSeries(w: { fromUs: number; toUs: number }, rows: readonly MinuteRow[]): Overview['series'] {
  const byMinute = new Map(rows.map((r) => [r.m, r]));
  const series: Overview['series'] = [];
  for (let m = Math.floor(w.fromUs / 60e6); m <= Math.floor(w.toUs / 60e6); m++) {
    const r = byMinute.get(m);
    series.push({ minute: new Date(m * 60_000).toISOString(), packetsPerSec: (r?.pkts ?? 0) / 60, bytesPerSec: (r?.bytes ?? 0) / 60, flows: r?.flows ?? 0 });
  }
  return series;
}
