// meerkat-collector_<version>_amd64.deb: the collector as its esbuild bundle
// (scripts/bundle-collector.mjs: start-up is most of a short command's CPU), the console CLI
// (compiled modules), the web console's page bundle, their production
// npm dependencies (better-sqlite3 reduced to its built addon; cap, nan and the install-time
// prebuild-install tree left out), the Node runtime, a systemd unit and the maintainer scripts
// of installer/linux/collector/.
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { repoRoot } from '../../shared/util/repo-paths.js';
import { runtimeBinary } from './node-runtime.js';
import { copyInto, dir, link, put, putDocs, walk } from './staging.js';
import { buildDeb, type Compression } from './deb-package.js';
import { MAINTAINER } from './agent-tree.js';
import { PackageBuildError, runTool } from './tool-run.js';

const LIB = 'usr/lib/meerkat-collector';
/** packages the collector never loads: the agent's capture binding, and install-time tooling */
const LEFT_OUT = new Set(['cap', 'nan', 'prebuild-install']);

interface NpmTree { dependencies?: Record<string, NpmTree>; missing?: boolean }

/**
 * The compiled modules (paths from the checkout, dist/...) the entry points reach through
 * static and dynamic imports, by esbuild's resolver (nothing is bundled or written; npm
 * packages are left to node_modules).
 */
