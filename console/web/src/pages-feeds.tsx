// The organisation's threat-intel feeds (GET /v1/orgs/:org/feeds): per feed its file, what it
// lists and when it last loaded; a feed whose last reload failed shows the error beside its row
// (the collector keeps using the list it had). Everyone who may read alerts sees it.
import { get, orgPath } from './api.js';
import { ago, num } from './format.js';
import { useFetch } from './hooks.js';
import { Sev, Status } from './widgets.js';

interface Feed {
  name: string; file: string; format: string; kind: string; severity: string; response: string;
  counts: { prefixes: number; domains: number; ja4: number };
  loadedAt: string | null;
  lastError: { message: string; at: string } | null;
}

export function Feeds({ org }: { org: string }) {
  const l = useFetch(() => get<{ feeds: Feed[] }>(orgPath(org, '/feeds')), [org], 10_000);
  return (
    <Status l={l}>
      {(d) => d.feeds.length === 0 ? <p class="muted" data-testid="feeds-empty">No threat-intel feeds configured (a threat-intel analyzer's feeds in the collector's analysis config).</p> : (
        <table data-testid="feeds-table">
          <caption class="muted">Threat-intel feeds: re-read when their file changes; a reload that fails keeps the previous list.</caption>
          <thead><tr><th scope="col">feed</th><th scope="col">file</th><th scope="col">format</th><th scope="col">severity</th><th scope="col">response</th>
            <th scope="col">addresses / prefixes</th><th scope="col">domains</th><th scope="col">JA4</th><th scope="col">loaded</th><th scope="col">state</th></tr></thead>
          <tbody>{d.feeds.map((f) => (
            <tr key={f.name} data-testid="feed-row" class={f.lastError ? 'feed-failed' : undefined}>
              <th scope="row">{f.name}</th><td><code>{f.file}</code></td><td>{f.format}{f.kind !== 'auto' ? ` (${f.kind})` : ''}</td>
              <td><Sev s={f.severity} /></td><td>{f.response}</td>
              <td data-testid="feed-prefixes">{num(f.counts.prefixes)}</td><td data-testid="feed-domains">{num(f.counts.domains)}</td><td data-testid="feed-ja4">{num(f.counts.ja4)}</td>
              <td title={f.loadedAt ?? ''}>{ago(f.loadedAt)}</td>
              <td>{f.lastError
                ? <span class="error" role="alert" data-testid="feed-error">reload failed {ago(f.lastError.at)}: {f.lastError.message}{f.loadedAt ? ' (previous list in use)' : ' (nothing loaded)'}</span>
                : <span data-testid="feed-ok">ok</span>}</td>
            </tr>
          ))}</tbody>
        </table>
      )}
    </Status>
  );
}
