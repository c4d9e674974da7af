// Sealed box to the network owner (tweetnacl): the agent encrypts with a fresh ephemeral
// X25519 key pair to the owner's box.pub and throws the ephemeral secret away, so only
// box.key opens it; neither the agent afterwards nor the collector can. Used for the sensitive
// half of the machine inventory (host name, users, real addresses, MACs). Pure apart from
// randomness.
//
// Wire form: {"type":"meerkat-sealed","v":1,"to":<owner key id>,"epk":b64,"nonce":b64,"ct":b64}
// with ct = nacl.box(plaintext, nonce, ownerPublicKey, ephemeralSecretKey).
import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import { MeerkatError } from '../errors.js';

export interface SealedBox {
  type: 'meerkat-sealed';
  v: 1;
  /** which owner key it is sealed to (16 hex), so the console can say "sealed to another key" */
  to: string;
  epk: string;
  nonce: string;
  ct: string;
}

export class SealedBoxError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_SEALED_BOX';
  constructor(detail: string) {
    super(`cannot open sealed data: ${detail}`);
    this.name = 'SealedBoxError';
  }
}

/** Largest plaintext we seal (the inventory is a few KB). */
const MAX_SEALED_PLAINTEXT = 48 * 1024;

function boxKeyId(publicKey: Uint8Array): string {
  return createHash('sha256').update('meerkat box key id v1\0').update(publicKey).digest('hex').slice(0, 16);
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

export function sealToOwner(plaintext: Uint8Array, ownerPublicKey: Uint8Array): SealedBox {
  if (ownerPublicKey.length !== nacl.box.publicKeyLength) throw new RangeError(`owner box public key must be ${nacl.box.publicKeyLength} bytes`);
  if (plaintext.length > MAX_SEALED_PLAINTEXT) throw new RangeError(`sealed plaintext of ${plaintext.length} bytes exceeds ${MAX_SEALED_PLAINTEXT}`);
  const eph = nacl.box.keyPair();
  const nonce = nacl.randomBytes(nacl.box.nonceLength);
  const ct = nacl.box(plaintext, nonce, ownerPublicKey, eph.secretKey);
  eph.secretKey.fill(0);
  return { type: 'meerkat-sealed', v: 1, to: boxKeyId(ownerPublicKey), epk: b64(eph.publicKey), nonce: b64(nonce), ct: b64(ct) };
}

function isSealedBox(x: unknown): x is SealedBox {
  const o = x as Partial<SealedBox> | null;
  return typeof o === 'object' && o !== null && o.type === 'meerkat-sealed' && o.v === 1 &&
    typeof o.to === 'string' && typeof o.epk === 'string' && typeof o.nonce === 'string' && typeof o.ct === 'string';
}

function bytes(field: string, text: string, len?: number): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new SealedBoxError(`field ${field} is not base64`);
  const b = Uint8Array.from(Buffer.from(text, 'base64'));
  if (len !== undefined && b.length !== len) throw new SealedBoxError(`field ${field} must hold ${len} bytes, it holds ${b.length}`);
  return b;
}

/** Opens a sealed box with the owner's key pair. @throws SealedBoxError */
export function openSealed(x: unknown, owner: { boxSecretKey: Uint8Array; boxPublicKey: Uint8Array }): Uint8Array {
  if (!isSealedBox(x)) throw new SealedBoxError('not a Meerkat sealed box (expected {"type":"meerkat-sealed","v":1,...})');
  const mine = boxKeyId(owner.boxPublicKey);
  if (x.to !== mine) throw new SealedBoxError(`it is sealed to owner key ${x.to}, this owner key is ${mine}`);
  const epk = bytes('epk', x.epk, nacl.box.publicKeyLength);
  const nonce = bytes('nonce', x.nonce, nacl.box.nonceLength);
  const ct = bytes('ct', x.ct);
  const pt = nacl.box.open(ct, nonce, epk, owner.boxSecretKey);
  if (!pt) throw new SealedBoxError('authentication failed (damaged, or not sealed to this key)');
  return pt;
}