export async function programModules(entries: string[]): Promise<string[]> {
  const { build } = await import('esbuild');
  const r = await build({ entryPoints: entries, absWorkingDir: repoRoot(), bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', packages: 'external', logLevel: 'error', outdir: 'unused' });
  return Object.keys(r.metafile.inputs).filter((f) => f.startsWith('dist/')).sort();
}

/** Production packages the collector and console load (names as in node_modules/). */
export function collectorRuntimePackages(): string[] {
  const tree = JSON.parse(runTool('npm', ['ls', '--omit=dev', '--all', '--json'], { cwd: repoRoot() })) as NpmTree;
  const names = new Set<string>();
  const visit = (deps: Record<string, NpmTree> | undefined): void => {
    for (const [name, sub] of Object.entries(deps ?? {})) {
      // optional peers nobody installed (ws: bufferutil, utf-8-validate) are listed as missing
      if (LEFT_OUT.has(name) || names.has(name) || sub.missing || !existsSync(join(repoRoot(), 'node_modules', name))) continue;
      names.add(name);
      visit(sub.dependencies);
    }
  };
  visit(tree.dependencies);
  return [...names].sort();
}

function copyPackage(root: string, name: string): void {
  const src = join(repoRoot(), 'node_modules', name);
  const to = join(root, LIB, 'app', 'node_modules', name);
  if (name === 'better-sqlite3') {
    // the built addon and its JavaScript; not the SQLite sources and build tree (27 MB)
    for (const f of ['package.json', 'LICENSE']) copyInto(root, `${LIB}/app/node_modules/${name}/${f}`, join(src, f));
    cpSync(join(src, 'lib'), join(to, 'lib'), { recursive: true });
    copyInto(root, `${LIB}/app/node_modules/${name}/build/Release/better_sqlite3.node`, join(src, 'build', 'Release', 'better_sqlite3.node'));
    runTool('strip', ['--strip-unneeded', '--remove-section=.comment', '--remove-section=.note', join(to, 'build', 'Release', 'better_sqlite3.node')]);
    return;
  }
  // what a program loads: no tests, docs, development hooks or release scripts
  cpSync(src, to, { recursive: true, filter: (p) => !/[\\/](test|tests|docs|\.[^\\/]+)$/.test(p) && !/\.(md|map|sh)$/.test(p) });
}

export interface CollectorPackageOptions {
  version: string;
  outDir: string;
  workDir: string;
  compression: Compression;
}

export async function buildCollectorDeb(o: CollectorPackageOptions): Promise<string> {
  const repo = repoRoot();
  const dist = join(repo, 'dist');
  if (!existsSync(join(dist, 'collector-bundle', 'meerkat-collector.js'))) throw new PackageBuildError('dist/collector-bundle is missing: run npm run build first');
  const root = join(o.workDir, 'collector-root');
  rmSync(root, { recursive: true, force: true });
  try {
    dir(root, LIB);
    // the console CLI and every module it imports, found by following the imports
    for (const file of await programModules(['dist/console/cli.js'])) {
      copyInto(root, `${LIB}/app/${file.slice('dist/'.length)}`, join(repo, file));
    }
    // repoRoot() finds the app by this file, and the version in it
    put(root, `${LIB}/app/package.json`, JSON.stringify({ name: 'meerkat', version: o.version, type: 'module', private: true }, null, 2) + '\n');
    for (const name of collectorRuntimePackages()) copyPackage(root, name);
    // the collector's bundles, the chunks, the analyzer worker entry, the code-cache starter and their source maps (not meta.json: a build record)
    for (const name of collectorBundleFiles()) copyInto(root, `${LIB}/app/collector-bundle/${name}`, join(dist, 'collector-bundle', name));
    tidyApp(join(root, LIB, 'app'));
    // the web console's page bundle (scripts/build-console.mjs), served by the collector from app/console-web; after tidyApp, which drops .html
    if (!existsSync(join(dist, 'console-web', 'index.html'))) throw new PackageBuildError('dist/console-web is missing: run npm run build first');
    cpSync(join(dist, 'console-web'), join(root, LIB, 'app', 'console-web'), { recursive: true });
    copyInto(root, `${LIB}/node`, runtimeBinary('linux-x64'), 0o755);
    for (const program of ['meerkat-collector', 'meerkat']) {
      copyInto(root, `${LIB}/${program}`, join(repo, 'installer', 'linux', 'collector', 'meerkat-collector'), 0o755);
      link(root, `usr/bin/${program}`, `../lib/meerkat-collector/${program}`);
    }
    copyInto(root, 'lib/systemd/system/meerkat-collector.service', join(repo, 'installer', 'linux', 'collector', 'meerkat-collector.service'));
    put(root, 'usr/share/lintian/overrides/meerkat-collector', readFileSync(join(repo, 'installer', 'linux', 'collector', 'lintian-overrides'), 'utf8'));
    for (const page of ['meerkat-collector.1', 'meerkat.1']) {
      put(root, `usr/share/man/man1/${page}.gz`, gzipPage(join(repo, 'installer', 'linux', 'collector', page)));
    }
    putDocs(root, {
      name: 'meerkat-collector',
      version: o.version,
      maintainer: MAINTAINER,
      readme: readFileSync(join(repo, 'installer', 'README.md'), 'utf8'),
      thirdParty: [
        'Files: usr/lib/meerkat-collector/node\nCopyright: Node.js contributors\nLicense: MIT (https://github.com/nodejs/node/blob/main/LICENSE)',
        'Files: usr/lib/meerkat-collector/app/node_modules/*\nCopyright: the authors of each package (its LICENSE file)\nLicense: MIT, ISC, BSD-3-Clause or Apache-2.0 (each package names its own)',
      ],
    });
    const script = (n: string): string => readFileSync(join(repo, 'installer', 'linux', 'collector', n), 'utf8');
    return buildDeb({
      name: 'meerkat-collector',
      version: o.version,
      arch: 'amd64',
      maintainer: MAINTAINER,
      section: 'net',
      depends: ['libc6 (>= 2.28)', 'libstdc++6 (>= 5.2)', 'passwd'],
      summary: 'Meerkat collector: receives agent dumps, builds flows, alerts',
      description: [
        'Receives the dump files Meerkat agents ship over mutual TLS, builds bidirectional flows, stores them (SQLite by default), runs analyzers and alerts, and sends signed commands back to agents. Includes the meerkat console CLI.',
        'Runs as a systemd service under its own account; state in /var/lib/meerkat-collector. Set up a deployment with meerkat-collector init.',
      ],
      root,
      scripts: { postinst: script('postinst'), prerm: script('prerm'), postrm: script('postrm') },
      conffiles: [],
      outDir: o.outDir,
      compression: o.compression,
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * The files of dist/collector-bundle a package carries: the ES module bundle and its chunks, the
 * classic-script bundle and its code-cache starter (.cjs; collector/start/cached-start.ts), their
 * source maps.
 */
export function collectorBundleFiles(): string[] {
  return readdirSync(join(repoRoot(), 'dist', 'collector-bundle')).filter((n) => /\.c?js(\.map)?$/.test(n)).sort();
}

/**
 * What a package tree should be, whatever the npm tarballs held: plain 0644 files (their
 * executable bits mean nothing here: programs start through the launcher), no dot files
 * (.npmignore, .gitattributes), no HTML documentation pulling scripts from CDNs, and no
 * "#!/usr/bin/env node" naming a node the package does not depend on (a comment of the same
 * line count takes its place).
 */
function tidyApp(dir: string): void {
  for (const e of walk(dir)) {
    const p = join(dir, e.path);
    if (e.kind !== 'file') continue;
    const name = e.path.slice(e.path.lastIndexOf('/') + 1);
    if (name.startsWith('.') || name.endsWith('.html')) {
      rmSync(p);
      continue;
    }
    chmodSync(p, 0o644);
    if (name.endsWith('.js')) {
      const text = readFileSync(p, 'utf8');
      if (text.startsWith('#!')) writeFileSync(p, text.replace(/^#![^\n]*/, '// started by the package launcher'));
    }
  }
}

function gzipPage(file: string): Buffer {
  return gzipSync(readFileSync(file), { level: 9 });
}
