// Builds the agent as it ships: one ES module bundle (plus lazily loaded chunks for what a
// running agent rarely needs: enrollment, replay, certificate renewal) from the compiled
// dist/agent/cli.js, minified, into dist/agent-bundle/. Native addons stay outside (cap,
// better-sqlite3): they are resolved from node_modules beside or above the bundle.
//
// Why a bundle: the agent runs on every endpoint, and module loading is memory. Loading a
// few hundred files and their full libraries costs the agent ~4.5 MB of RSS that the bundle
// (one parse, tree-shaken libraries) does not (docs/agent-memory.md has the figures).
import { build } from 'esbuild';
import { chmodSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ESM_BUNDLE_OPTIONS } from './esm-bundle-options.mjs';

const out = 'dist/agent-bundle';

// pino's worker-thread transports: never used by the agent (sync stderr logging), and
// loading them costs node's worker machinery at start (scripts/bundle-stubs/ says why each
// stand-in is safe)
const pinoWithoutWorkers = {
  name: 'pino-without-workers',
  setup(b) {
    b.onResolve({ filter: /^thread-stream$/ }, () => ({ path: resolve('scripts/bundle-stubs/thread-stream.cjs') }));
    b.onResolve({ filter: /^(node:)?worker_threads$/ }, (a) =>
      /[\\/]node_modules[\\/]pino[\\/]/.test(a.importer) ? { path: resolve('scripts/bundle-stubs/pino-worker-threads.cjs') } : undefined);
  },
};

// commander's child_process: loaded on first use instead of at start (the stub says why)
const commanderLazyChildProcess = {
  name: 'commander-lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (a) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(a.importer) && !a.importer.endsWith('commander-child-process.cjs')
        ? { path: resolve('scripts/bundle-stubs/commander-child-process.cjs') } : undefined);
  },
};
rmSync(out, { recursive: true, force: true }); // chunk names carry content hashes: no stale ones
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const result = await build({
  entryPoints: { 'meerkat-agent': 'dist/agent/cli.js' },
  ...ESM_BUNDLE_OPTIONS,
  outdir: out,
  minify: true,
  // readable stack traces from the field: keep names, ship a map
  keepNames: true,
  sourcemap: 'linked',
  external: ['cap', 'better-sqlite3'],
  plugins: [pinoWithoutWorkers, commanderLazyChildProcess],
  define: { MEERKAT_BUNDLED_VERSION: JSON.stringify(version) },
});
writeFileSync(`${out}/meta.json`, JSON.stringify(result.metafile));
chmodSync(`${out}/meerkat-agent.js`, 0o755);
// the launcher with the service's process settings, beside the bundle as it is installed
copyFileSync('installer/linux/meerkat-agent', `${out}/meerkat-agent`);
chmodSync(`${out}/meerkat-agent`, 0o755);
