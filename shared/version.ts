// The product version: stamped in by the agent bundle (scripts/bundle-agent.mjs defines
// MEERKAT_BUNDLED_VERSION, so an installed agent needs no package.json), else read from the
// checkout's package.json.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './util/repo-paths.js';

declare const MEERKAT_BUNDLED_VERSION: string | undefined;

export const MEERKAT_VERSION: string = (() => {
  if (typeof MEERKAT_BUNDLED_VERSION === 'string') return MEERKAT_BUNDLED_VERSION;
  try {
    return (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();
