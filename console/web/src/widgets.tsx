// Shared pieces of the pages: an address (pseudonym with the owner's real address beside it),
// states of a load, tables of key/value pairs.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { realAddress, realName } from './keys.js';
import { useKeys } from './hooks.js';

export function Addr({ a, anon }: { a: string; anon: boolean }) {
  const k = useKeys();
  const [real, setReal] = useState<string | null>(null);
  useEffect(() => {
    setReal(null);
    if (!anon) return undefined;
    const p = realAddress(a);
    let live = true;
    void p?.then((r) => { if (live) setReal(r); });
    return () => { live = false; };
  }, [a, anon, k]);
  if (!anon) return <span class="addr">{a}</span>;
  return (
    <span class="addr">
      <span class="pseudo" title="pseudonym (anonymized by the agent)">{a}*</span>
      {real !== null && <span class="real" title="real address (owner key, in this page only)"> = {real}</span>}
    </span>
  );
}

/** A name pseudonym ("mk--…" tokens) with the owner's real name beside it when anon.key is loaded. */
export function Name({ n }: { n: string }) {
  const k = useKeys();
  const [real, setReal] = useState<string | null>(null);
  useEffect(() => {
    setReal(null);
    let live = true;
    void realName(n)?.then((r) => { if (live) setReal(r); });
    return () => { live = false; };
  }, [n, k]);
  return (
    <span class="name">
      <span class="pseudo" title="name pseudonym (sealed by the agent)">{n}</span>
      {real !== null && <span class="real" title="real name (owner key, in this page only)" data-testid="real-name"> = {real}</span>}
    </span>
  );
}

/** "<head token>.<tail token>" or "<tail token>" inside text. */
const NAME_PSEUDONYM = /(?:mk--[a-z2-7]+\.)?mk--[a-z2-7]+/g;

/** Text (an alert's summary, a peer) with every name pseudonym in it shown as a Name. */
export function TextWithNames({ text }: { text: string }) {
  const out: ComponentChildren[] = [];
  let last = 0;
  for (const m of text.matchAll(NAME_PSEUDONYM)) {
    out.push(text.slice(last, m.index));
    out.push(<Name key={m.index} n={m[0]} />);
    last = m.index! + m[0].length;
  }
  out.push(text.slice(last));
  return <>{out}</>;
}

export function Status<T>({ l, empty, children }: { l: { data: T | null; error: string | null; loading: boolean }; empty?: string; children: (d: T) => ComponentChildren }) {
  if (l.error) return <p class="error" role="alert">{l.error}</p>;
  if (l.data === null) return <p class="muted">{l.loading ? 'Loading…' : empty ?? 'Nothing here.'}</p>;
  return <>{children(l.data)}</>;
}

export function KeyValues({ obj }: { obj: Record<string, unknown> | null | undefined }) {
  if (!obj) return <p class="muted">No report yet.</p>;
  return (
    <table class="kv">
      <tbody>
        {Object.entries(obj).map(([k, v]) => (
          <tr key={k}><th scope="row">{k}</th><td>{typeof v === 'object' && v !== null ? <pre>{JSON.stringify(v, null, 2)}</pre> : String(v)}</td></tr>
        ))}
      </tbody>
    </table>
  );
}

export function Sev({ s }: { s: string }) {
  return <span class={`sev sev-${s.replace(/[^a-z]/g, '')}`}>{s}</span>;
}
