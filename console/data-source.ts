// Where `meerkat flows`, `top` and `alerts` read: the collector's API by default (GET
// /v1/orgs/ORG/flows, .../flows/summary, .../alerts of the --org organisation; docs/api.md),
// or a database file with --db (an organisation's meerkat.db, or one `meerkat-collector import` made). Both answer the same query text with
// the same shapes: the local source parses the parameters with the API's own parsers
// (shared/store/flow-query.ts, shared/alerts/alert-query.ts).
import { existsSync } from 'node:fs';
import { UsageError } from '../shared/cli/run-cli.js';
import { SqliteFlowStore } from '../shared/store/sqlite-flow-store.js';
import { AlertStoreError, SqliteAlertStore } from '../shared/alerts/sqlite-alert-store.js';
import { flowQueryFromParams, summaryQueryFromParams } from '../shared/store/flow-query.js';
import { alertQueryFromParams } from '../shared/alerts/alert-query.js';
import { alertView, type AlertState } from '../shared/alerts/alert-types.js';
import type { FlowRecord } from '../shared/flow/flow-record.js';
import type { FlowSummary } from '../shared/store/flow-store.js';
import { agentIdOrPrefix, resolveAgentIdPrefix } from '../shared/commands/agent-id-prefix.js';
import type { AdminClient } from './admin-client.js';

export interface FlowsAnswer {
  flows: FlowRecord[];
  next: string | null;
}

export interface SummaryAnswer extends FlowSummary {
  since: string;
  until: string;
  sinceUs: number;
  untilUs: number;
}

/** An alert as the API shows it (alertView). */
export type AlertAnswer = Record<string, unknown> & { id: number; state: string; agentId: string; summary: string };

export interface DataSource {
  /** what it reads, for messages */
  readonly where: string;
  flows(q: URLSearchParams): Promise<FlowsAnswer>;
  summary(q: URLSearchParams): Promise<SummaryAnswer>;
  alerts(q: URLSearchParams): Promise<{ alerts: AlertAnswer[]; next: string | null }>;
  setAlertState(id: number, state: AlertState): Promise<AlertAnswer>;
  /** the full id an agent id or prefix names */
  agentId(text: string): Promise<string>;
  close(): void;
}

export function apiSource(client: AdminClient): DataSource {
  return {
    where: 'the collector',
    flows: (q) => client.get<FlowsAnswer>(client.scoped(`/flows?${q.toString()}`)),
    summary: (q) => client.get<SummaryAnswer>(client.scoped(`/flows/summary?${q.toString()}`)),
    alerts: (q) => client.get<{ alerts: AlertAnswer[]; next: string | null }>(client.scoped(`/alerts?${q.toString()}`)),
    setAlertState: async (id, state) => (await client.post<{ alert: AlertAnswer }>(client.scoped(`/alerts/${id}/state`), { state })).alert,
    agentId: async (text) => {
      const f = agentIdOrPrefix(text);
      if ('id' in f) return f.id;
      const { agents } = await client.get<{ agents: { agentId: string }[] }>(client.scoped('/agents'));
      return resolveAgentIdPrefix(text, agents.map((a) => a.agentId), 'agents the collector knows');
    },
    close: () => undefined,
  };
}

/** A database file read here; `write` for alert state changes. */
export function databaseSource(db: string, opts: { write?: boolean } = {}): DataSource {
  if (!existsSync(db)) throw new UsageError(`no database at ${db}`);
  let flows: SqliteFlowStore | null = null;
  let alerts: SqliteAlertStore | null = null;
  const flowStore = (): SqliteFlowStore => (flows ??= new SqliteFlowStore(db, { readonly: true }));
  const alertStore = (): SqliteAlertStore => (alerts ??= new SqliteAlertStore(db, { readonly: opts.write !== true }));
  return {
    where: db,
    flows: async (q) => {
      const p = flowQueryFromParams(q);
      const page = flowStore().pageFlows(p.filter, p.limit, p.cursor);
      return { flows: page.records, next: page.next };
    },
    summary: async (q) => {
      const p = summaryQueryFromParams(q, Date.now() * 1000);
      const iso = (us: number): string => new Date(Math.floor(us / 1000)).toISOString();
      return { since: iso(p.filter.since), until: iso(p.filter.until), sinceUs: p.filter.since, untilUs: p.filter.until, ...flowStore().summarizeFlows(p.filter, p.top) };
    },
    alerts: async (q) => {
      const p = alertQueryFromParams(q);
      const page = alertStore().page(p.filter, p.limit, p.cursor);
      return { alerts: page.alerts.map((a) => alertView(a) as unknown as AlertAnswer), next: page.next };
    },
    setAlertState: async (id, state) => {
      const a = alertStore().setState(id, state);
      if (a === null) throw new AlertStoreError(`no alert with id ${id} in ${db}`);
      return alertView(a) as unknown as AlertAnswer;
    },
    agentId: async (text) => resolveAgentIdPrefix(text, flowStore().listAgents().map((a) => a.agentId), `agents in ${db}`),
    close: () => {
      flows?.close();
      alerts?.close();
    },
  };
}
