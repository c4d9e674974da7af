// Overview: agents online, traffic over time (live), open alerts by severity, top talkers,
// ports and protocols, capture health per agent.
import { get, orgPath } from './api.js';
import { useFetch, useServerEvent } from './hooks.js';
import { LineChart } from './chart.js';
import { bytes, num } from './format.js';
import { Addr, Sev, Status } from './widgets.js';
import type { AgentView } from './types.js';

interface Top { key: string; bytes: number; flows: number; anon?: boolean }
interface OverviewData {
  agents: { total: number; online: number; list: AgentView[] };
  series: { minute: string; packetsPerSec: number; bytesPerSec: number; flows: number }[];
  topTalkers: Top[]; topPorts: Top[]; protocols: Top[];
  alertsBySeverity: Record<string, number>;
  window: { from: string; to: string };
  flowsInWindow: number;
}

function TopTable({ title, rows, keyName }: { title: string; rows: Top[]; keyName: string }) {
  return (
    <section class="card">
      <h3>{title}</h3>
      {rows.length === 0 ? <p class="muted">No traffic in this window.</p> : (
        <table><thead><tr><th>{keyName}</th><th class="n">bytes</th><th class="n">flows</th></tr></thead>
          <tbody>{rows.map((r) => <tr key={r.key}><td>{r.anon === undefined ? r.key : <Addr a={r.key} anon={r.anon} />}</td><td class="n">{bytes(r.bytes)}</td><td class="n">{num(r.flows)}</td></tr>)}</tbody></table>
      )}
    </section>
  );
}

export function Overview({ org }: { org: string }) {
  const l = useFetch(() => get<OverviewData>(orgPath(org, '/overview?minutes=60')), [org], 10000);
  useServerEvent(org, 'alerts', l.reload);
  useServerEvent(org, 'agents', l.reload);
  return (
    <Status l={l}>
      {(d) => {
        const times = d.series.map((s) => Date.parse(s.minute) / 1000);
        return (
          <div class="overview">
            <div class="cards">
              <section class="card stat"><h3>Agents</h3><p class="big" data-testid="agents-online">{d.agents.online} / {d.agents.total}</p><p class="muted">online / known</p></section>
              <section class="card stat"><h3>Open alerts</h3>
                <p>{['critical', 'high', 'medium', 'low'].map((s) => <span key={s} class="sevcount"><Sev s={s} /> {d.alertsBySeverity[s] ?? 0}</span>)}</p></section>
              <section class="card stat"><h3>Flows</h3><p class="big">{num(d.flowsInWindow)}</p><p class="muted">{d.window.from.slice(11, 16)}–{d.window.to.slice(11, 16)} UTC</p></section>
            </div>
            <div class="charts">
              <LineChart title="packets/s" times={times} values={d.series.map((s) => s.packetsPerSec)} unit={(v) => v.toFixed(v < 10 ? 1 : 0)} />
              <LineChart title="bytes/s" times={times} values={d.series.map((s) => s.bytesPerSec)} unit={(v) => bytes(v)} />
            </div>
            <div class="cards">
              <TopTable title="Top talkers" rows={d.topTalkers} keyName="originator" />
              <TopTable title="Top ports" rows={d.topPorts} keyName="port" />
              <TopTable title="Protocols" rows={d.protocols} keyName="protocol" />
            </div>
            <section class="card">
              <h3>Capture health</h3>
              {d.agents.list.length === 0 ? <p class="muted">No agents yet: enroll one with a token of this organisation.</p> : (
                <table><thead><tr><th>agent</th><th>state</th><th class="n">captured</th><th class="n">dropped</th><th class="n">spool files</th><th class="n">spool bytes</th></tr></thead>
                  <tbody>{d.agents.list.map((a) => {
                    const h = a.health ?? {};
                    return (<tr key={a.agentId}><td><a href={`#/${org}/agents/${a.agentId}`}>{a.agentId.slice(0, 8)}</a></td><td>{a.online ? 'online' : 'offline'}</td>
                      <td class="n">{num(h.packetsCaptured as number)}</td><td class="n">{num(h.packetsDropped as number)}</td><td class="n">{num(h.spoolFiles as number)}</td><td class="n">{typeof h.spoolBytes === 'number' ? bytes(h.spoolBytes) : '-'}</td></tr>);
                  })}</tbody></table>
              )}
            </section>
          </div>
        );
      }}
    </Status>
  );
}
