#!/usr/bin/env node
// `npm run package`: every package of this checkout's version, built from dist/ (npm run build
// runs first) into build/packages/. Offline apart from the npm registry (the Node runtimes,
// fetched once into build/cache/) and Debian's packages (the tools, scripts/setup.sh).
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../shared/util/repo-paths.js';
import { runCli, UsageError } from '../../shared/cli/run-cli.js';
import { buildPackages, PACKAGE_KINDS, type PackageKind } from './build-packages.js';

interface Flags { out: string; only?: string[]; version?: string; fast: boolean; json: boolean }

const program = new Command('package')
  .description('build the Meerkat packages: agent .deb, .rpm and Windows setup.exe, collector .deb')
  .option('--out <dir>', 'output folder', join(repoRoot(), 'build', 'packages'))
  .addOption(new Option('--only <kind...>', 'build only these').choices([...PACKAGE_KINDS]))
  .option('--version <v>', 'package version (default: package.json)')
  .option('--fast', 'fast compression (gzip/zlib) instead of xz/lzma: same contents, bigger files', false)
  .option('--json', 'print what was built as JSON', false)
  .action(async (f: Flags) => {
    const version = f.version ?? (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
    if (!/^\d+\.\d+\.\d+(\.\d+)?$/.test(version)) throw new UsageError(`version ${JSON.stringify(version)}: expected N.N.N or N.N.N.N (valid for dpkg, rpm and Windows alike)`);
    const built = await buildPackages({
      version,
      outDir: f.out,
      kinds: (f.only ?? PACKAGE_KINDS) as PackageKind[],
      compression: f.fast ? 'fast' : 'release',
      say: (l) => process.stderr.write(`[package] ${l}\n`),
    });
    if (f.json) process.stdout.write(JSON.stringify(built, null, 2) + '\n');
    else for (const p of built) process.stdout.write(`${p.file}\t${(p.bytes / 1048576).toFixed(1)} MB\n`);
  });

await runCli(program);
