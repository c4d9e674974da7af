// Package sizes: every package of `npm run package`, built here with release compression
// (xz for .deb/.rpm, solid LZMA for setup.exe) into bench/out/packages, and the agent's
// installed size (what the .deb unpacks to: mostly the Node runtime).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../shared/util/repo-paths.js';
import { buildPackages, PACKAGE_KINDS, type BuiltPackage } from '../installer/build/build-packages.js';
import { runTool } from '../installer/build/tool-run.js';

export interface PackageSizes {
  packages: BuiltPackage[];
  /** Installed-Size of the agent .deb, in MB */
  agentInstalledMb: number;
}

export async function benchPackageSizes(outDir: string): Promise<PackageSizes> {
  const version = (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  const packages = await buildPackages({ version, outDir: join(outDir, 'packages'), kinds: PACKAGE_KINDS, compression: 'release' });
  const deb = packages.find((p) => p.kind === 'agent-deb')!;
  const kib = Number(runTool('dpkg-deb', ['-f', deb.file, 'Installed-Size']).trim());
  return { packages, agentInstalledMb: kib / 1024 };
}
