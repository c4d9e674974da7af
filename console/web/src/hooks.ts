// Small hooks: data that is fetched (and optionally refreshed every few seconds), and the keys store.
import { useEffect, useState, useCallback } from 'preact/hooks';
import { subscribeKeys } from './keys.js';

export interface Loaded<T> { data: T | null; error: string | null; loading: boolean; reload: () => void }

export function useFetch<T>(fn: () => Promise<T>, deps: unknown[], refreshMs = 0): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    setLoading(true);
    fn().then((d) => { if (live) { setData(d); setError(null); } }, (e: unknown) => { if (live) setError((e as Error).message); })
      .finally(() => { if (live) setLoading(false); });
    return () => { live = false; };
  }, [...deps, tick]);
  useEffect(() => {
    if (!refreshMs) return undefined;
    const t = setInterval(reload, refreshMs);
    return () => clearInterval(t);
  }, [refreshMs, reload]);
  return { data, error, loading, reload };
}

/** Re-renders when a key is loaded or forgotten. */
export function useKeys(): number {
  const [n, setN] = useState(0);
  useEffect(() => subscribeKeys(() => setN((x) => x + 1)), []);
  return n;
}

// One EventSource per organisation shared by every component that listens (GET /v1/orgs/ORG/events).
const sources = new Map<string, { es: EventSource; users: number }>();

/** Calls `onEvent` when the server says `kind` ("alerts", "agents") changed in `org`. */
export function useServerEvent(org: string, kind: 'alerts' | 'agents', onEvent: () => void): void {
  useEffect(() => {
    let s = sources.get(org);
    if (!s) {
      s = { es: new EventSource(`/v1/orgs/${encodeURIComponent(org)}/events`), users: 0 };
      sources.set(org, s);
    }
    s.users++;
    const h = (): void => onEvent();
    s.es.addEventListener(kind, h);
    const mine = s;
    return () => {
      mine.es.removeEventListener(kind, h);
      if (--mine.users === 0) {
        mine.es.close();
        sources.delete(org);
      }
    };
  }, [org, kind, onEvent]);
}
