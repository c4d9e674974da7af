// Commands: every command of the organisation with its state, and the form responders send one
// with. A command is signed HERE with the operator's key (op.key, loaded from a file into this
// page's memory, never uploaded): the collector only queues it; the agent verifies the signature
// against the keys it pinned, so a compromised collector cannot forge one.
import { useState } from 'preact/hooks';
import { call, get, orgPath } from './api.js';
import { useFetch, useKeys } from './hooks.js';
import { loadSigningKey, signingKey } from './keys.js';
import { signCommandInBrowser } from '../../../shared/commands/browser-signer.js';
import { Status } from './widgets.js';
import type { CommandView } from './types.js';

/** Kinds and a starting point for their parameters (command-schema.ts checks them on the collector and the agent). */
const KINDS: Record<string, string> = {
  'interdiction.isolate': '{"forMs": 3600000}',
  'interdiction.release': '{}',
  'interdiction.block': '{"peer": {"address": "203.0.113.5", "pseudonym": false}, "forMs": 3600000}',
  'interdiction.unblock': '{"peer": {"address": "203.0.113.5", "pseudonym": false}}',
  'interdiction.degrade': '{"rateBytesPerSec": 100000, "forMs": 600000}',
  'capture.snaplen': '{"snapLen": 128}',
  'capture.dump-size': '{"packets": 10000}',
  'capture.peer': '{"peer": "203.0.113.5", "snapLen": 1500, "forMs": 600000}',
  'capture.retro': '{"sinceMs": 0, "untilMs": 60000}',
  'component.stop': '{"component": "capture"}',
  'component.start': '{"component": "capture"}',
  inventory: '{}',
};

export function SendCommand({ org, agentId }: { org: string; agentId?: string }) {
  useKeys();
  const [agent, setAgent] = useState(agentId ?? '');
  const [kind, setKind] = useState('interdiction.isolate');
  const [params, setParams] = useState(KINDS['interdiction.isolate']!);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const key = signingKey();

  async function send(e: Event): Promise<void> {
    e.preventDefault();
    if (!key) return;
    let p: Record<string, unknown>;
    try {
      p = JSON.parse(params) as Record<string, unknown>;
    } catch {
      setMsg({ ok: false, text: 'parameters: not JSON' });
      return;
    }
    try {
      const env = signCommandInBrowser(key, { agentId: agent.trim(), kind, params: p, lifetimeMs: 3_600_000 });
      const r = await call<{ command: CommandView }>('POST', orgPath(org, '/commands'), env);
      setMsg({ ok: true, text: `command ${r.command.id} ${r.command.state}` });
    } catch (err) {
      setMsg({ ok: false, text: (err as Error).message });
    }
  }
  return (
    <section class="card" aria-label="send a command">
      <h3>Send a command</h3>
      <p class="muted">Signed in this page with your operator key ({key ? `${key.name}, key ${key.keyId}` : 'not loaded'}); the key never leaves the browser.</p>
      <label class="file">Operator key (op.key) <input type="file" data-testid="op-key" onChange={(e) => {
        const f = (e.target as HTMLInputElement).files?.[0];
        if (f) loadSigningKey(f).then(() => setMsg(null), (err: unknown) => setMsg({ ok: false, text: (err as Error).message }));
      }} /></label>
      <form class="filters" onSubmit={(e) => void send(e)}>
        {agentId === undefined && <label>agent<input value={agent} onInput={(e) => setAgent((e.target as HTMLInputElement).value)} /></label>}
        <label>command<select data-testid="command-kind" value={kind} onChange={(e) => { const k = (e.target as HTMLSelectElement).value; setKind(k); setParams(KINDS[k] ?? '{}'); }}>
          {Object.keys(KINDS).map((k) => <option key={k}>{k}</option>)}</select></label>
        <label class="wide">parameters (JSON)<textarea data-testid="command-params" rows={2} value={params} onInput={(e) => setParams((e.target as HTMLTextAreaElement).value)} /></label>
        <button type="submit" disabled={!key}>Sign and send</button>
      </form>
      {msg && <p class={msg.ok ? 'note' : 'error'} role="status" data-testid="command-result">{msg.text}</p>}
    </section>
  );
}

export function CommandList({ org, agentId }: { org: string; agentId?: string }) {
  const q = new URLSearchParams({ limit: '50' });
  if (agentId) q.set('agent', agentId);
  const l = useFetch(() => get<{ commands: CommandView[] }>(orgPath(org, `/commands?${q}`)), [org, agentId], 3000);
  return (
    <Status l={l}>
      {(d) => d.commands.length === 0 ? <p class="muted">No commands yet.</p> : (
        <table data-testid="commands-table">
          <thead><tr><th>created</th><th>agent</th><th>command</th><th>state</th><th>signed by</th><th>submitted by</th><th>result</th></tr></thead>
          <tbody>{d.commands.map((c) => (
            <tr key={c.id}><td>{c.createdAt.replace('T', ' ').slice(0, 19)}</td><td>{c.agentId.slice(0, 8)}</td><td>{c.kind} <code>{JSON.stringify(c.params)}</code></td>
              <td>{c.state}</td><td>{c.signer.operator} ({c.signer.keyId})</td><td>{c.submittedBy}</td><td>{c.error ?? (c.result ? JSON.stringify(c.result).slice(0, 120) : '-')}</td></tr>
          ))}</tbody>
        </table>
      )}
    </Status>
  );
}

export function Commands({ org, canAct }: { org: string; canAct: boolean }) {
  return (
    <div>
      {canAct ? <SendCommand org={org} /> : <p class="muted">Your role in this organisation can read commands, not send them.</p>}
      <CommandList org={org} />
    </div>
  );
}
