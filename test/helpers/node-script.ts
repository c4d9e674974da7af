// Arguments for running a helper script beside a test as a child `node` process:
// the .ts source under tsx when the test itself runs from source, the compiled
// .js when it runs from dist/ (what `npm test` does).
import { fileURLToPath } from 'node:url';

/** `relative` without extension, e.g. './fixtures/print-pseudonyms'; `from` is the caller's import.meta.url. */
export function nodeScriptArgs(relative: string, from: string): string[] {
  const ts = from.endsWith('.ts');
  const file = fileURLToPath(new URL(`${relative}.${ts ? 'ts' : 'js'}`, from));
  return ts ? ['--import', 'tsx', file] : [file];
}
