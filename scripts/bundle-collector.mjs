// Builds meerkat-collector as it ships: one ES module bundle with lazily loaded chunks (the
// server and the admin API are loaded only by `run`) from the compiled dist/collector/cli.js,
// plus the analyzer worker as a second entry point (collector/analyze/analyzer-pool.ts starts
// it by URL beside itself), minified, into dist/collector-bundle/. better-sqlite3 and pg stay
// outside (a native addon; pg's optional native half): they are resolved from node_modules
// beside or above the bundle, as are the packages required at run time by name (cli-progress).
// The same program again as one classic script, with the starter that compiles it through a V8
// code cache (collector/start/cached-start.ts): what the launcher runs for all but `run`.
//
// Why a bundle: start-up is a large share of a short command (an import, a token, a user):
// loading ~470 modules one by one costs ~0.6 s of CPU, the bundle ~0.25 s
// (docs/benchmarks.md has the figures).
import { build } from 'esbuild';
import { chmodSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ESM_BUNDLE_OPTIONS } from './esm-bundle-options.mjs';

// zod's locales other than English: never selected (scripts/bundle-stubs/zod-locales.mjs)
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (a) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(a.importer) ? { path: resolve('scripts/bundle-stubs/zod-locales.mjs') } : undefined);
  },
};

// JSON modules (the shipped DGA model, ~215 KB) as one JSON.parse of a string instead of an
// object literal: V8 scans a string and parses JSON faster than it compiles and runs a literal
// of that size (~15 ms against ~35 ms of every start that loads the analyzers); the same value
const jsonAsParse = {
  name: 'json-as-parse',
  setup(b) {
    b.onLoad({ filter: /\.json$/ }, (a) => ({
      contents: `export default JSON.parse(${JSON.stringify(JSON.stringify(JSON.parse(readFileSync(a.path, 'utf8'))))});`,
      loader: 'js',
    }));
  },
};

const out = 'dist/collector-bundle';
rmSync(out, { recursive: true, force: true }); // chunk names carry content hashes: no stale ones
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const result = await build({
  entryPoints: { 'meerkat-collector': 'dist/collector/cli.js', 'analyzer-worker': 'dist/collector/analyze/analyzer-worker.js' },
  ...ESM_BUNDLE_OPTIONS,
  outdir: out,
  // readable stack traces from a server's log without esbuild's keepNames (a call per function
  // and class at start-up): identifiers are not renamed; a map ships beside
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  external: ['better-sqlite3', 'pg-native'],
  plugins: [zodEnglishOnly, jsonAsParse],
  define: {
    MEERKAT_BUNDLED_VERSION: JSON.stringify(version),
    // the web console's page bundle, from this folder: dist/console-web in a checkout, app/console-web in the package
    MEERKAT_BUNDLED_CONSOLE_ASSETS: JSON.stringify('../console-web'),
  },
});
writeFileSync(`${out}/meta.json`, JSON.stringify(result.metafile));

// The same program as one classic script (CommonJS, no chunks: a dynamic import() becomes a
// lazily run module initializer), which collector/start/cached-start.ts compiles with a V8 code
// cache (node 20 has none for ES modules); import.meta.url is a parameter of its wrapper. The
// ES module bundle above stays: `run` and the analyzer worker start from it.
const classicScript = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  outdir: out,
  outExtension: { '.js': '.cjs' },
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
};
await build({
  ...classicScript,
  entryPoints: { 'meerkat-collector': 'dist/collector/cli.js' },
  sourcemap: 'linked',
  external: ['better-sqlite3', 'pg-native'],
  plugins: [zodEnglishOnly, jsonAsParse],
  // import() of a package outside (better-sqlite3) as require(): a vm.Script has no module loader
  supported: { 'dynamic-import': false },
  define: {
    MEERKAT_BUNDLED_VERSION: JSON.stringify(version),
    MEERKAT_BUNDLED_CONSOLE_ASSETS: JSON.stringify('../console-web'),
    'import.meta.url': '__meerkatImportMetaUrl',
  },
});
// the wrapper puts the source inside a function: its "#!" line becomes a comment (the same lines for the map)
const cjs = `${out}/meerkat-collector.cjs`;
writeFileSync(cjs, readFileSync(cjs, 'utf8').replace(/^#!/, '//'));
// the starter the launcher runs (it imports the ES module bundle when it cannot cache)
await build({ ...classicScript, entryPoints: { 'meerkat-collector-start': 'dist/collector/start/cached-start.js' } });
chmodSync(`${out}/meerkat-collector.js`, 0o755);
// the package's launcher beside the bundle: the benchmarks start the collector as users do
copyFileSync('installer/linux/collector/meerkat-collector', `${out}/meerkat-collector`);
chmodSync(`${out}/meerkat-collector`, 0o755);
