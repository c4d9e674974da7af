// After tsc: marks the three CLI entry points executable, and removes compiled files whose
// TypeScript source is gone (tsc never deletes; a stale test would otherwise keep running).
import { chmodSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

for (const f of ['dist/agent/cli.js', 'dist/collector/cli.js', 'dist/console/cli.js']) {
  if (existsSync(f)) chmodSync(f, 0o755);
}

function prune(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (p === join('dist', 'agent-bundle') || p === join('dist', 'collector-bundle') || p === join('dist', 'console-web')) continue; // bundles, not one .js per .ts
    if (e.isDirectory()) {
      prune(p);
      continue;
    }
    const m = /^(.*)\.js(\.map)?$/.exec(p);
    if (m && !existsSync(`${m[1].slice('dist/'.length)}.ts`)) rmSync(p);
  }
}
if (existsSync('dist')) prune('dist');

// the agent as it ships (a bundle and its launcher), from the files just compiled
await import('./bundle-agent.mjs');

// meerkat-collector as it ships (a bundle and its analyzer worker), from the same files
await import('./bundle-collector.mjs');

// the web console's page bundle (collector/web/console-front.ts serves it)
await import('./build-console.mjs');
