// Alerts: the live list (the server's event stream says when to fetch it again), filters, detail with evidence and related flows,
// acknowledge / close for responders.
import { useState } from 'preact/hooks';
import { call, get, orgPath } from './api.js';
import { useFetch, useServerEvent } from './hooks.js';
import { isoUs } from './format.js';
import { KeyValues, Sev, Status, TextWithNames } from './widgets.js';
import type { Alert } from './types.js';

export function Alerts({ org, canAct, agent }: { org: string; canAct: boolean; agent?: string }) {
  const [state, setState] = useState('');
  const [severity, setSeverity] = useState('');
  const [open, setOpen] = useState<number | null>(null);
  const [msg, setMsg] = useState<string | null>(null);
  const q = new URLSearchParams({ limit: agent ? '20' : '100' });
  if (state) q.set('state', state);
  if (severity) q.set('severity', severity);
  if (agent) q.set('agent', agent);
  // pushed by the server within a second of a change; the slow refresh only backs the stream up
  const l = useFetch(() => get<{ alerts: Alert[]; next: string | null }>(orgPath(org, `/alerts?${q}`)), [org, q.toString()], 15000);
  useServerEvent(org, 'alerts', l.reload);

  async function move(id: number, to: string): Promise<void> {
    try {
      await call('POST', orgPath(org, `/alerts/${id}/state`), { state: to });
      setMsg(`alert ${id}: ${to}`);
      l.reload();
    } catch (e) {
      setMsg((e as Error).message);
    }
  }
  return (
    <div>
      {!agent && (
        <div class="filters">
          <label>state<select value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value)}><option value="">any</option><option>open</option><option>acknowledged</option><option>closed</option></select></label>
          <label>severity<select value={severity} onChange={(e) => setSeverity((e.target as HTMLSelectElement).value)}><option value="">any</option><option>critical</option><option>high</option><option>medium</option><option>low</option></select></label>
        </div>
      )}
      {msg && <p class="note" role="status">{msg}</p>}
      <Status l={l}>
        {(d) => d.alerts.length === 0 ? <p class="muted">No alerts.</p> : (
          <table data-testid="alerts-table">
            <thead><tr><th>id</th><th>severity</th><th>state</th><th>category</th><th>summary</th><th>agent</th><th class="n">count</th><th>last seen</th>{canAct && <th>act</th>}</tr></thead>
            <tbody>
              {d.alerts.map((a) => [
                <tr key={a.id}>
                  <td><button type="button" class="link" aria-expanded={open === a.id} onClick={() => setOpen(open === a.id ? null : a.id)}>{a.id}</button></td>
                  <td><Sev s={a.severity} /></td><td>{a.state}</td><td>{a.category}</td><td><TextWithNames text={a.summary} /></td>
                  <td><a href={`#/${org}/agents/${a.agentId}`}>{a.agentId.slice(0, 8)}</a></td><td class="n">{a.count}</td><td>{isoUs(a.lastSeenUs)}</td>
                  {canAct && <td>
                    {a.state === 'open' && <button type="button" onClick={() => void move(a.id, 'acknowledged')}>Ack</button>}
                    {a.state !== 'closed' && <button type="button" onClick={() => void move(a.id, 'closed')}>Close</button>}
                  </td>}
                </tr>,
                open === a.id && (
                  <tr key={`${a.id}-d`} class="detail"><td colSpan={canAct ? 9 : 8}>
                    <p>rule {a.rule || '-'} · analyzer {a.analyzer} · peer {a.peer ? <TextWithNames text={a.peer} /> : '-'} · first seen {isoUs(a.firstSeenUs)}</p>
                    {a.communityId && <p><a href={`#/${org}/flows?community=${encodeURIComponent(a.communityId)}`}>related flows</a></p>}
                    <h4>Evidence</h4><KeyValues obj={a.evidence} />
                    {a.suggestedResponse !== null && <><h4>Suggested response</h4><pre>{JSON.stringify(a.suggestedResponse, null, 2)}</pre></>}
                  </td></tr>
                ),
              ])}
            </tbody>
          </table>
        )}
      </Status>
    </div>
  );
}
