// The features the DGA classifier reads from a domain name (docs/analyzers.md "DGA"): of the
// registrable label ("example" of www.example.co.uk; the public suffix list through tldts,
// dynamic-DNS suffixes included): length, character entropy, vowel / digit / rare-letter
// ratios, longest consonant run, vowel-consonant alternation, distinct characters, hyphens;
// character n-gram log-likelihoods under a model of benign names and dictionary words
// (bigram mean and minimum, trigram mean) and their log-likelihood ratio against a model of
// DGA names (bigram, trigram); dictionary coverage (share of letters inside
// dictionary words, longest word); the TLD's log-frequency among benign names; and the number
// of labels above the registrable domain. Pure given the lexicon (the n-gram counts, words and
// TLD counts that travel in the model file).
import { parse } from 'tldts';

export const FEATURE_NAMES = [
  'length', 'entropy', 'vowelRatio', 'digitRatio', 'maxConsonantRun', 'hyphens', 'distinctRatio',
  'bigramMean', 'bigramMin', 'trigramMean', 'dictCoverage', 'longestWordRatio', 'tldLogFreq', 'rareLetterRatio',
  'alternation', 'subdomainLabels', 'bigramLlr', 'trigramLlr',
] as const;

export const FEATURE_COUNT = FEATURE_NAMES.length;

/** a-z 0-25, 0-9 26-35, '-' 36, start 37, end 38 */
export const SYMBOLS = 39;
const START = 37;
const END = 38;
const SMOOTH = 0.5;
/** TLD counts come from few names: heavy smoothing, so a TLD seen once or never weighs the same */
const TLD_SMOOTH = 5;
const MIN_WORD = 3;
const MAX_WORD = 14;

function symbol(c: number): number {
  if (c >= 97 && c <= 122) return c - 97;
  if (c >= 48 && c <= 57) return c - 48 + 26;
  return 36; // '-' and '_' (anything else never gets here: labels are LDH)
}

/** What the n-gram and dictionary features are computed against (built from benign names + words). */
export interface Lexicon {
  /** bigram counts, SYMBOLS x SYMBOLS, row = previous symbol */
  bigrams: number[];
  /** trigram counts by their three symbols' text ("^ab", "xy$", ...) */
  trigrams: Record<string, number>;
  words: string[];
  /** benign names per TLD (public suffix) */
  tlds: Record<string, number>;
  /** n-gram counts of DGA training names (for the likelihood ratio) */
  dgaBigrams: number[];
  dgaTrigrams: Record<string, number>;
}

/** Smoothed n-gram log-probabilities of one set of counts. */
class NgramModel {
  private readonly bigramLogp: Float64Array;

  constructor(private readonly bigrams: readonly number[], private readonly trigrams: ReadonlyMap<string, number>) {
    if (bigrams.length !== SYMBOLS * SYMBOLS) throw new RangeError(`bigram table has ${bigrams.length} counts, expected ${SYMBOLS * SYMBOLS}`);
    const rowTotal = new Float64Array(SYMBOLS);
    for (let i = 0; i < SYMBOLS; i++) for (let j = 0; j < SYMBOLS; j++) rowTotal[i]! += bigrams[i * SYMBOLS + j]!;
    this.bigramLogp = new Float64Array(SYMBOLS * SYMBOLS);
    for (let i = 0; i < SYMBOLS; i++) {
      for (let j = 0; j < SYMBOLS; j++) this.bigramLogp[i * SYMBOLS + j] = Math.log((bigrams[i * SYMBOLS + j]! + SMOOTH) / (rowTotal[i]! + SMOOTH * SYMBOLS));
    }
  }

  bigram(prev: number, next: number): number {
    return this.bigramLogp[prev * SYMBOLS + next]!;
  }

  /** log p(c | a b) with add-k smoothing over the bigram (a b) count */
  trigram(key: string, a: number, b: number): number {
    return Math.log(((this.trigrams.get(key) ?? 0) + SMOOTH) / (this.bigrams[a * SYMBOLS + b]! + SMOOTH * SYMBOLS));
  }
}

