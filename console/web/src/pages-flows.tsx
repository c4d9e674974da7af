// Flows explorer: filters (agent, address or CIDR, port, protocol, state, time, Community ID),
// pages newest first through the server's keyset cursor, CSV / JSON-lines export of the same
// filter, and per flow its packets as pcapng (responders). With the owner key loaded, a real
// address typed in the filter is turned into its pseudonym here, in the page.
import { useState } from 'preact/hooks';
import { get, orgPath } from './api.js';
import { useFetch, useKeys } from './hooks.js';
import { ownerKeyLoaded, pseudonymOf } from './keys.js';
import { bytes, isoUs, num } from './format.js';
import { Addr, Name, Status } from './widgets.js';
import type { Flow } from './types.js';

const FIELDS = [
  ['agent', 'agent id'], ['addr', 'address or CIDR'], ['port', 'port'], ['proto', 'protocol'], ['state', 'state'],
  ['since', 'since (ISO time)'], ['until', 'until (ISO time)'], ['community', 'Community ID'],
] as const;

type Filter = Partial<Record<(typeof FIELDS)[number][0], string>>;

function query(f: Filter): URLSearchParams {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v) q.set(k, v.trim());
  return q;
}

export function Flows({ org, canExport, initial }: { org: string; canExport: boolean; initial: Filter }) {
  useKeys();
  const [draft, setDraft] = useState<Filter>(initial);
  const [applied, setApplied] = useState<Filter>(initial);
  const [realFilter, setRealFilter] = useState(false);
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const l = useFetch(async () => {
    const q = query(applied);
    q.set('limit', '50');
    if (cursor) q.set('cursor', cursor);
    return get<{ flows: Flow[]; next: string | null; partial?: boolean; ms?: number }>(orgPath(org, `/flows?${q}`));
  }, [org, JSON.stringify(applied), cursor]);

  async function apply(e: Event): Promise<void> {
    e.preventDefault();
    const f = { ...draft };
    if (realFilter && f.addr && ownerKeyLoaded()) f.addr = (await pseudonymOf(f.addr.trim())) ?? f.addr;
    setCursors([]);
    setApplied(f);
  }
  const exportQ = query(applied);
  return (
    <div>
      <form class="filters" onSubmit={(e) => void apply(e)} aria-label="flow filters">
        {FIELDS.map(([k, label]) => (
          <label key={k}>{label}
            <input name={k} value={draft[k] ?? ''} onInput={(e) => setDraft({ ...draft, [k]: (e.target as HTMLInputElement).value })} />
          </label>
        ))}
        {ownerKeyLoaded() && <label class="check"><input type="checkbox" checked={realFilter} onChange={(e) => setRealFilter((e.target as HTMLInputElement).checked)} /> address is a real (owner) address</label>}
        <button type="submit">Filter</button>
        <a class="button" href={orgPath(org, `/flows/export?${exportQ}&format=csv`)} download>Export CSV</a>
        <a class="button" href={orgPath(org, `/flows/export?${exportQ}&format=json`)} download>Export JSON</a>
      </form>
      <Status l={l} empty="No flows match.">
        {(d) => (
          <div>
            <p class="muted">{d.flows.length} flows on this page{d.partial ? ' (search stopped early: narrow the filter)' : ''}{d.ms !== undefined ? ` · ${d.ms} ms` : ''}</p>
            {d.flows.length === 0 ? <p class="muted" data-testid="no-flows">No flows match.</p> : (
              <table class="flows" data-testid="flows-table">
                <thead><tr><th>start</th><th>proto</th><th>originator</th><th>responder</th><th class="n">pkts o/r</th><th class="n">bytes o/r</th><th>state</th><th>server name</th><th>agent</th><th>Community ID</th>{canExport && <th>pcap</th>}</tr></thead>
                <tbody>
                  {d.flows.map((f) => (
                    <tr key={`${f.uid}:${f.record_seq}`}>
                      <td>{isoUs(f.start)}</td><td>{f.proto}</td>
                      <td><Addr a={f.orig_addr} anon={f.orig_anon} />:{f.orig_port}</td>
                      <td><Addr a={f.resp_addr} anon={f.resp_anon} />:{f.resp_port}</td>
                      <td class="n">{num(f.orig_pkts)}/{num(f.resp_pkts)}</td>
                      <td class="n">{bytes(f.orig_ip_bytes)}/{bytes(f.resp_ip_bytes)}</td>
                      <td>{f.conn_state}</td>
                      <td>{f.server_name ? (f.server_name_anon ? <Name n={f.server_name} /> : f.server_name) : ''}</td>
                      <td><a href={`#/${org}/agents/${f.agent_id}`}>{f.agent_id.slice(0, 8)}</a></td>
                      <td><button class="link" type="button" title="flows with this Community ID" onClick={() => { const nf = { community: f.community_id }; setDraft(nf); setCursors([]); setApplied(nf); }}>{f.community_id.slice(0, 12)}…</button></td>
                      {canExport && <td><a href={orgPath(org, `/pcap?${new URLSearchParams({ flow: f.uid, format: 'pcapng' })}`)} download>pcapng</a></td>}
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <div class="pager">
              <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>← Newer</button>
              <button type="button" disabled={!d.next} onClick={() => d.next && setCursors([...cursors, d.next])}>Older →</button>
            </div>
          </div>
        )}
      </Status>
    </div>
  );
}
