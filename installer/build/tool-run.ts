// Runs the packaging tools (dpkg-deb, rpmbuild, makensis, mingw-w64, strip, npm): a missing
// tool names the Debian package that brings it, a failing one shows what it printed.
import { spawnSync } from 'node:child_process';
import { MeerkatError } from '../../shared/errors.js';

export class PackageBuildError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_PACKAGE_BUILD';
  constructor(message: string) {
    super(message);
    this.name = 'PackageBuildError';
  }
}

/** the Debian package of each tool (scripts/setup.sh installs them) */
const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  'dpkg-deb': 'dpkg',
  rpmbuild: 'rpm',
  makensis: 'nsis',
  'x86_64-w64-mingw32-gcc': 'gcc-mingw-w64-x86-64-posix',
  'x86_64-w64-mingw32-dlltool': 'binutils-mingw-w64-x86-64',
  'x86_64-w64-mingw32-strip': 'binutils-mingw-w64-x86-64',
  gendef: 'mingw-w64-tools',
  strip: 'binutils',
  patchelf: 'patchelf',
  npm: 'npm (comes with node)',
};

export interface ToolOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
}

/** Runs `cmd args` to completion and returns its stdout; throws PackageBuildError on failure. */
export function runTool(cmd: string, args: readonly string[], o: ToolOptions = {}): string {
  const r = spawnSync(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, input: o.input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PackageBuildError(`${cmd} is not installed (Debian package ${TOOL_PACKAGES[cmd] ?? '?'}; scripts/setup.sh installs it)`);
    throw new PackageBuildError(`${cmd}: ${r.error.message}`);
  }
  if (r.status !== 0) {
    const out = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-40).join('\n');
    throw new PackageBuildError(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal}):\n${out}`);
  }
  return r.stdout;
}