/** The lexicon in the form the features read quickly. */
export class CompiledLexicon {
  readonly benign: NgramModel;
  readonly dga: NgramModel;
  private readonly words: Set<string>;
  private readonly tlds: Map<string, number>;
  private readonly tldTotal: number;

  constructor(readonly lexicon: Lexicon) {
    this.benign = new NgramModel(lexicon.bigrams, new Map(Object.entries(lexicon.trigrams)));
    this.dga = new NgramModel(lexicon.dgaBigrams, new Map(Object.entries(lexicon.dgaTrigrams)));
    this.words = new Set(lexicon.words);
    this.tlds = new Map(Object.entries(lexicon.tlds));
    let t = 0;
    for (const v of this.tlds.values()) t += v;
    this.tldTotal = t;
  }

  isWord(w: string): boolean {
    return this.words.has(w);
  }

  tldLogFreq(tld: string): number {
    return Math.log(((this.tlds.get(tld) ?? 0) + TLD_SMOOTH) / (this.tldTotal + TLD_SMOOTH * (this.tlds.size + 1)));
  }
}

/** The parts of a name the features read, or null when it has no registrable label to judge. */
export interface NameParts {
  label: string;
  suffix: string;
  subdomainLabels: number;
}

/** special-use and customary internal top-level names (the agent's internal suffixes): never judged */
const INTERNAL_TLDS = new Set(['local', 'localdomain', 'lan', 'internal', 'intranet', 'corp', 'home', 'private', 'localhost', 'test', 'invalid', 'example']);

/**
 * Shared domains of dynamic-DNS services under which anyone registers a name, that the public
 * suffix list does not list (FreeDNS / afraid.org's best known): the name below them is the
 * registrable one (malware has used them for its generated names).
 */
const SHARED_DDNS = new Set(['mooo.com', 'yi.org', 'us.to', 'chickenkiller.com', 'crabdance.com', 'jumpingcrab.com', 'strangled.net',
  'twilightparadox.com', 'ignorelist.com', 'ftp.sh', 'info.tm', 'dynserv.com']);

/**
 * The registrable label of a name, or null: a single label, an internal top-level name, an IP
 * address, a reverse-lookup name, an IDN label (xn--: punycode looks random by design) or a
 * pseudonym token (mk--). A top-level name the public suffix list does not know (.bit) counts
 * as a suffix of one label.
 */
export function nameParts(name: string): NameParts | null {
  const n = name.endsWith('.') ? name.slice(0, -1).toLowerCase() : name.toLowerCase();
  if (n.endsWith('.arpa') || n.length === 0 || n.length > 253) return null;
  const p = parse(n, { allowPrivateDomains: true });
  if (p.isIp || p.domainWithoutSuffix === null || p.domainWithoutSuffix === '' || p.publicSuffix === null || INTERNAL_TLDS.has(p.publicSuffix)) return null;
  let label = p.domainWithoutSuffix;
  let suffix = p.publicSuffix;
  let sub = p.subdomain ? p.subdomain.split('.') : [];
  if (p.domain !== null && SHARED_DDNS.has(p.domain) && sub.length > 0) {
    label = sub[sub.length - 1]!;
    suffix = p.domain;
    sub = sub.slice(0, -1);
  }
  if (label.startsWith('xn--') || label.startsWith('mk--') || !/^[a-z0-9_-]+$/.test(label)) return null;
  return { label, suffix, subdomainLabels: sub.length };
}

