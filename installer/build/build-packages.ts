// Builds the packages of one release (or an organisation's agent packages) into one folder:
// the generic or organisation agent .deb / .rpm / setup.exe, and the collector .deb. Used by
// `npm run package` (package-cli.ts) and `meerkat package agent` (console/commands/package.ts).
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildAgentDeb, buildAgentRpm } from './linux-agent-packages.js';
import { buildAgentSetupExe } from './windows-agent-package.js';
import { buildCollectorDeb } from './collector-package.js';
import type { Compression } from './deb-package.js';
import type { OwnerPayload } from './owner-payload.js';

export const PACKAGE_KINDS = ['agent-deb', 'agent-rpm', 'agent-exe', 'collector-deb'] as const;
export type PackageKind = (typeof PACKAGE_KINDS)[number];

export interface BuildPackagesOptions {
  version: string;
  outDir: string;
  kinds: readonly PackageKind[];
  compression: Compression;
  owner?: OwnerPayload;
  /** progress lines (stderr in the CLIs) */
  say?: (line: string) => void;
}

export interface BuiltPackage {
  kind: PackageKind;
  file: string;
  bytes: number;
  seconds: number;
}

export async function buildPackages(o: BuildPackagesOptions): Promise<BuiltPackage[]> {
  mkdirSync(o.outDir, { recursive: true });
  const workDir = join(o.outDir, '.work');
  const base = { version: o.version, outDir: o.outDir, workDir, compression: o.compression, ...(o.owner ? { owner: o.owner } : {}) };
  const out: BuiltPackage[] = [];
  try {
    for (const kind of o.kinds) {
      const t0 = Date.now();
      o.say?.(`building ${kind} ${o.version}`);
      let file: string;
      switch (kind) {
        case 'agent-deb': file = buildAgentDeb(base); break;
        case 'agent-rpm': file = buildAgentRpm(base); break;
        case 'agent-exe': file = buildAgentSetupExe(base); break;
        case 'collector-deb': file = await buildCollectorDeb(base); break;
      }
      const p = { kind, file, bytes: statSync(file).size, seconds: (Date.now() - t0) / 1000 };
      o.say?.(`  ${file}: ${(p.bytes / 1048576).toFixed(1)} MB in ${p.seconds.toFixed(1)} s`);
      out.push(p);
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return out;
}
