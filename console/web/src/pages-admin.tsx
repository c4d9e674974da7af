// The organisation's audit (everyone who may read it) and, for its admins, its members and
// enrollment tokens. The token text is shown once, when it is made, as the API returns it.
import { useState } from 'preact/hooks';
import { call, get, orgPath } from './api.js';
import { useFetch } from './hooks.js';
import { Status } from './widgets.js';

interface AuditEntry { seq: number; at: string; actor: string; action: string; agentId: string | null; commandId: string | null; outcome: string; detail: unknown }

export function Audit({ org }: { org: string }) {
  const [reads, setReads] = useState(false);
  const l = useFetch(() => get<{ entries: AuditEntry[] }>(orgPath(org, '/audit?limit=500')), [org], 5000);
  return (
    <div>
      <label class="check"><input type="checkbox" checked={reads} onChange={(e) => setReads((e.target as HTMLInputElement).checked)} /> show reads (every GET of the API and console is audited too)</label>
      <Status l={l}>
        {(d) => {
          const rows = d.entries.filter((e) => reads || !e.action.startsWith('http GET ')).reverse();
          return rows.length === 0 ? <p class="muted">Nothing audited yet.</p> : (
            <table data-testid="audit-table">
              <thead><tr><th>time</th><th>who</th><th>action</th><th>agent</th><th>outcome</th><th>detail</th></tr></thead>
              <tbody>{rows.map((e) => (
                <tr key={e.seq}><td>{e.at.replace('T', ' ').slice(0, 19)}</td><td>{e.actor}</td><td>{e.action}</td><td>{e.agentId?.slice(0, 8) ?? '-'}</td><td>{e.outcome}</td>
                  <td><code>{e.detail === null ? '' : JSON.stringify(e.detail).slice(0, 200)}</code></td></tr>
              ))}</tbody>
            </table>
          );
        }}
      </Status>
    </div>
  );
}

interface Token { id: string; label?: string | null; uses?: number; usesLeft?: number; expiresAt: string; revokedAt: string | null }

export function OrgAdmin({ org }: { org: string }) {
  const members = useFetch(() => get<{ members: { user: string; role: string; disabled: boolean }[] }>(orgPath(org, '/members')), [org]);
  const tokens = useFetch(() => get<{ tokens: Token[] }>(orgPath(org, '/tokens')), [org]);
  const [made, setMade] = useState<string | null>(null);
  const [msg, setMsg] = useState<string | null>(null);
  async function newToken(e: Event): Promise<void> {
    e.preventDefault();
    try {
      const t = await call<{ token: string; expiresAt: string }>('POST', orgPath(org, '/tokens'), { uses: 1, expiresSec: 86_400, label: 'console' });
      setMade(t.token);
      tokens.reload();
    } catch (err) {
      setMsg((err as Error).message);
    }
  }
  async function revoke(id: string): Promise<void> {
    try {
      await call('DELETE', orgPath(org, `/tokens/${encodeURIComponent(id)}`));
      tokens.reload();
    } catch (err) {
      setMsg((err as Error).message);
    }
  }
  return (
    <div class="cards">
      <section class="card"><h3>Members</h3>
        <Status l={members}>{(d) => (
          <table><thead><tr><th>user</th><th>role</th><th>state</th></tr></thead>
            <tbody>{d.members.map((m) => <tr key={m.user}><td>{m.user}</td><td>{m.role}</td><td>{m.disabled ? 'disabled' : 'enabled'}</td></tr>)}</tbody></table>
        )}</Status>
        <p class="muted">Members are added on the collector host: meerkat-collector user grant NAME --org {org} --role ROLE.</p>
      </section>
      <section class="card"><h3>Enrollment tokens</h3>
        <form onSubmit={(e) => void newToken(e)}><button type="submit">New one-time token (24 h)</button></form>
        {made && <p class="note">New token (shown once): <code data-testid="new-token">{made}</code></p>}
        {msg && <p class="error" role="alert">{msg}</p>}
        <Status l={tokens}>{(d) => d.tokens.length === 0 ? <p class="muted">No tokens.</p> : (
          <table><thead><tr><th>id</th><th>label</th><th>expires</th><th>state</th><th /></tr></thead>
            <tbody>{d.tokens.map((t) => (
              <tr key={t.id}><td>{t.id.slice(0, 12)}</td><td>{t.label ?? ''}</td><td>{t.expiresAt.slice(0, 16)}</td><td>{t.revokedAt ? 'revoked' : 'active'}</td>
                <td>{!t.revokedAt && <button type="button" onClick={() => void revoke(t.id)}>Revoke</button>}</td></tr>
            ))}</tbody></table>
        )}</Status>
      </section>
    </div>
  );
}
