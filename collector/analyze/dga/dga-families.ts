// Domain generation algorithms of published malware families, written here from their
// public descriptions (reverse-engineering write-ups of each family), to train and measure
// the DGA classifier (docs/analyzers.md "DGA"). Each generator is deterministic for its seed
// or date: training and held-out sets come from different seeds / dates. Pure.
//
//   ramnit   a Park-Miller style generator (16807, Schrage's decomposition) seeded per
//            campaign; 8..19 letters of a..y; the seed is re-mixed after each name
//   necurs   a 64-bit mixing function over date (year, month, day / 4), sequence number and a
//            magic number; 7..21 letters; 43 TLDs
//   simda    alternating consonants and vowels from a key-derived step (pronounceable names)
//   tinba    each name derived from the previous one and a 16-character seed string; 12 letters
//   kraken   (v2) a C rand() LCG, crop to 15 bits, weekly discards; 7..12 letters; com/net/tv/cc
//            or dynamic-DNS suffixes
//   pykspa   (precursor) a seed from the date (2-day periods), squared per name; 6..15 letters

export interface DgaFamily {
  name: string;
  /** names of one "campaign" (seed / date), i = 0, 1, 2 ... picks which */
  generate(campaign: number, count: number): string[];
}

const MASK64 = (1n << 64n) - 1n;

// ---- ramnit -----------------------------------------------------------------------------

function ramnit(seed: number, count: number, tlds: readonly string[]): string[] {
  let value = seed >>> 0;
  const next = (modulus: number): number => {
    const ix = value;
    value = (16807 * (ix % 127773) - 2836 * Math.floor(ix / 127773)) >>> 0;
    return value % modulus;
  };
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const seedA = value;
    const len = next(12) + 8;
    const seedB = value;
    let d = '';
    for (let j = 0; j < len; j++) d += String.fromCharCode(97 + next(25));
    out.push(`${d}.${tlds[i % tlds.length]!}`);
    const m = BigInt(seedA) * BigInt(seedB);
    value = Number((m + (m >> 32n)) % (1n << 32n));
  }
  return out;
}

// ---- necurs -----------------------------------------------------------------------------

const NECURS_TLDS = ['tj', 'in', 'jp', 'tw', 'ac', 'cm', 'la', 'mn', 'so', 'sh', 'sc', 'nu', 'nf', 'mu', 'ms', 'mx', 'ki', 'im', 'cx', 'cc',
  'tv', 'bz', 'me', 'eu', 'de', 'ru', 'co', 'su', 'pw', 'kz', 'sx', 'us', 'ug', 'ir', 'to', 'ga', 'com', 'net', 'org', 'biz', 'xxx', 'pro', 'bit'];

function necursMix(v: bigint): bigint {
  const loops = Number(v & 0x7fn) + 21;
  for (let i = 0; i < loops; i++) {
    v = (v + (((v * 7n) ^ (v << 15n)) + 8n * BigInt(i) - (v >> 5n))) & MASK64;
  }
  return v;
}

function necurs(date: Date, sequence: number, magic: number): string {
  let n = necursMix(BigInt(date.getUTCFullYear()));
  n = necursMix(n + BigInt(date.getUTCMonth() + 1) + 43690n);
  n = necursMix(n + BigInt(date.getUTCDate() >> 2));
  n = necursMix(n + BigInt(sequence));
  n = necursMix(n + BigInt(magic));
  const len = Number(n % 15n) + 7;
  let d = '';
  for (let i = 0; i < len; i++) {
    n = necursMix(n + BigInt(i));
    d += String.fromCharCode(97 + Number(n % 25n));
    n = necursMix(n + 0xabbedfn);
  }
  return `${d}.${NECURS_TLDS[Number(n % 43n)]!}`;
}

// ---- simda ------------------------------------------------------------------------------

function simda(key: string, base: number, count: number, length: number, tld: string): string[] {
  const consonants = 'qwrtpsdfghjklzxcvbnmv';
  const vowels = 'eyuioa';
  let step = 0;
  for (const c of key) step += c.charCodeAt(0);
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    base += step;
    let d = '';
    for (let i = 0; i < length; i++) {
      const index = Math.floor(base / (3 + 2 * i));
      d += i % 2 === 0 ? consonants[index % 20]! : vowels[index % 6]!;
    }
    out.push(`${d}.${tld}`);
  }
  return out;
}

// ---- tinba ------------------------------------------------------------------------------

function tinba(seedText: string, first: string, tlds: readonly string[], count: number): string[] {
  const seed = Array.from(seedText.padEnd(17, '\0'), (c) => c.charCodeAt(0));
  let domain = first;
  const out: string[] = [];
  while (out.length < count) {
    const dl = Array.from(domain, (c) => c.charCodeAt(0));
    let seedSum = 0;
    for (let i = 0; i < 16; i++) seedSum += seed[i]!;
    let tmp = seed[15]! & 0xff;
    let name = '';
    for (let i = 0; i < 12; i++) {
      for (;;) {
        tmp += dl[i]!;
        tmp ^= seedSum & 0xff;
        tmp += dl[i + 1]!;
        tmp &= 0xff;
        if (tmp > 0x61 && tmp < 0x7a) {
          name += String.fromCharCode(tmp);
          break;
        }
        seedSum++;
      }
    }
    for (const t of tlds) {
      domain = `${name}.${t}`;
      out.push(domain);
    }
  }
  return out.slice(0, count);
}

