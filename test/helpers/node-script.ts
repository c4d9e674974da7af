// Arguments for running a helper script beside a test as a child `node` process:
// the .ts source under tsx when the test itself runs from source, the compiled
// .js when it runs from dist/ (what `npm test` does).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../../shared/util/repo-paths.js';

/** `relative` without extension, e.g. './fixtures/print-pseudonyms'; `from` is the caller's import.meta.url. */
export function nodeScriptArgs(relative: string, from: string): string[] {
  const ts = from.endsWith('.ts');
  const file = fileURLToPath(new URL(`${relative}.${ts ? 'ts' : 'js'}`, from));
  return ts ? ['--import', 'tsx', file] : [file];
}

const fromDist = !import.meta.url.endsWith('.ts');

/** `node ARGS` for a shipped bundle when this run is from dist/ and it is built, else for the entry module. */
function programArgs(bundle: string, entry: string): string[] {
  const file = join(repoRoot(), 'dist', bundle);
  return fromDist && existsSync(file) ? [file] : nodeScriptArgs(entry, import.meta.url);
}

/**
 * `meerkat-collector` as it ships (dist/collector-bundle, what the package and the bin run): it
 * starts in about half the time of the compiled modules, which the many collector starts of the
 * system tests add up. For tests about what the collector does; its entry module is tested as such.
 */
export function collectorProgramArgs(): string[] {
  return programArgs('collector-bundle/meerkat-collector.js', '../../collector/cli');
}

/** `meerkat-agent` as it ships (the bundle the launcher runs), with the node flags of the caller. */
export function agentProgramArgs(): string[] {
  return programArgs('agent-bundle/meerkat-agent.js', '../../agent/cli');
}

/**
 * The agent as it ships: the bundle's launcher in dist/agent-bundle (built by `npm run build`;
 * absent in a source-only run before any build). It runs `$MEERKAT_NODE` or the `node` in PATH.
 */
export function shippedAgentLauncher(): string {
  return join(repoRoot(), 'dist', 'agent-bundle', 'meerkat-agent');
}

/**
 * What the shipped launcher would exec for `args` (node flags, script, arguments), with `echo`
 * standing in for node. Profile and flag overrides come only from `env`.
 */
export function launcherCommandLine(args: string[], env: Record<string, string | undefined> = {}): { status: number | null; line: string; stderr: string } {
  const r = spawnSync(shippedAgentLauncher(), args, {
    encoding: 'utf8',
    env: { ...process.env, MEERKAT_NODE: 'echo', MEERKAT_AGENT_PROFILE: undefined, MEERKAT_NODE_FLAGS: undefined, ...env },
  });
  return { status: r.status, line: r.stdout.trim(), stderr: r.stderr };
}

/** The node flags the shipped launcher gives for `profile`: the benchmarks reuse its choice instead of a copy. */
export function launcherProfileFlags(profile: 'lean' | 'fast', subcommand = 'run'): string[] {
  const r = launcherCommandLine([subcommand], { MEERKAT_AGENT_PROFILE: profile });
  if (r.status !== 0) throw new Error(`the agent launcher failed (${r.status}): ${r.stderr}`);
  const words = r.line.split(/\s+/);
  const script = words.findIndex((w) => w.endsWith('meerkat-agent.js'));
  if (script < 0) throw new Error(`the agent launcher started no meerkat-agent.js: ${r.line}`);
  return words.slice(0, script);
}