/** Adds a word or label to the n-gram counts (with start and end symbols). */
export function countNgrams(text: string, bigrams: number[], trigrams: Record<string, number>): void {
  let a = START;
  let b = START;
  let prevKey = '^';
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? symbol(text.charCodeAt(i)) : END;
    bigrams[b * SYMBOLS + c]!++;
    const ch = i < text.length ? text[i]! : '$';
    if (i > 0) {
      const key = prevKey + ch;
      trigrams[key] = (trigrams[key] ?? 0) + 1;
    }
    prevKey = (i === 0 ? '^' : text[i - 1]!) + ch;
    a = b;
    b = c;
  }
  void a;
}

const VOWELS = new Set('aeiou');
const RARE = new Set('jqxz');

/** The feature vector of a name's parts (FEATURE_NAMES order). */
export function nameFeatures(p: NameParts, lex: CompiledLexicon, out: Float64Array = new Float64Array(FEATURE_COUNT)): Float64Array {
  const s = p.label;
  const n = s.length;
  const counts = new Map<string, number>();
  let vowels = 0, digits = 0, letters = 0, rare = 0, hyphens = 0, run = 0, maxRun = 0, switches = 0;
  let prevVowel: boolean | null = null;
  for (let i = 0; i < n; i++) {
    const ch = s[i]!;
    counts.set(ch, (counts.get(ch) ?? 0) + 1);
    const code = s.charCodeAt(i);
    if (code >= 48 && code <= 57) { digits++; run = 0; prevVowel = null; continue; }
    if (ch === '-' || ch === '_') { hyphens++; run = 0; prevVowel = null; continue; }
    letters++;
    if (RARE.has(ch)) rare++;
    const v = VOWELS.has(ch);
    if (v) { vowels++; run = 0; } else if (++run > maxRun) maxRun = run;
    if (prevVowel !== null && prevVowel !== v) switches++;
    prevVowel = v;
  }
  let entropy = 0;
  for (const c of counts.values()) {
    const q = c / n;
    entropy -= q * Math.log2(q);
  }
  // n-grams over ^label$
  let bSum = 0, bMin = 0, tSum = 0, bDga = 0, tDga = 0;
  let a = START, b = START;
  let prev2 = '^';
  for (let i = 0; i <= n; i++) {
    const c = i < n ? symbol(s.charCodeAt(i)) : END;
    const lp = lex.benign.bigram(b, c);
    bSum += lp;
    bDga += lex.dga.bigram(b, c);
    if (i === 0 || lp < bMin) bMin = lp;
    const ch = i < n ? s[i]! : '$';
    if (i > 0) {
      tSum += lex.benign.trigram(prev2 + ch, a, b);
      tDga += lex.dga.trigram(prev2 + ch, a, b);
    }
    prev2 = (i === 0 ? '^' : s[i - 1]!) + ch;
    a = b;
    b = c;
  }
  // dictionary coverage: most letters inside non-overlapping words (dynamic programming)
  const best = new Int32Array(n + 1);
  let longest = 0;
  for (let i = 1; i <= n; i++) {
    best[i] = best[i - 1]!;
    for (let len = MIN_WORD; len <= Math.min(MAX_WORD, i); len++) {
      const w = s.slice(i - len, i);
      if (!lex.isWord(w)) continue;
      if (len > longest) longest = len;
      const v = best[i - len]! + len;
      if (v > best[i]!) best[i] = v;
    }
  }
  out[0] = n;
  out[1] = entropy;
  out[2] = letters > 0 ? vowels / letters : 0;
  out[3] = digits / n;
  out[4] = maxRun;
  out[5] = hyphens;
  out[6] = counts.size / n;
  out[7] = bSum / (n + 1);
  out[8] = bMin;
  out[9] = n > 0 ? tSum / n : 0;
  out[10] = best[n]! / n;
  out[11] = longest / n;
  out[12] = lex.tldLogFreq(p.suffix);
  out[13] = letters > 0 ? rare / letters : 0;
  out[14] = n > 1 ? switches / (n - 1) : 0;
  out[15] = p.subdomainLabels;
  out[16] = (bSum - bDga) / (n + 1);
  out[17] = n > 0 ? (tSum - tDga) / n : 0;
  return out;
}
