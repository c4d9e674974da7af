// Reading the services' JSON log lines strictly: every line must be one JSON object and no
// object in it may carry a key twice (JSON.parse silently keeps the last of a repeated key,
// and log shippers disagree on which one wins).

/** Keys that occur more than once in one object of `text` (text must be valid JSON). */
export function duplicateKeys(text: string): string[] {
  const dups: string[] = [];
  const stack: Array<Set<string> | null> = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const token = text.slice(i, j + 1);
      let k = j + 1;
      while (k < text.length && /\s/.test(text[k]!)) k++;
      const keys = stack[stack.length - 1];
      if (text[k] === ':' && keys) {
        const key = JSON.parse(token) as string;
        if (keys.has(key)) dups.push(key);
        keys.add(key);
      }
      i = j + 1;
      continue;
    }
    if (c === '{') stack.push(new Set());
    else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
    i++;
  }
  return dups;
}

/**
 * The log lines of a service's stderr as objects; throws naming the line when one is not a
 * JSON object or repeats a key. Lines that do not start with "{" (a CLI's own error text) are
 * returned in `other`.
 */
export function strictLogLines(stderr: string): { lines: Array<Record<string, unknown>>; other: string[] } {
  const lines: Array<Record<string, unknown>> = [];
  const other: string[] = [];
  for (const line of stderr.split('\n')) {
    if (line.trim() === '') continue;
    if (!line.startsWith('{')) {
      other.push(line);
      continue;
    }
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new Error(`log line is not JSON (${(e as Error).message}): ${line}`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`log line is not a JSON object: ${line}`);
    const d = duplicateKeys(line);
    if (d.length > 0) throw new Error(`log line repeats key(s) ${d.join(', ')}: ${line}`);
    lines.push(v as Record<string, unknown>);
  }
  return { lines, other };
}
