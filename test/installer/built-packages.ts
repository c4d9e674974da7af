// Test helper: the packages of this checkout, built once per test process with the real
// builders (installer/build/) and fast compression (same contents, seconds instead of minutes),
// in a temporary folder removed when the process exits. Under scripts/run-tests.mjs the
// packages without an owner payload are also kept for the rest of the run in the folder
// $MEERKAT_TEST_PACKAGES, so a file in another worker or phase finds what an earlier one built
// (the same checkout, the same build, so the same package). What the tools needed are missing
// is said by packagingToolsMissing(), for the tests' skip reasons.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { repoRoot } from '../../shared/util/repo-paths.js';
import { buildPackages, type BuiltPackage, type PackageKind } from '../../installer/build/build-packages.js';
import type { OwnerPayload } from '../../installer/build/owner-payload.js';

let dir: string | undefined;
const built = new Map<string, Promise<BuiltPackage>>();

function outDir(): string {
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-packages-'));
    const d = dir;
    process.on('exit', () => rmSync(d, { recursive: true, force: true }));
  }
  return dir;
}

export function checkoutVersion(): string {
  return (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** One package, built on first use (per kind and version; an owner payload gets its own folder). */
export function builtPackage(kind: PackageKind, version = checkoutVersion(), owner?: OwnerPayload, tag = owner ? 'org' : 'generic'): Promise<BuiltPackage> {
  const key = `${kind}/${version}/${tag}`;
  let p = built.get(key);
  if (!p) {
    const build = (): Promise<BuiltPackage> =>
      buildPackages({ version, outDir: join(outDir(), tag, version), kinds: [kind], compression: 'fast', ...(owner ? { owner } : {}) }).then((r) => r[0]!);
    p = owner ? build() : sharedPackage(key, build);
    built.set(key, p);
  }
  return p;
}

/**
 * A generic package from this run's shared folder, or built and put there. Two processes that
 * miss at the same time both build; the first rename wins and the other keeps its own copy.
 */
async function sharedPackage(key: string, build: () => Promise<BuiltPackage>): Promise<BuiltPackage> {
  const shared = process.env.MEERKAT_TEST_PACKAGES;
  if (!shared) return build();
  const slot = join(shared, key);
  const meta = join(slot, 'package.json');
  if (existsSync(meta)) return JSON.parse(readFileSync(meta, 'utf8')) as BuiltPackage;
  const mine = await build();
  const name = basename(mine.file);
  const staging = `${slot}.${process.pid}`;
  mkdirSync(staging, { recursive: true });
  renameSync(mine.file, join(staging, name));
  const p: BuiltPackage = { ...mine, file: join(slot, name) };
  writeFileSync(join(staging, 'package.json'), JSON.stringify(p));
  try {
    renameSync(staging, slot);
    return p;
  } catch {
    // another process got there first: keep using the one we built, from where it lies
    return { ...mine, file: join(staging, name) };
  }
}

/** Tools a package kind needs that are not installed here (empty: all there). */
export function packagingToolsMissing(kinds: readonly PackageKind[]): string[] {
  const tools = new Set<string>(['strip', 'tar']);
  for (const k of kinds) {
    if (k === 'agent-deb' || k === 'collector-deb') tools.add('dpkg-deb');
    if (k === 'agent-rpm') ['rpmbuild', 'patchelf'].forEach((t) => tools.add(t));
    if (k === 'agent-exe') ['makensis', 'x86_64-w64-mingw32-gcc', 'x86_64-w64-mingw32-dlltool', 'gendef'].forEach((t) => tools.add(t));
  }
  const missing = [...tools].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (!existsSync(join(repoRoot(), 'dist', 'agent-bundle', 'meerkat-agent.js'))) missing.push('the agent bundle (npm run build)');
  return missing;
}

/** Runs a command to completion; throws with its output when it fails. */
export function must(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
