// Reading a callgrind run of node: instruction counts by function, with V8's generated code
// (which callgrind sees only as addresses) named through the perf map node writes with
// --perf-basic-prof, and every function put in a category (TurboFan,
// optimized JavaScript, baseline JavaScript, builtins and the interpreter, GC, parsing, SQLite,
// compression, libc, other). Pure: text in, numbers out (bench/instruction-profile.ts runs it).

/** One code object of node's perf map (/tmp/perf-PID.map): start, size, name. */
export interface PerfMapEntry {
  start: number;
  size: number;
  name: string;
}

export type InstructionCategory =
  | 'turbofan' | 'js-optimized' | 'js-baseline' | 'builtins' | 'gc' | 'parse-compile' | 'v8-other'
  | 'sqlite' | 'compression' | 'openssl' | 'libc' | 'jit-unnamed' | 'other';

export const CATEGORIES: readonly InstructionCategory[] = [
  'js-optimized', 'js-baseline', 'builtins', 'turbofan', 'parse-compile', 'gc', 'v8-other',
  'sqlite', 'compression', 'openssl', 'libc', 'jit-unnamed', 'other',
];

export interface FunctionCount {
  name: string;
  category: InstructionCategory;
  /** instructions executed in the function itself (callgrind's exclusive Ir) */
  ir: number;
}

export interface InstructionProfile {
  label: string;
  /** callgrind's program total (all threads) */
  total: number;
  categories: Record<InstructionCategory, number>;
  /** every function (or code object) that ran, largest first */
  functions: FunctionCount[];
}

/** Parses node's perf map; entries sorted by start (later lines win where code was reused). */
export function parsePerfMap(text: string): PerfMapEntry[] {
  const out: PerfMapEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]+) ([0-9a-fA-F]+) (.+)$/.exec(line.trim());
    if (m === null) continue;
    out.push({ start: parseInt(m[1]!, 16), size: parseInt(m[2]!, 16), name: m[3]! });
  }
  // stable: for equal starts, the later code object (the one that replaced the earlier) stays last
  return out.map((e, i) => ({ e, i })).sort((a, b) => a.e.start - b.e.start || a.i - b.i).map((x) => x.e);
}

/** The latest code object covering `addr`, or null. */
export function lookupPerfMap(map: readonly PerfMapEntry[], addr: number): PerfMapEntry | null {
  let lo = 0;
  let hi = map.length - 1;
  let at = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (map[mid]!.start <= addr) { at = mid; lo = mid + 1; } else hi = mid - 1;
  }
  // code objects do not overlap while alive, but a freed one's range can be reused: walk back
  // over the entries that start at or before addr; the first that covers it is the latest
  for (let i = at; i >= 0 && i >= at - 64; i--) {
    const e = map[i]!;
    if (addr < e.start + e.size) return e;
  }
  return null;
}

/** A perf-map name without its script URL: "JS:*add file:///x/chunk.js:2:5" -> "JS:*add chunk.js:2:5". */
export function shortJsName(name: string): string {
  return name.replace(/ (?:file|node):\/\/\S*\/([^/\s]+)$/, ' $1');
}

