// Opening a sealed box to the network owner with nothing but tweetnacl, atob and WebCrypto, so
// that the web console opens an agent's sealed inventory in the browser with the owner's
// box.key (the key stays in the page) and the CLI opens it the same way (sealed-box.ts): the
// wire form checked, its fields decoded, the owner key id compared, nacl.box.open.
import nacl from 'tweetnacl';
import { MeerkatError } from '../errors.js';
import { decodeKeyFile, KEY_FILE_KINDS } from '../keys/key-file-format.js';
import { KeyFileError } from '../keys/key-file-error.js';

export interface SealedBox {
  type: 'meerkat-sealed';
  v: 1;
  /** which owner key it is sealed to (16 hex), so the console can say "sealed to another key" */
  to: string;
  epk: string;
  nonce: string;
  ct: string;
}

export interface OwnerBoxKeys { boxSecretKey: Uint8Array; boxPublicKey: Uint8Array }

export class SealedBoxError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_SEALED_BOX';
  constructor(detail: string) {
    super(`cannot open sealed data: ${detail}`);
    this.name = 'SealedBoxError';
  }
}

/** What the owner key id hashes before the public key (SHA-256, first 16 hex). */
export const BOX_KEY_ID_LABEL = 'meerkat box key id v1\0';

/** The owner key id of a box public key, through WebCrypto (the browser's, or Node's global one). */
export async function boxKeyIdWeb(publicKey: Uint8Array): Promise<string> {
  const label = new TextEncoder().encode(BOX_KEY_ID_LABEL);
  const data = new Uint8Array(label.length + publicKey.length);
  data.set(label);
  data.set(publicKey, label.length);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  return [...digest.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function isSealedBox(x: unknown): x is SealedBox {
  const o = x as Partial<SealedBox> | null;
  return typeof o === 'object' && o !== null && o.type === 'meerkat-sealed' && o.v === 1 &&
    typeof o.to === 'string' && typeof o.epk === 'string' && typeof o.nonce === 'string' && typeof o.ct === 'string';
}

function field(name: string, text: string, len?: number): Uint8Array {
  let b: Uint8Array;
  try {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new Error('alphabet');
    b = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    throw new SealedBoxError(`field ${name} is not base64`);
  }
  if (len !== undefined && b.length !== len) throw new SealedBoxError(`field ${name} must hold ${len} bytes, it holds ${b.length}`);
  return b;
}

/** Opens a sealed box with the owner's key pair whose key id the caller computed. @throws SealedBoxError */
export function openSealedBox(x: unknown, owner: OwnerBoxKeys, ownerKeyId: string): Uint8Array {
  if (!isSealedBox(x)) throw new SealedBoxError('not a Meerkat sealed box (expected {"type":"meerkat-sealed","v":1,...})');
  if (x.to !== ownerKeyId) throw new SealedBoxError(`it is sealed to owner key ${x.to}, this owner key is ${ownerKeyId}`);
  const epk = field('epk', x.epk, nacl.box.publicKeyLength);
  const nonce = field('nonce', x.nonce, nacl.box.nonceLength);
  const pt = nacl.box.open(field('ct', x.ct), nonce, epk, owner.boxSecretKey);
  if (!pt) throw new SealedBoxError('authentication failed (damaged, or not sealed to this key)');
  return pt;
}

/** Opens a sealed box where only WebCrypto is at hand (the web console). @throws SealedBoxError */
export async function openSealedWeb(x: unknown, owner: OwnerBoxKeys): Promise<Uint8Array> {
  return openSealedBox(x, owner, await boxKeyIdWeb(owner.boxPublicKey));
}

/**
 * The owner's box key pair from the text of a box.key file, its public key checked against its
 * secret key. @throws KeyFileError naming `file`
 */
export function boxKeysFromText(file: string, text: string): OwnerBoxKeys {
  const f = decodeKeyFile(file, text, KEY_FILE_KINDS.boxSecret);
  const derived = nacl.box.keyPair.fromSecretKey(f.secretKey!).publicKey;
  if (!derived.every((b, i) => b === f.publicKey![i])) {
    throw new KeyFileError(file, 'owner box secret key: its public key does not belong to its secret key (damaged file)');
  }
  return { boxSecretKey: f.secretKey!, boxPublicKey: f.publicKey! };
}
