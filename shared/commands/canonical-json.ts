// Canonical JSON: the exact bytes an operator signs and an agent verifies. Keys sorted (UTF-16
// code unit order, as Array.prototype.sort), no whitespace, numbers in JavaScript's shortest
// round-trip form, properties whose value is undefined left out (they do not survive a JSON
// round trip either). Anything that JSON cannot carry faithfully is refused. Pure.
import { MeerkatError } from '../errors.js';

export class CanonicalJsonError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_CANONICAL_JSON';
  constructor(path: string, expected: string) {
    super(`cannot canonicalize ${path}: expected ${expected}`);
    this.name = 'CanonicalJsonError';
  }
}

const MAX_DEPTH = 32;

function write(v: unknown, path: string, depth: number, out: string[]): void {
  if (depth > MAX_DEPTH) throw new CanonicalJsonError(path, `at most ${MAX_DEPTH} levels of nesting`);
  if (v === null) { out.push('null'); return; }
  switch (typeof v) {
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return;
    case 'string':
      out.push(JSON.stringify(v));
      return;
    case 'number':
      if (!Number.isFinite(v)) throw new CanonicalJsonError(path, 'a finite number');
      out.push(JSON.stringify(Object.is(v, -0) ? 0 : v));
      return;
    case 'object': {
      if (Array.isArray(v)) {
        out.push('[');
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out.push(',');
          const item: unknown = v[i];
          if (item === undefined) throw new CanonicalJsonError(`${path}[${i}]`, 'a JSON value (not undefined)');
          write(item, `${path}[${i}]`, depth + 1, out);
        }
        out.push(']');
        return;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new CanonicalJsonError(path, 'a plain object');
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
      out.push('{');
      keys.forEach((k, i) => {
        if (i > 0) out.push(',');
        out.push(JSON.stringify(k), ':');
        write(obj[k], `${path}.${k}`, depth + 1, out);
      });
      out.push('}');
      return;
    }
    default:
      throw new CanonicalJsonError(path, `a JSON value, got ${typeof v}`);
  }
}

/** The canonical text of a JSON value. @throws CanonicalJsonError */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, '$', 0, out);
  return out.join('');
}
