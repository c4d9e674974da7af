// Keys the people at the keyboard load into the page - the owner's anonymization key (real
// addresses next to pseudonyms), the owner's box key (an agent's sealed inventory opened here)
// and the operator's signing key (commands signed here) - read
// from files they pick, kept in this page's memory only (the AES key inside WebCrypto, not
// extractable), never sent anywhere and gone on reload or "forget".
import { AsyncCryptoPan } from '../../../shared/anonymize/cryptopan-async.js';
import { webCryptoPan } from '../../../shared/anonymize/webcrypto-aes.js';
import { decodeKeyFile, KEY_FILE_KINDS } from '../../../shared/keys/key-file-format.js';
import { formatCidr, parseCidr } from '../../../shared/net/ip-address.js';
import { parseOperatorKey, type BrowserSigningKey } from '../../../shared/commands/browser-signer.js';
import { boxKeyIdWeb, boxKeysFromText, openSealedWeb, type OwnerBoxKeys } from '../../../shared/commands/sealed-box-open.js';
import type { InventorySensitive } from '../../../shared/commands/agent-reports.js';
import { openNameWeb, webNameKeys, type WebNameKeys } from '../../../shared/anonymize/name-token-web.js';

type Listener = () => void;
const listeners = new Set<Listener>();

let pan: AsyncCryptoPan | null = null;
let ownerKeyId = '';
let signer: BrowserSigningKey | null = null;
// raw bytes: nacl.box.open needs them (WebCrypto has no X25519 box); overwritten on forget
let box: OwnerBoxKeys | null = null;
let boxKeyId = '';
let names: WebNameKeys | null = null;
const realOf = new Map<string, Promise<string>>();
const nameOf = new Map<string, Promise<string | null>>();

function changed(): void {
  for (const l of listeners) l();
}

export function subscribeKeys(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export async function loadOwnerKey(file: File): Promise<void> {
  const text = await file.text();
  const f = decodeKeyFile(file.name, text, KEY_FILE_KINDS.anonKey);
  const id = (JSON.parse(text) as { keyId?: unknown }).keyId;
  pan = await webCryptoPan(f.key!);
  names = await webNameKeys(f.key!);
  f.key!.fill(0);
  ownerKeyId = typeof id === 'string' ? id.slice(0, 16) : '';
  realOf.clear();
  nameOf.clear();
  changed();
}

export function forgetOwnerKey(): void {
  pan = null;
  names = null;
  ownerKeyId = '';
  realOf.clear();
  nameOf.clear();
  changed();
}

export function ownerKeyLoaded(): string | null {
  return pan ? ownerKeyId || 'loaded' : null;
}

/** The real address behind a pseudonym (cached per page), or null without the owner key. */
export function realAddress(pseudonym: string): Promise<string> | null {
  if (!pan) return null;
  let p = realOf.get(pseudonym);
  if (!p) {
    p = pan.deanonymize(pseudonym).catch(() => '?');
    realOf.set(pseudonym, p);
  }
  return p;
}

/** The real name behind a name pseudonym ("mk--…" tokens; cached per page), null when it does not open, or null without the owner key. */
export function realName(pseudonym: string): Promise<string | null> | null {
  if (!names) return null;
  let p = nameOf.get(pseudonym);
  if (!p) {
    p = openNameWeb(names, pseudonym).catch(() => null);
    nameOf.set(pseudonym, p);
  }
  return p;
}

/** The pseudonym of a real address or prefix (filters typed by the owner), or null without the key. */
export async function pseudonymOf(real: string): Promise<string | null> {
  if (!pan) return null;
  const slash = real.indexOf('/');
  if (slash < 0) return pan.anonymize(real);
  // prefix-preserving: the network address's pseudonym, cut to the same length
  return formatCidr(parseCidr(`${await pan.anonymize(real.slice(0, slash))}${real.slice(slash)}`));
}

export async function loadBoxKey(file: File): Promise<void> {
  const keys = boxKeysFromText(file.name, await file.text());
  forgetBoxKey();
  box = keys;
  boxKeyId = await boxKeyIdWeb(keys.boxPublicKey);
  changed();
}

export function forgetBoxKey(): void {
  box?.boxSecretKey.fill(0);
  box = null;
  boxKeyId = '';
  changed();
}

/** The loaded box key's id (what sealed data names in "to"), or null. */
export function boxKeyLoaded(): string | null {
  return box ? boxKeyId : null;
}

/** The sensitive half of an inventory, opened in this page, or null without the box key. @throws SealedBoxError */
export async function openSealedInventory(sealed: unknown): Promise<InventorySensitive | null> {
  if (!box) return null;
  return JSON.parse(new TextDecoder().decode(await openSealedWeb(sealed, box))) as InventorySensitive;
}

export async function loadSigningKey(file: File): Promise<void> {
  signer = await parseOperatorKey(file.name, await file.text());
  changed();
}

export function forgetSigningKey(): void {
  signer = null;
  changed();
}

export function signingKey(): BrowserSigningKey | null {
  return signer;
}
