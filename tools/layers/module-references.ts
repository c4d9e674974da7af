// Finds every module a TypeScript or JavaScript source names: imports and re-exports (type-only
// ones included), side-effect imports, dynamic import() and import types, require(), and
// `new URL('...', import.meta.url)` (how a worker script is named). A small tokenizer skips
// comments, the text of strings and templates, and regular expressions, so an import written
// inside a comment or a string is not counted. Specifiers that are not string literals (a
// computed import(path)) cannot be known from the text and are not reported. Pure.

export type ReferenceKind = 'import' | 'export' | 'dynamic' | 'require' | 'url';

export interface ModuleReference {
  specifier: string;
  kind: ReferenceKind;
  /** 1-based line of the specifier */
  line: number;
}

interface Token {
  type: 'name' | 'string' | 'punct' | 'other';
  value: string;
  line: number;
}

/** Words after which a `/` starts a regular expression rather than a division. */
const EXPRESSION_KEYWORDS = new Set([
  'return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await',
]);

const isIdentStart = (c: string): boolean => /[A-Za-z_$]/.test(c) || c.charCodeAt(0) > 0x7f;
const isIdentPart = (c: string): boolean => /[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) > 0x7f;

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let depth = 0;
  // brace depth at which each open template substitution `${` started
  const substitutions: number[] = [];

  const regexMayStart = (): boolean => {
    const prev = tokens[tokens.length - 1];
    if (prev === undefined) return true;
    if (prev.type === 'punct') return prev.value !== ')' && prev.value !== ']' && prev.value !== '}';
    if (prev.type === 'name') return EXPRESSION_KEYWORDS.has(prev.value);
    return false;
  };

  // reads template text from i (just after ` or after the } closing a substitution)
  const readTemplate = (): void => {
    while (i < src.length) {
      const c = src[i]!;
      if (c === '\\') { if (src[i + 1] === '\n') line++; i += 2; continue; }
      if (c === '\n') line++;
      if (c === '`') { i++; tokens.push({ type: 'other', value: '`', line }); return; }
      if (c === '$' && src[i + 1] === '{') {
        i += 2;
        substitutions.push(depth);
        tokens.push({ type: 'punct', value: '${', line });
        return;
      }
      i++;
    }
  };

  while (i < src.length) {
    const c = src[i]!;
    const next = src[i + 1];
    if (c === '\n') { line++; i++; continue; }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v' || c === '\ufeff' || c === '\u00a0') { i++; continue; }
    if (c === '/' && next === '/') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? src.length : end + 2;
      for (let k = i; k < stop; k++) if (src[k] === '\n') line++;
      i = stop;
      continue;
    }
    if (c === '"' || c === "'") {
      const startLine = line;
      let value = '';
      i++;
      while (i < src.length && src[i] !== c && src[i] !== '\n') {
        if (src[i] === '\\') {
          if (src[i + 1] === '\n') line++;
          value += src.slice(i, i + 2);
          i += 2;
          continue;
        }
        value += src[i];
        i++;
      }
      i++;
      tokens.push({ type: 'string', value, line: startLine });
      continue;
    }
    if (c === '`') {
      i++;
      readTemplate();
      continue;
    }
    if (c === '}' && substitutions.length > 0 && substitutions[substitutions.length - 1] === depth) {
      substitutions.pop();
      i++;
      readTemplate();
      continue;
    }
    if (c === '/' && regexMayStart()) {
      let inClass = false;
      i++;
      while (i < src.length && src[i] !== '\n') {
        const r = src[i]!;
        if (r === '\\') { i += 2; continue; }
        if (r === '[') inClass = true;
        else if (r === ']') inClass = false;
        else if (r === '/' && !inClass) break;
        i++;
      }
      i++;
      while (i < src.length && isIdentPart(src[i]!)) i++; // flags
      tokens.push({ type: 'other', value: '/re/', line });
      continue;
    }
    if (isIdentStart(c)) {
      const start = i;
      while (i < src.length && isIdentPart(src[i]!)) i++;
      tokens.push({ type: 'name', value: src.slice(start, i), line });
      continue;
    }
    if (c >= '0' && c <= '9') {
      while (i < src.length && /[0-9A-Za-z_.]/.test(src[i]!)) i++;
      tokens.push({ type: 'other', value: '0', line });
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}') depth--;
    tokens.push({ type: 'punct', value: c, line });
    i++;
  }
  return tokens;
}

const isPunct = (t: Token | undefined, value: string): boolean => t !== undefined && t.type === 'punct' && t.value === value;
const isName = (t: Token | undefined, value: string): boolean => t !== undefined && t.type === 'name' && t.value === value;

/**
 * The `from 'x'` that ends an import or export clause starting at token j, if the tokens up to
 * it can form a clause (names, braces, commas, `*`); anything else (`=`, `(`, `:`) means the
 * statement is not a module reference (`export const`, `import x = require(...)`).
 */
function clauseSource(tokens: readonly Token[], j: number): Token | undefined {
  for (let k = j; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.type === 'name') {
      if (t.value === 'from' && tokens[k + 1]?.type === 'string') return tokens[k + 1];
      continue;
    }
    if (t.type === 'punct' && (t.value === '{' || t.value === '}' || t.value === ',' || t.value === '*')) continue;
    return undefined;
  }
  return undefined;
}

/** Every module the source names with a literal specifier, in source order. */
export function moduleReferences(source: string): ModuleReference[] {
  const tokens = tokenize(source);
  const refs: ModuleReference[] = [];
  const add = (t: Token | undefined, kind: ReferenceKind): void => {
    if (t !== undefined && t.type === 'string') refs.push({ specifier: t.value, kind, line: t.line });
  };
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.type !== 'name' || isPunct(tokens[k - 1], '.')) continue; // a member (x.import) is not a keyword
    const next = tokens[k + 1];
    if (t.value === 'import') {
      if (isPunct(next, '(')) add(tokens[k + 2], 'dynamic');
      else if (next?.type === 'string') add(next, 'import');
      else if (!isPunct(next, '.')) add(clauseSource(tokens, k + 1), 'import'); // not import.meta
    } else if (t.value === 'export') {
      add(clauseSource(tokens, k + 1), 'export');
    } else if (t.value === 'require' && isPunct(next, '(') && isPunct(tokens[k + 3], ')')) {
      add(tokens[k + 2], 'require');
    } else if (t.value === 'URL' && isName(tokens[k - 1], 'new') && isPunct(next, '(') && isPunct(tokens[k + 3], ',')
      && isName(tokens[k + 4], 'import') && isPunct(tokens[k + 5], '.') && isName(tokens[k + 6], 'meta')) {
      add(tokens[k + 2], 'url');
    }
  }
  return refs;
}
