// The web console: login, then one organisation at a time (switchable) with its pages -
// overview, agents, flows, alerts, commands, audit, threat-intel feeds. Routes live in the URL hash
// (#/<org>/<page>[/<id>][?filters]) so a page can be bookmarked and reloaded. Every check that
// matters is the server's; the page only hides what the user's role cannot do.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { ApiError, currentSession, login, logout, setSessionHooks, type Session } from './api.js';
import { boxKeyLoaded, forgetBoxKey, forgetOwnerKey, loadBoxKey, loadOwnerKey, ownerKeyLoaded } from './keys.js';
import { useKeys } from './hooks.js';
import { Overview } from './pages-overview.js';
import { Agents, AgentDetail } from './pages-agents.js';
import { Flows } from './pages-flows.js';
import { Alerts } from './pages-alerts.js';
import { Commands } from './pages-commands.js';
import { Audit, OrgAdmin } from './pages-admin.js';
import { Feeds } from './pages-feeds.js';

interface Route { org: string; page: string; id: string; query: URLSearchParams }

function parseHash(): Route {
  const h = location.hash.replace(/^#\/?/, '');
  const [path = '', qs = ''] = h.split('?');
  const [org = '', page = 'overview', id = ''] = path.split('/').map((s) => decodeURIComponent(s));
  return { org, page, id, query: new URLSearchParams(qs) };
}

function useRoute(): Route {
  const [r, setR] = useState(parseHash());
  useEffect(() => {
    const on = (): void => setR(parseHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return r;
}

function Login({ onIn }: { onIn: (s: Session) => void }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event): Promise<void> {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onIn(await login(user, password));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : `cannot reach the collector: ${(err as Error).message}`);
    } finally {
      setBusy(false);
      setPassword('');
    }
  }
  return (
    <main class="login">
      <h1>Meerkat</h1>
      <form onSubmit={(e) => void submit(e)} aria-label="log in">
        <label>User<input name="user" autocomplete="username" value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} required /></label>
        <label>Password<input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} required /></label>
        <button type="submit" disabled={busy}>Log in</button>
        {error && <p class="error" role="alert" data-testid="login-error">{error}</p>}
      </form>
    </main>
  );
}

/** One owner key file loaded into the page (never sent): its state, or a file picker. */
function KeyInput({ label, title, testId, loaded, load, forget }: { label: string; title: string; testId: string; loaded: string | null; load: (f: File) => Promise<void>; forget: () => void }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <span>
      {loaded ? (
        <span data-testid={`${testId}-state`}>{label.toLowerCase()} {loaded} loaded (this page only) <button type="button" onClick={forget}>Forget</button></span>
      ) : (
        <label title={title}>{label}
          <input type="file" data-testid={testId} onChange={(e) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (f) load(f).then(() => setError(null), (err: unknown) => setError((err as Error).message));
            (e.target as HTMLInputElement).value = '';
          }} />
        </label>
      )}
      {error && <span class="error" role="alert">{error}</span>}
    </span>
  );
}

function OwnerKey() {
  useKeys();
  return (
    <div class="ownerkey">
      <KeyInput label="Owner key" title="The owner's anon.key: real addresses are computed in this page; the key is never sent" testId="owner-key"
        loaded={ownerKeyLoaded()} load={loadOwnerKey} forget={forgetOwnerKey} />
      <KeyInput label="Box key" title="The owner's box.key: agents' sealed inventory (host name, users, real addresses, MACs) is opened in this page; the key is never sent" testId="box-key"
        loaded={boxKeyLoaded()} load={loadBoxKey} forget={forgetBoxKey} />
    </div>
  );
}

const PAGES = [['overview', 'Overview'], ['agents', 'Agents'], ['flows', 'Flows'], ['alerts', 'Alerts'], ['commands', 'Commands'], ['audit', 'Audit'], ['feeds', 'Feeds']] as const;

function Shell({ session, onOut }: { session: Session; onOut: () => void }) {
  const route = useRoute();
  const mine = session.memberships;
  const m = mine.find((x) => x.org === route.org);
  useEffect(() => {
    if (!m && mine.length > 0) location.hash = `#/${mine[0]!.org}/overview`;
  }, [route.org]);
  if (mine.length === 0) {
    return <main class="empty"><p>User {session.user} is not a member of any organisation on this collector. A collector administrator can add you (meerkat-collector user grant).</p><button type="button" onClick={onOut}>Log out</button></main>;
  }
  if (!m) return <p class="muted">…</p>;
  const canAct = m.role !== 'viewer';
  const org = m.org;
  return (
    <div class="shell">
      <header>
        <strong class="brand">Meerkat</strong>
        <label class="orgsel">Organisation
          <select data-testid="org-select" value={org} onChange={(e) => { location.hash = `#/${(e.target as HTMLSelectElement).value}/${route.page}`; }}>
            {mine.map((x) => <option key={x.org} value={x.org}>{x.name} ({x.role}){x.state !== 'active' ? ` – ${x.state}` : ''}</option>)}
          </select>
        </label>
        <nav>
          {PAGES.map(([p, label]) => <a key={p} href={`#/${org}/${p}`} aria-current={route.page === p ? 'page' : undefined}>{label}</a>)}
          {m.role === 'admin' && <a href={`#/${org}/admin`} aria-current={route.page === 'admin' ? 'page' : undefined}>Organisation</a>}
        </nav>
        <OwnerKey />
        <span class="user" data-testid="whoami">{session.user} · {m.role}</span>
        <button type="button" onClick={onOut}>Log out</button>
      </header>
      <main>
        {route.page === 'overview' && <Overview org={org} />}
        {route.page === 'agents' && !route.id && <Agents org={org} />}
        {route.page === 'agents' && route.id && <AgentDetail org={org} id={route.id} canAct={canAct} />}
        {route.page === 'flows' && <Flows key={`${org}?${route.query}`} org={org} canExport={canAct} initial={Object.fromEntries(route.query)} />}
        {route.page === 'alerts' && <Alerts org={org} canAct={canAct} />}
        {route.page === 'commands' && <Commands org={org} canAct={canAct} />}
        {route.page === 'audit' && <Audit org={org} />}
        {route.page === 'feeds' && <Feeds org={org} />}
        {route.page === 'admin' && m.role === 'admin' && <OrgAdmin org={org} />}
      </main>
    </div>
  );
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const out = (): void => { forgetOwnerKey(); forgetBoxKey(); setSession(null); };
  useEffect(() => {
    currentSession().then(setSession, () => setSession(null));
  }, []);
  useEffect(() => { if (session) setSessionHooks(session.csrf, out); }, [session]);
  if (session === undefined) return <p class="muted">Loading…</p>;
  if (session === null) return <Login onIn={setSession} />;
  return <Shell session={session} onOut={() => { void logout().finally(out); }} />;
}

render(<App />, document.getElementById('app')!);