/** The category of a function by its name and object file ('[jit]' for V8's generated code). */
export function categorize(name: string, object: string): InstructionCategory {
  if (name.startsWith('JS:*')) return 'js-optimized';
  if (name.startsWith('JS:^') || name.startsWith('JS:~') || name.startsWith('JS:+')) return 'js-baseline';
  if (name.startsWith('Builtin:') || name.startsWith('BytecodeHandler:') || name.startsWith('Builtins_') ||
    name.startsWith('RegExp:')) return 'builtins';
  if (name === '(JIT code)') return 'jit-unnamed';
  if (/v8::internal::(compiler|maglev)::|turboshaft|OptimizingCompileDispatcher|TurbofanCompilationJob/.test(name)) return 'turbofan';
  if (/v8::internal::(Scavenger|ScavengerCollector|MarkCompact|MinorMarkCompact|Sweeper|Marking|MainMarking|ConcurrentMarking|IncrementalMarking|Evacuat|RememberedSet|SlotSet|ArrayBufferSweeper|GCTracer|LocalHeap|Heap::(Collect|Scavenge|MarkCompact|Perform|GarbageCollection))|heap::base::|BodyDescriptorBase::Iterate|IterateAndScavenge/.test(name)) return 'gc';
  if (/v8::internal::(Parser|ParserBase|PreParser|Scanner|Utf16CharacterStream|AstValueFactory|AstNodeFactory|Scope|DeclarationScope|interpreter::|Compiler::|CodeSerializer|Deserializer|BytecodeGenerator|baseline::|CalculateLineEnds|FuncNameInferrer)|std::find_if<unsigned short const\*, v8::internal::Utf16CharacterStream/.test(name)) return 'parse-compile';
  if (/^sqlite3|sqlite3\.|better_sqlite3|better-sqlite3/.test(name) || /better_sqlite3\.node/.test(object)) return 'sqlite';
  if (/^(Brotli|brotli|StoreCommands|EmitInsertLen|EmitCopyLen|EmitLiterals|deflate|inflate|crc32|adler32|longest_match|fill_window|compress_block|build_tree|send_tree|_tr_)/.test(name)) return 'compression';
  // node links OpenSSL in: its start-up initialization (the algorithm name map) shows here
  if (/^(ossl_|OPENSSL_|EVP_|CRYPTO_|ERR_|OBJ_|BIO_|X509|RAND_|PEM_|ASN1_|SSL_|lh_|sk_)/.test(name) || /libcrypto|libssl/.test(object)) return 'openssl';
  if (/v8::|node::|uv_|std::/.test(name)) return /v8::/.test(name) ? 'v8-other' : 'other';
  if (/libc\.so|libm\.so|ld-linux/.test(object)) return 'libc';
  return 'other';
}

/**
 * Reads a callgrind output file written with --dump-instr=yes --dump-line=no
 * --compress-strings=no --compress-pos=no, one line at a time (files run to tens of MB), and sums
 * each instruction's count under the code that holds it: V8's generated code by the perf map
 * entry covering the address, everything else by callgrind's function. Why by address: callgrind
 * files code entered by a jump (on-stack replacement: an optimized loop entered from the
 * interpreter) under the function that jumped, so its own function list shows a hot optimized
 * loop as the interpreter's entry trampoline.
 */
export class CallgrindReader {
  private readonly byName = new Map<string, FunctionCount>();
  private readonly categories = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<InstructionCategory, number>;
  private object = '';
  private fn = '';
  private afterCall = false;
  private total = 0;
  private counted = 0;
  private lastEntry: PerfMapEntry | null = null;
  /** counts per instruction address inside `keep`'s ranges (annotated listings) */
  readonly addressCounts = new Map<number, number>();

  constructor(private readonly perfMap: readonly PerfMapEntry[], private readonly keep: ReadonlyArray<readonly [number, number]> = []) {}