// ---- kraken (v2) ------------------------------------------------------------------------

function krakenRand(r: number): number {
  return (Math.imul(1103515245, r) + 12435) >>> 0;
}

function krakenCrop(r: number): number {
  return Math.floor(r / 256) % 32768;
}

function kraken(index: number, date: Date, seed: number, tlds: readonly string[]): string {
  const nr = Math.floor(index / 2);
  let r = (3 * nr + seed) >>> 0;
  let discards = Math.floor((Math.floor(date.getTime() / 1000) - 1207000000) / 604800) + 2;
  if (nr % 9 < 8) {
    if (nr % 9 >= 6) discards--;
    for (let i = 0; i < discards; i++) r = krakenCrop(krakenRand(r));
  }
  const rands = [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    r = krakenRand(r);
    rands[i] = krakenCrop(r);
  }
  const len = (rands[0]! * rands[1]! + rands[2]!) % 6 + 7;
  let d = '';
  for (let i = 0; i < len; i++) {
    r = krakenRand(r);
    d += String.fromCharCode(97 + (krakenCrop(r) % 26));
  }
  return `${d}.${tlds[nr % 4]!}`;
}

// ---- pykspa (precursor) -----------------------------------------------------------------

function pykspaSld(len: number, r: number): string {
  let a = (len * len) >>> 0;
  let s = '';
  for (let i = 0; i < len; i++) {
    const x = Math.imul(i, (r % 4567) + (r % 19)) >>> 0;
    const y = r % 123456;
    const z = r % 5;
    const p = Math.imul(r, (z + y + x) >>> 0) >>> 0;
    const ind = (a + p) >>> 0;
    s += String.fromCharCode(97 + (ind % 26));
    r = (r + i) >>> 0;
    r = r >>> ((i * i) & 0xff & 31);
    a = (a + len) >>> 0;
  }
  return s;
}

function pykspa(seed: number, count: number): string[] {
  const tlds = ['biz', 'com', 'net', 'org', 'info', 'cc'];
  let r = seed >>> 0;
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    r = Math.imul(r, r) >>> 0;
    r = (r + n) >>> 0;
    out.push(`${pykspaSld((r % 10) + 6, r)}.${tlds[r % 6]!}`);
  }
  return out;
}

// ---- the families -----------------------------------------------------------------------

const RAMNIT_SEEDS = [0xef214bbf, 0x28488eea, 0x4bfcbc6a, 0x79159c10, 0x92f4be35, 0x4302c04a, 0x52278648, 0x9753029a];
const TINBA_CONFIGS: ReadonlyArray<readonly [string, string, readonly string[]]> = [
  ['oGkS3w3sGGOGG7oc', 'ssrgwnrmgrxe.com', ['com']],
  ['jc74FlUna852Ji9o', 'blackfreeqazyio.cc', ['com', 'net', 'in', 'ru']],
  ['yqokqFC2TPBFfJcG', 'watchthisnow.xyz', ['pw', 'us', 'xyz', 'club']],
  ['j193HsnW72Yqns7u', 'j193hsne720uie8i.cc', ['com', 'net', 'biz', 'org']],
];
const DAY_MS = 86_400_000;
/** campaign c of a date-seeded family: one date per campaign, 37 days apart from 2016-01-01 */
function campaignDate(c: number): Date {
  return new Date(Date.UTC(2016, 0, 1) + c * 37 * DAY_MS);
}

export const DGA_FAMILIES: readonly DgaFamily[] = [
  { name: 'ramnit', generate: (c, n) => ramnit(RAMNIT_SEEDS[c % RAMNIT_SEEDS.length]! ^ Math.floor(c / RAMNIT_SEEDS.length), n, ['com']) },
  {
    name: 'necurs',
    generate: (c, n) => {
      const d = campaignDate(c);
      return Array.from({ length: n }, (_, i) => necurs(d, i, 9));
    },
  },
  { name: 'simda', generate: (c, n) => simda('1676d5775e05c50b46baa5579d4fc7', 0x45ae94b2 + c * 7_919_000, n, 7, 'com') },
  {
    name: 'tinba',
    generate: (c, n) => {
      const [seed, first, tlds] = TINBA_CONFIGS[c % TINBA_CONFIGS.length]!;
      // later campaigns continue the chain further along
      return tinba(seed, first, tlds, n * (1 + Math.floor(c / TINBA_CONFIGS.length))).slice(-n);
    },
  },
  {
    name: 'kraken',
    generate: (c, n) => {
      const d = campaignDate(c);
      const tlds = c % 2 === 0 ? ['com', 'net', 'tv', 'cc'] : ['dyndns.org', 'yi.org', 'dynserv.com', 'mooo.com'];
      const seed = c % 4 < 2 ? 24938314 : 1600000;
      return Array.from({ length: n }, (_, i) => kraken(i * 2, d, seed + (i % 2), tlds));
    },
  },
  { name: 'pykspa', generate: (c, n) => pykspa(Math.floor(campaignDate(c).getTime() / 1000 / (2 * 86400)), n) },
];

export function dgaFamily(name: string): DgaFamily | undefined {
  return DGA_FAMILIES.find((f) => f.name === name);
}
