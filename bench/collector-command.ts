// How the benchmarks start meerkat-collector: through the package's launcher, which the build
// copies beside the bundle (dist/collector-bundle/meerkat-collector), with this node as the
// runtime, so the figure is what users get (the launcher's environment, e.g. the extra CA
// certificates it sets aside for `import`). An older build without that copy is started as its
// launcher started it then: node on the bundle, the environment as it is.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface CollectorCommand {
  argv: string[];
  env: NodeJS.ProcessEnv;
}

/** `meerkat-collector ARGS...` of the build in `repo` (a checkout with dist/ built). */
export function collectorCommand(repo: string, args: readonly string[]): CollectorCommand {
  const bundleDir = join(repo, 'dist', 'collector-bundle');
  const launcher = join(bundleDir, 'meerkat-collector');
  if (existsSync(launcher)) return { argv: [launcher, ...args], env: { ...process.env, MEERKAT_NODE: process.execPath } };
  return { argv: [process.execPath, join(bundleDir, 'meerkat-collector.js'), ...args], env: process.env };
}
