// The product version, from package.json at build time of this module's load.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './util/repo-paths.js';

export const MEERKAT_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();
