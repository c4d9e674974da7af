// The web console as it ships: console/web/src bundled by esbuild (preact + uPlot + the shared
// code the page uses) into dist/console-web/assets/app.js and app.css, index.html beside them;
// the collector serves that directory (collector/web/console-front.ts). Type-checked first
// with the browser's own tsconfig (DOM types; the root tsconfig leaves console/web out).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const out = 'dist/console-web';
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'console/web/tsconfig.json'], { stdio: 'inherit' });
rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}/assets`, { recursive: true });
await build({
  entryPoints: { app: 'console/web/src/main.tsx' },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  legalComments: 'linked',
  outdir: `${out}/assets`,
  logLevel: 'warning',
});
copyFileSync('console/web/index.html', `${out}/index.html`);
const js = readFileSync(`${out}/assets/app.js`);
if (process.env.MEERKAT_BUILD_QUIET !== '1') {
  console.log(`console bundle: app.js ${statSync(`${out}/assets/app.js`).size} B (${gzipSync(js).length} B gzip), app.css ${statSync(`${out}/assets/app.css`).size} B`);
}
