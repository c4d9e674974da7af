// Shared pieces of the pages: an address (pseudonym with the owner's real address beside it),
// states of a load, tables of key/value pairs.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { realAddress } from './keys.js';
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
