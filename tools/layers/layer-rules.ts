// The layers of the checkout and which may import which (docs/architecture.md explains them).
// A layer is a top-level folder. shared/ is the base: contracts and code every program uses,
// importing nothing of ours but itself. certs/ (the PKI) builds on shared/. The three programs
// build on both and never on each other. installer/ (the package builders) builds on both too;
// the console's `meerkat package agent` is the one program that loads it. test/, bench/, tools/ and scripts/ sit outside the
// rules: they may reach into every layer, and no layer may reach into them. Pure.
import { posix } from 'node:path';

/** Layers whose imports are checked, and the layers each may import (itself included). */
export const LAYER_IMPORTS: Readonly<Record<string, readonly string[]>> = {
  shared: ['shared'],
  certs: ['certs', 'shared'],
  agent: ['agent', 'shared', 'certs'],
  collector: ['collector', 'shared', 'certs'],
  console: ['console', 'shared', 'certs', 'installer'],
  installer: ['installer', 'shared', 'certs'],
};

export interface LayerViolation {
  /** importing file, relative to the checkout, with / separators */
  file: string;
  line: number;
  specifier: string;
  /** the imported file's layer ('(outside the checkout)' when the path leaves it) */
  target: string;
}

/** The layer a checkout-relative path belongs to: its first folder. */
export function layerOf(relPath: string): string {
  const slash = relPath.indexOf('/');
  return slash < 0 ? '' : relPath.slice(0, slash);
}

/**
 * Checks one reference of a checked file. Only paths are judged ("./x.js", "../shared/x.js");
 * packages and node: modules are not layers. Returns the violation, or undefined when allowed.
 */
export function checkReference(file: string, specifier: string, line: number): LayerViolation | undefined {
  const from = layerOf(file);
  const allowed = LAYER_IMPORTS[from];
  if (allowed === undefined) return undefined;
  if (!specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.startsWith('file:')) return undefined;
  if (specifier.startsWith('/') || specifier.startsWith('file:')) {
    return { file, line, specifier, target: '(an absolute path)' };
  }
  const resolved = posix.normalize(posix.join(posix.dirname(file), specifier));
  if (resolved === '..' || resolved.startsWith('../')) return { file, line, specifier, target: '(outside the checkout)' };
  const target = layerOf(resolved);
  return allowed.includes(target) ? undefined : { file, line, specifier, target: target === '' ? resolved : target };
}