  line(l: string): void {
    const c = l.charCodeAt(0);
    if (c === 48 /* 0 */ && l.charCodeAt(1) === 120 /* x */) {
      // "0xADDR COUNT"; the line after calls= is that call's inclusive cost: not this function's
      if (this.afterCall) { this.afterCall = false; return; }
      const sp = l.indexOf(' ');
      if (sp < 0) return;
      const ir = Number(l.slice(sp + 1));
      if (!(ir > 0)) return;
      this.add(parseInt(l.slice(2, sp), 16), ir);
      return;
    }
    if (l.startsWith('fn=')) { this.fn = l.slice(3).replace(/'\d+$/, ''); return; }
    if (l.startsWith('ob=')) { this.object = l.slice(3); return; }
    if (l.startsWith('calls=')) { this.afterCall = true; return; }
    if (l.startsWith('summary:') || l.startsWith('totals:')) { this.total = Math.max(this.total, Number(l.slice(l.indexOf(':') + 1))); return; }
    if (l.startsWith('positions:') && !/^positions:\s*instr\s*$/.test(l)) {
      throw new Error(`callgrind file has "${l.trim()}": it must be written with --dump-instr=yes --dump-line=no`);
    }
  }

  private add(addr: number, ir: number): void {
    for (const [from, to] of this.keep) {
      if (addr >= from && addr < to) { this.addressCounts.set(addr, (this.addressCounts.get(addr) ?? 0) + ir); break; }
    }
    let e = this.lastEntry;
    if (e === null || addr < e.start || addr >= e.start + e.size) e = this.lastEntry = lookupPerfMap(this.perfMap, addr);
    let name: string;
    let object = this.object;
    if (e !== null) { name = shortJsName(e.name); object = '[jit]'; }
    else if (/^0x[0-9a-fA-F]+$/.test(this.fn)) name = '(JIT code)';
    else name = this.fn;
    this.counted += ir;
    const had = this.byName.get(name);
    if (had !== undefined) { had.ir += ir; this.categories[had.category] += ir; return; }
    const category = categorize(name, object);
    this.byName.set(name, { name, category, ir });
    this.categories[category] += ir;
  }

  result(label: string): InstructionProfile {
    if (this.counted === 0) throw new Error('no instruction counts in the callgrind file (was it written with --dump-instr=yes?)');
    const functions = [...this.byName.values()].sort((a, b) => b.ir - a.ir);
    return { label, total: this.total > 0 ? this.total : this.counted, categories: { ...this.categories }, functions };
  }
}

/** A whole callgrind file's text through CallgrindReader (tests, small files). */
export function readCallgrind(text: string, perfMap: readonly PerfMapEntry[], label: string): InstructionProfile {
  const r = new CallgrindReader(perfMap);
  for (const l of text.split('\n')) r.line(l);
  return r.result(label);
}

function fmt(n: number, unit: number, digits = 1): string {
  return (n / unit).toFixed(digits);
}

/** The profile as text: total, categories, the top functions (per packet too when `packets` > 0). */
export function formatProfile(p: InstructionProfile, top: number, packets = 0): string {
  const per = (n: number): string => (packets > 0 ? `  ${fmt(n, packets, 0).padStart(7)} /packet` : '');
  const lines = [`${p.label}: ${fmt(p.total, 1e9, 4)} G instructions (all threads)${packets > 0 ? `, ${packets} packets` : ''}`];
  const listed = CATEGORIES.reduce((a, c) => a + p.categories[c], 0);
  for (const c of CATEGORIES) {
    if (p.categories[c] === 0) continue;
    lines.push(`  ${c.padEnd(14)} ${fmt(p.categories[c], 1e6).padStart(9)} M  ${(100 * p.categories[c] / p.total).toFixed(1).padStart(5)} %${per(p.categories[c])}`);
  }
  if (p.total - listed > 0) lines.push(`  ${'(below listing)'.padEnd(14)} ${fmt(p.total - listed, 1e6).padStart(9)} M`);
  lines.push(`  top ${top} functions:`);
  for (const f of p.functions.slice(0, top)) {
    lines.push(`  ${fmt(f.ir, 1e6).padStart(9)} M  ${(100 * f.ir / p.total).toFixed(1).padStart(5)} %${per(f.ir)}  ${f.category.padEnd(13)} ${f.name}`);
  }
  return lines.join('\n');
}

/** "JS:*add chunk-NW4OK466.js:2:58885" -> "JS:*add chunk.js": the same function in another build. */
export function comparableName(name: string): string {
  return name.startsWith('JS:') ? name.replace(/-[A-Z0-9]{8}(\.[cm]?js)/, '$1').replace(/:\d+:\d+$/, '') : name;
}

/** B against A: totals, categories and the functions whose counts moved most. */
export function formatComparison(a: InstructionProfile, b: InstructionProfile, top: number): string {
  const d = (x: number, y: number): string => `${fmt(x, 1e6).padStart(9)} ${fmt(y, 1e6).padStart(9)} ${((y - x) >= 0 ? '+' : '') + fmt(y - x, 1e6)}`.padEnd(40);
  const pct = (x: number, y: number): string => (x > 0 ? `${((y / x - 1) * 100).toFixed(2)} %` : '');
  const lines = [`${a.label} -> ${b.label}: ${fmt(a.total, 1e9, 4)} G -> ${fmt(b.total, 1e9, 4)} G (${pct(a.total, b.total)})`,
    `  ${'category'.padEnd(14)} ${'A (M)'.padStart(9)} ${'B (M)'.padStart(9)} B - A`];
  for (const c of CATEGORIES) {
    if (a.categories[c] === 0 && b.categories[c] === 0) continue;
    lines.push(`  ${c.padEnd(14)} ${d(a.categories[c], b.categories[c])}`);
  }
  // generated code by function and file, without its position or the bundle's content hash:
  // both change from build to build
  const names = new Map<string, [number, number]>();
  for (const f of a.functions) { const k = comparableName(f.name); const v = names.get(k) ?? [0, 0]; v[0] += f.ir; names.set(k, v); }
  for (const f of b.functions) { const k = comparableName(f.name); const v = names.get(k) ?? [0, 0]; v[1] += f.ir; names.set(k, v); }
  const moved = [...names.entries()].sort((x, y) => Math.abs(y[1][1] - y[1][0]) - Math.abs(x[1][1] - x[1][0])).slice(0, top);
  lines.push(`  the ${moved.length} functions that moved most:`);
  for (const [name, [x, y]] of moved) lines.push(`  ${d(x, y)} ${name}`);
  return lines.join('\n');
}

/** One optimized version of a function as node prints it with --print-opt-code. */
export interface OptimizedCode {
  name: string;
  kind: string;
  /** where the function's source starts in its script (the positions below count from the script's start) */
  sourceStart: number;
  /** the function's source as printed ("--- Raw source ---") */
  source: string;
  instructions: Array<{ address: number; offset: number; text: string }>;
  /** pc offset -> script position, in pc order */
  positions: Array<[number, number]>;
}

/** The optimized code listings in node's --print-opt-code output (other text is skipped). */
export function parseOptimizedCode(text: string): OptimizedCode[] {
  const out: OptimizedCode[] = [];
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length) {
    if (lines[i] !== '--- Raw source ---') { i++; continue; }
    const src: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('--- Optimized code ---'); i++) src.push(lines[i]!);
    const code: OptimizedCode = { name: '', kind: '', sourceStart: 0, source: src.join('\n'), instructions: [], positions: [] };
    for (; i < lines.length && !lines[i]!.startsWith('--- End code ---'); i++) {
      const l = lines[i]!;
      let m: RegExpExecArray | null;
      if ((m = /^name = (.*)$/.exec(l)) !== null) code.name = m[1]!;
      else if ((m = /^kind = (.*)$/.exec(l)) !== null) code.kind = m[1]!;
      else if ((m = /^source_position = (\d+)$/.exec(l)) !== null) code.sourceStart = Number(m[1]);
      else if ((m = /^0x([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+(.*)$/.exec(l)) !== null) {
        code.instructions.push({ address: parseInt(m[1]!, 16), offset: parseInt(m[2]!, 16), text: m[3]!.trim() });
      } else if (l === 'Source positions:') {
        for (i += 2; i < lines.length && (m = /^\s+([0-9a-f]+)\s+(\d+)/.exec(lines[i]!)) !== null; i++) code.positions.push([parseInt(m[1]!, 16), Number(m[2])]);
        i--;
      }
    }
    if (code.instructions.length > 0) out.push(code);
  }
  return out;
}

/** Where one code listing lies: [first instruction, last instruction + 16). */
export function codeRange(c: OptimizedCode): [number, number] {
  return [c.instructions[0]!.address, c.instructions[c.instructions.length - 1]!.address + 16];
}

/**
 * The listing's hottest instructions with their counts and, where the source position falls
 * in the function's own text, that text (positions of inlined functions lie in other scripts:
 * shown as such).
 */
export function formatAnnotated(c: OptimizedCode, counts: ReadonlyMap<number, number>, top: number, packets = 0): string {
  let total = 0;
  for (const ins of c.instructions) total += counts.get(ins.address) ?? 0;
  const where = (offset: number): string => {
    let pos = -1;
    for (const [pc, p] of c.positions) { if (pc > offset) break; pos = p; }
    if (pos < 0) return '';
    const rel = pos - c.sourceStart;
    if (rel < 0 || rel >= c.source.length) return `(position ${pos}: inlined code)`;
    return c.source.slice(rel, rel + 48).replace(/\s+/g, ' ');
  };
  const per = (n: number): string => (packets > 0 ? ` ${(n / packets).toFixed(1).padStart(6)}/pkt` : '');
  const hot = c.instructions.filter((x) => (counts.get(x.address) ?? 0) > 0)
    .sort((a, b) => (counts.get(b.address) ?? 0) - (counts.get(a.address) ?? 0)).slice(0, top);
  const lines = [`${c.kind} ${c.name}: ${c.instructions.length} instructions of code, ${(total / 1e6).toFixed(1)} M executed${per(total)}`];
  for (const x of hot.sort((a, b) => a.offset - b.offset)) {
    const n = counts.get(x.address) ?? 0;
    lines.push(`  ${(n / 1e6).toFixed(2).padStart(8)} M${per(n)}  +${x.offset.toString(16).padStart(4, '0')}  ${x.text.padEnd(44).slice(0, 60)}  ${where(x.offset)}`);
  }
  return lines.join('\n');
}
