// Agents: the list (online state, version, capture and spool numbers) and one agent's page
// (its last heartbeat: capture, spool, interdiction; recent flows, alerts, command history).
import { get, orgPath } from './api.js';
import { useEffect, useState } from 'preact/hooks';
import { useFetch, useKeys, useServerEvent } from './hooks.js';
import { boxKeyLoaded, openSealedInventory } from './keys.js';
import type { InventorySensitive } from '../../../shared/commands/agent-reports.js';
import { ago, bytes, isoUs, num } from './format.js';
import { Addr, KeyValues, Status } from './widgets.js';
import { Alerts } from './pages-alerts.js';
import { CommandList, SendCommand } from './pages-commands.js';
import type { AgentView, Flow } from './types.js';

export function Agents({ org }: { org: string }) {
  const l = useFetch(() => get<{ agents: AgentView[] }>(orgPath(org, '/agents')), [org], 15000);
  useServerEvent(org, 'agents', l.reload);
  return (
    <Status l={l}>
      {(d) => d.agents.length === 0 ? <p class="muted">No agents in this organisation yet.</p> : (
        <table data-testid="agents-table">
          <thead><tr><th>agent</th><th>state</th><th>version</th><th>last seen</th><th class="n">captured</th><th class="n">dropped</th><th class="n">spool</th><th>interdiction</th></tr></thead>
          <tbody>{d.agents.map((a) => {
            const h = a.health ?? {};
            const inter = (h.interdiction ?? {}) as Record<string, unknown>;
            return (
              <tr key={a.agentId}>
                <td><a href={`#/${org}/agents/${a.agentId}`}>{a.agentId}</a></td>
                <td><span class={a.online ? 'ok' : 'off'}>{a.online ? 'online' : 'offline'}</span></td>
                <td>{a.version ?? '-'}</td><td>{ago(a.lastSeen)}</td>
                <td class="n">{num(h.packetsCaptured as number)}</td><td class="n">{num(h.packetsDropped as number)}</td>
                <td class="n">{num(h.spoolFiles as number)} files{typeof h.spoolBytes === 'number' ? `, ${bytes(h.spoolBytes)}` : ''}</td>
                <td>{typeof inter.mode === 'string' ? inter.mode : inter.unavailable ? 'unavailable' : '-'}</td>
              </tr>
            );
          })}</tbody>
        </table>
      )}
    </Status>
  );
}

/** The sealed half of an inventory, opened in this page when the owner's box key is loaded. */
function SealedHalf({ sealed }: { sealed: unknown }) {
  const keys = useKeys();
  const [opened, setOpened] = useState<{ value: InventorySensitive | null; error: string | null }>({ value: null, error: null });
  useEffect(() => {
    let live = true;
    setOpened({ value: null, error: null });
    openSealedInventory(sealed).then((value) => { if (live) setOpened({ value, error: null }); }, (e: unknown) => { if (live) setOpened({ value: null, error: (e as Error).message }); });
    return () => { live = false; };
  }, [sealed, keys]);
  if (!boxKeyLoaded()) return <p class="muted">Host name, users, real addresses and MACs are sealed to the owner's box key: load box.key above to open them in this page (or `meerkat info` with box.key).</p>;
  if (opened.error) return <p class="error" role="alert" data-testid="inventory-sealed-error">{opened.error}</p>;
  const v = opened.value;
  if (!v) return <p class="muted">opening…</p>;
  return (
    <div data-testid="inventory-sealed">
      <p>host name <strong data-testid="inventory-hostname">{v.hostname}</strong> (opened in this page with the box key)</p>
      <KeyValues obj={{ users: v.users.accounts.join(', ') || '-', sessions: v.users.sessions.map((x) => `${x.user} ${x.line}${x.host ? ` from ${x.host}` : ''}`).join('; ') || '-' }} />
      <table><thead><tr><th>interface</th><th>MAC</th><th>addresses</th></tr></thead>
        <tbody>{v.interfaces.map((i) => <tr key={i.name}><td>{i.name}</td><td>{i.mac}</td><td>{i.addresses.join(', ')}</td></tr>)}</tbody></table>
      <table><thead><tr><th>mount</th><th>device</th><th>type</th></tr></thead>
        <tbody>{v.disks.map((d) => <tr key={d.mount}><td>{d.mount}</td><td>{d.device}</td><td>{d.fsType}</td></tr>)}</tbody></table>
    </div>
  );
}

export function AgentDetail({ org, id, canAct }: { org: string; id: string; canAct: boolean }) {
  const agents = useFetch(() => get<{ agents: AgentView[] }>(orgPath(org, '/agents')), [org], 15000);
  useServerEvent(org, 'agents', agents.reload);
  const flows = useFetch(() => get<{ flows: Flow[] }>(orgPath(org, `/flows?agent=${encodeURIComponent(id)}&limit=20`)), [org, id], 10000);
  const inventory = useFetch(() => get<{ at: string; report: Record<string, unknown> }>(orgPath(org, `/agents/${encodeURIComponent(id)}/inventory`)), [org, id]);
  return (
    <div class="agent">
      <Status l={agents}>
        {(d) => {
          const a = d.agents.find((x) => x.agentId === id);
          if (!a) return <p class="muted">No heartbeat from agent {id} yet (it has not connected since it was enrolled, or is not of this organisation).</p>;
          const h = { ...(a.health ?? {}) };
          const inter = h.interdiction;
          delete h.interdiction;
          return (
            <div class="cards">
              <section class="card"><h3>State</h3>
                <p data-testid="agent-state">{a.online ? `online since ${a.connectedSince ?? '?'}` : `offline, last seen ${ago(a.lastSeen)}`}</p>
                <p class="muted">first seen {a.firstSeen ?? '-'} · version {a.version ?? '-'}</p></section>
              <section class="card"><h3>Health (last heartbeat)</h3><KeyValues obj={h} /></section>
              <section class="card"><h3>Interdiction</h3><KeyValues obj={inter as Record<string, unknown> | undefined} /></section>
            </div>
          );
        }}
      </Status>
      <section class="card" data-testid="inventory"><h3>Inventory</h3>
        {inventory.error ? <p class="muted">No inventory yet: send the <code>inventory</code> command.</p> : inventory.data && (() => {
          const { sealed, ...plain } = inventory.data.report;
          return (<>
            <p class="muted">reported {inventory.data.at}</p>
            <KeyValues obj={plain} />
            {sealed ? <SealedHalf sealed={sealed} /> : null}
          </>);
        })()}
      </section>
      {canAct && <SendCommand org={org} agentId={id} />}
      <h3>Recent flows</h3>
      <Status l={flows}>
        {(d) => d.flows.length === 0 ? <p class="muted">No flows.</p> : (
          <table><thead><tr><th>start</th><th>proto</th><th>originator</th><th>responder</th><th>state</th></tr></thead>
            <tbody>{d.flows.map((f) => <tr key={`${f.uid}:${f.record_seq}`}><td>{isoUs(f.start)}</td><td>{f.proto}</td><td><Addr a={f.orig_addr} anon={f.orig_anon} />:{f.orig_port}</td><td><Addr a={f.resp_addr} anon={f.resp_anon} />:{f.resp_port}</td><td>{f.conn_state}</td></tr>)}</tbody></table>
        )}
      </Status>
      <p><a href={`#/${org}/flows?agent=${encodeURIComponent(id)}`}>All flows of this agent</a></p>
      <h3>Alerts</h3>
      <Alerts org={org} canAct={canAct} agent={id} />
      <h3>Command history</h3>
      <CommandList org={org} agentId={id} />
    </div>
  );
}
