// Locates the checkout (folder with package.json named meerkat) from compiled or source files,
// and the reference material beside it (../shared).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function repoRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'meerkat') return (cached = dir);
      } catch { /* keep looking */ }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the meerkat checkout (package.json) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** ../shared/pcaps beside the checkout (reference captures). */
export function referencePcapsDir(): string {
  return resolve(repoRoot(), '..', 'shared', 'pcaps');
}
